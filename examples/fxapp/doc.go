// Command fxapp is an uber-go/fx application that gets its ZooKeeper client
// from fxmodule: it logs with zap, registers itself with an ephemeral node,
// runs a few jobs under a lock, then shuts itself down cleanly.
//
// It uses the servers in ZK_SERVERS when set, and otherwise starts a local
// ZooKeeper, which it stops when done, also on Ctrl-C.
//
//	go run ./examples/fxapp
package main
