// Command demo walks through a zkit client session against a real
// ZooKeeper, printing each step: connecting, node operations with their
// Stats, ephemeral and sequential nodes, one-shot and persistent watches,
// transactions and a lock contended by several clients.
//
// It uses the servers in ZK_SERVERS ("host:port[,host:port...]") when set,
// and otherwise starts a local ZooKeeper, which it stops when done, also
// on Ctrl-C. It exits 0 when every step worked.
//
//	go run ./examples/demo
package main
