// Package core is zkit's ZooKeeper client: one pipelined connection per
// client, sessions that survive server failover, every node operation,
// watches, transactions, ACLs, retry policies and protected creates.
//
// Every call that can block takes a context first. Server errors are *Error
// values that match the sentinels (ErrNoNode, ErrNodeExists, ...) with
// errors.Is. NewClient does no I/O; Start connects and Close ends the session.
package core
