// Package core is zkit's ZooKeeper client: one pipelined connection per
// client, sessions that survive server failover, every node operation,
// watches, transactions, ACLs, retry policies and protected creates.
//
// Every call that can block takes a context first, except Client.Close and
// Watcher.Close, which wait at most 3 s for the server to end the session
// or take the watch off. Server errors are *Error values that match the
// sentinels (ErrNoNode, ErrNodeExists, ...) with errors.Is. NewClient does
// no I/O; Start connects and Close ends the session.
//
// # Sessions
//
// The client keeps one session across reconnects. It reconnects to the
// servers in shuffled order, with a jittered backoff between rounds that
// never exceeds a tenth of the session timeout (nor 2 s), and resumes the
// session with the timeout each new connection negotiates. The session
// ends when the server expires it, or when nine tenths of the session
// timeout have passed since the server last heard from the client (the
// send time of a request or ping it answered, early enough for the
// ensemble's leader to have heard of it: see WithSessionTimeout; watch
// events do not count). The client then makes a new one by itself; a session it gave
// up so, it ends on the server once it reaches a read-write server again.
// A new session starts from nothing, as a new handle of the Java client
// does: any server may take it, also one that is behind what the ended
// session saw.
// Session returns the current one. Work that must not outlive a session,
// such as holding a lock, ties its calls to it with WithSession: they fail
// with ErrSessionExpired as soon as that session ends, instead of waiting
// for the next one. Session.Bind gives a context that ends with it.
//
// # Older servers
//
// Some requests are newer than some servers: GetEphemerals,
// GetAllChildrenNumber, MultiRead and AddWatch need ZooKeeper 3.6, WhoAmI
// 3.7. An older server answers them with ErrUnimplemented and then closes
// the connection, as it does for any request it does not know. The client
// reconnects and keeps its session, but the other requests in flight at
// that moment fail with ErrConnectionLoss, and the retry policy sends them
// again where that is safe.
//
// # The connection
//
// Requests from every goroutine share the client's connection, in order,
// without waiting for each other's replies. A caller that finds the
// connection idle writes its request itself, unless it is over 8 KiB, more
// than an idle socket is sure to take at once, so that no caller waits in a
// write whatever its ctx; under load a writer goroutine gathers the queued
// requests into one write. Replies are matched to their
// callers in order. Whoever has the turn reads the socket: a reader
// goroutine while replies or events may come, or, when no watch is set and
// nothing is in flight, the next caller, which reads its own reply and so
// saves a goroutine hand-off per call. A caller reads for at most 2 ms
// before it hands the socket to the reader goroutine, so a cancelled call
// returns within 2 ms even then, and after such a slow reply the next 64
// calls leave theirs to the reader goroutine; after 5 ms of quiet the
// reader goroutine takes the socket back, so a server that closes the
// connection is noticed within 5 ms.
//
// The server answers a session's frames in order, pings included (it
// answers credentials on arrival, sooner if anything), so a ping answered
// while a request, or a frame that sends credentials or sets watches,
// queued ahead of it is not means that frame was lost on the way. The
// client then ends the connection as lost: the next one sends the
// credentials and watches again, and the retry policy sends the request
// again where that is safe. Without that, the answered pings
// would keep the connection up while a caller waits for a reply that will
// not come, or a watch stays unset on the server. A watch event lost that
// way is not found: it answers nothing the client sent. TCP never loses
// a frame on a connection that stays up; zktest's black holes do, to
// test exactly this.
//
// On Linux, a plain TCP or Unix connection made while GOMAXPROCS is above
// one leaves Go's network poller once dialled: its reads and writes wait in
// poll system calls of their own threads. The poller would wake one of the
// runtime's threads for every packet, for nothing; without it a synchronous
// call costs about a third less CPU in our benchmarks, and an idle client
// keeps one thread blocked in its poll, as the Java and C clients do.
// WithOwnPolling(false) keeps the connection in the poller. A caller
// reading its own reply waits for it in a blocking poll of its own thread
// either way, which takes about a sixth off a call's CPU time next to the
// network poller. For its first millisecond the wait is a raw system call,
// which the scheduler does not see, as if the goroutine computed: that
// takes off a quarter to a third of a call's CPU time in our measurements.
// A signal from the runtime (preemption, a stop of the world) ends that
// part at once; with GODEBUG asyncpreemptoff=1 no wait is held. At most 8
// threads of a process wait so at once, and fewer than GOMAXPROCS (none
// with one proc), so the rest of the program keeps a proc; the others wait
// as the reader goroutine does.
//
// Under load, over any plain TCP or Unix connection on Linux, in the
// network poller or out of it, when the reader goroutine has read
// everything the socket held and at least 16 requests are still in
// flight, it pauses for a quarter of the oldest request's wait so far (at
// most 1 ms: in a blocking poll taking one of the same places, held from
// the scheduler too, or asleep in the scheduler when no place is free or
// there is one proc) before it reads again, so that replies arriving
// meanwhile are read, handed over and answered in one batch. Each call may
// wait up to that quarter longer; in our benchmarks the client spent half
// as much CPU per call or less, and throughput rose, as the server got the
// CPU back. On every connection, with 16 or more requests in flight, the
// writer goroutine likewise waits a quarter of the oldest request's wait
// (at most 0.2 ms, asleep in the scheduler) before it writes what callers
// queued, so that the callers one batch of replies answered send their
// next requests in one write. WithGatherReplies(false) turns both off.
package core
