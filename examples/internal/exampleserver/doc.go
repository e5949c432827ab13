// Package exampleserver finds the ZooKeeper servers an example talks to:
// those named by ZK_SERVERS, or else a local server it starts for the
// example and stops when the example is done.
package exampleserver
