//go:build !linux

package core

import "net"

// ownSocket leaves nc in Go's network poller: only Linux connections wait
// in their own poll (sock_fd_linux.go).
func ownSocket(nc net.Conn) net.Conn { return nc }
