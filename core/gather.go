package core

import "time"

// Gathering replies under load. With many requests in flight, a reader
// that goes back to the socket as soon as it has handled what came reads
// one reply at a time: each costs a read, a wait in the poller and a
// thread woken for its caller, and the woken callers' next requests leave
// one at a time too. When the socket is drained and at least
// gatherMinInFlight requests are still out, the reader goroutine pauses
// briefly instead, so that the replies arriving meanwhile are read, handed
// over and answered in one batch. The pause is a share of how long the
// oldest request has waited so far, so that most of the requests in
// flight are still at the server, or on their way to it, when it ends,
// and a call waits at most that share longer. On a machine the client
// shares with a busy server, the CPU saved goes to the server, and calls
// come back sooner, not later.
//
// The writer goroutine gathers too. The callers answered by one batch of
// replies send their next requests within microseconds of each other, but
// a writer that writes as soon as it is woken carried one or two of them
// per write, each write a system call that also runs the loopback's TCP
// stack for the server. With at least gatherMinInFlight requests in
// flight, so that the server has work meanwhile, the writer waits a share
// of the oldest request's wait (at most gatherMaxWritePause) before it
// writes what is queued. It sleeps in the scheduler, holding no thread, so
// it needs no place among the blocking waits and applies to every
// connection.
//
// Replies are gathered on Linux, over the standard library's TCP and Unix
// connections only: elsewhere a read never tells that the socket is
// drained (sockReader.drained), and a TLS connection's reads return a
// record at a time. The pause blocks the reader's thread
// (sockReader.pause) when it can take a place among the blocking waits,
// which costs the least. With one proc, or with no place free, the reader
// goroutine sleeps in the scheduler instead: that costs a timer, and the
// callers it has just answered run meanwhile. WithGatherReplies(false)
// turns it off.
const (
	// gatherMinInFlight is the fewest requests in flight that make the
	// reader pause. Below it, a pause would leave the server idle.
	gatherMinInFlight = 16
	// gatherShare: the reader pauses for at most this fraction of the
	// oldest in-flight request's wait so far.
	gatherShare = 4
	// gatherMaxPause bounds a pause: no longer than heldWaitFor, so that
	// a pause stays hidden from the scheduler (sockReader.pause).
	gatherMaxPause = time.Millisecond
	// gatherMaxWritePause bounds the writer's pause.
	gatherMaxWritePause = 200 * time.Microsecond
)

// gatherPause returns how long the reader pauses before its next read,
// with inFlight requests out, the oldest sent waited ago, and drained
// telling whether the last read emptied the socket (a read that filled
// the buffer may have left more behind, which is read at once).
func gatherPause(inFlight int, waited time.Duration, drained bool) time.Duration {
	if !drained {
		return 0
	}
	return shareOfWait(inFlight, waited, gatherMaxPause)
}

// shareOfWait is a gathering pause: with at least gatherMinInFlight
// requests out, a gatherShare of the oldest one's wait so far, at most
// limit.
func shareOfWait(inFlight int, waited, limit time.Duration) time.Duration {
	if inFlight < gatherMinInFlight || waited <= 0 {
		return 0
	}
	return min(limit, waited/gatherShare)
}

// oldestWait returns how many requests are in flight and how long the
// oldest of them has waited.
func (c *conn) oldestWait() (inFlight int, waited time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inFlight = len(c.pending) - c.head
	if inFlight > 0 {
		waited = time.Duration(monoNow() - c.pending[c.head].sent)
	}
	return inFlight, waited
}

// gatherReplies pauses the reader goroutine, whose read buffer is empty,
// for as long as gatherPause says.
func (c *conn) gatherReplies() {
	// Most drained buffers of a busy reader are not followed by a pause:
	// ask what needs no lock first.
	if !c.gather || !c.sock.drained {
		return
	}
	inFlight, waited := c.oldestWait()
	d := gatherPause(inFlight, waited, true)
	if d <= 0 {
		return
	}
	if !c.sock.pause(d) {
		// No thread may block: the goroutine sleeps in the scheduler,
		// and the callers it has answered run meanwhile.
		time.Sleep(d)
	}
	c.gatherPauses.Add(1)
}

// gatherWritePause returns how long the writer goroutine waits before it
// writes what is queued, with inFlight requests out (the queued ones among
// them) and the oldest sent waited ago.
func gatherWritePause(inFlight int, waited time.Duration) time.Duration {
	return shareOfWait(inFlight, waited, gatherMaxWritePause)
}

// gatherRequests pauses the writer goroutine, about to write, for as long
// as gatherWritePause says, so that callers still sending join the write.
func (c *conn) gatherRequests() {
	if !c.gather {
		return
	}
	if d := gatherWritePause(c.oldestWait()); d > 0 {
		time.Sleep(d)
		c.writePauses.Add(1)
	}
}
