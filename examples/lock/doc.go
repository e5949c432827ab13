// Command lock shows zkit's distributed locks at work: several workers,
// each with a ZooKeeper client and session of its own, update a shared
// counter under a lock.Mutex, then share a lock.Semaphore of two leases.
//
// It uses the servers in ZK_SERVERS when set, and otherwise starts a local
// ZooKeeper, which it stops when done, also on Ctrl-C.
//
//	go run ./examples/lock
package main
