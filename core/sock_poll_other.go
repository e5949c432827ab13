//go:build !linux

package core

import "time"

// canBlockRead says that connections with a file descriptor may wait for
// a reply in a blocking poll: only on Linux (sock_poll_linux.go).
const canBlockRead = false

func (s *sockReader) readRaw(fd uintptr) bool { panic("zk: no blocking reads on this system") }

// pause would block the thread while the reader gathers replies
// (gather.go); only Linux does.
func (s *sockReader) pause(d time.Duration) bool { return false }
