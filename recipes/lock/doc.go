// Package lock provides ZooKeeper locks, read/write locks and counting
// semaphores whose znodes follow Apache Curator's layouts.
//
// # Curator compatibility
//
// A Mutex on a path contends with Curator's InterProcessMutex (and with
// go-zookeeper's Lock) on the same path: each contender creates an
// EPHEMERAL_SEQUENTIAL child named "_c_<uuid>-lock-<seq>" and the lowest
// node holds the lock. Each waiter holds one getData watch: on its
// predecessor when that is the only node before it, otherwise on the node
// before its predecessor, so that it lists the queue while its predecessor
// holds the lock and the hand-off needs no read (Curator watches the
// predecessor and lists after it goes; the two mix safely, since a waiter
// only takes the lock once a listing or a delete shows nobody before it).
// Contenders are recognised by the
// "lock-" marker (kazoo's "__lock__" too) and ordered by the sequence
// number that follows it, parsed as a number and compared as a serial
// number, so the order stays right when the parent's counter wraps past
// 2^31; children without a marker are ignored. Node names carry Curator's
// "_c_<uuid>-" prefix, by which a contender finds its node again when the
// reply to its create is lost. ReadWriteLock uses InterProcessReadWriteLock's
// "_c_<uuid>-__READ__<seq>" and "_c_<uuid>-__WRIT__<seq>" nodes, and
// Semaphore uses InterProcessSemaphoreV2's "locks" and "leases" children.
// Parents are created as container nodes, so the server removes a lock's
// directory once it is empty.
//
// WithKazooLayout names nodes "<hex32>__lock__<seq>" ("__rlock__" for
// readers) to share a lock with Python's kazoo. Curator does not parse
// those names, so do not mix kazoo-layout and Curator lockers on one path.
//
// # Sessions and fencing
//
// An acquisition is bound to the client's session at the time it was made.
// Lost reports its loss: the session ended (the client's own timer ends a
// session while it cannot reach a server, before the server can hand the
// lock to another contender, within the limits core.WithSessionTimeout
// states, and Client.Close ends it for the client
// before it asks the server to: Lost is closed, through Session.OnEnd,
// before the server deletes the node) or the lock's node was deleted. A lost lock
// needs no Unlock before the next Lock, and its Unlock returns without
// waiting for the network. A Lock still waiting when its session ends fails
// with ErrLockLost at once, even while the client is cut off. Token returns
// a fencing token, the creation zxid of the lock's node, which grows with
// every acquisition of a lock.
//
// A waiter that takes the lock when the last contender before it goes
// makes no read to do so (see Curator compatibility above). So if someone
// deletes a waiting contender's node, an operator or a faulty peer, that
// contender may still return from Lock when its turn comes, without a
// node, while the next one in the queue takes the lock too; Curator's
// recipe, which lists the queue after every wake-up, fails there instead.
// Its Lost closes as soon as it is asked (the first read finds no node),
// and its fencing token is older than the next holder's, so a resource
// that checks tokens refuses it once the next holder has used its own.
// Watching each waiter's own node would close this gap at a quarter of
// the contended throughput (measured on 2026-12-07), so delete only the
// nodes of contenders whose sessions have ended.
package lock
