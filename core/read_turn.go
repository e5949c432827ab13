package core

import (
	"context"
	"errors"
	"os"
	"time"
)

// Who reads a connection's socket. One goroutine at a time has the turn.
//
// The reader goroutine reads while replies or events may come: requests
// are in flight, special frames wait for their replies, or watches are set.
// When none of that holds, nothing can come but a failure, and the turn is
// parked: the next caller to send a request takes it and reads its own
// reply, which saves the hand-off from the reader goroutine to the caller,
// the largest cost of a call after the system calls. A parked turn goes
// back to the reader goroutine after parkedFor, so a server that closes an
// idle connection is still noticed within parkedFor.
type readRole uint8

const (
	roleReader readRole = iota // the reader goroutine reads
	roleCaller                 // a caller reads, until its reply comes
	roleParked                 // nobody reads: nothing is expected
)

const (
	// parkedFor is how long the turn stays parked before the reader
	// goroutine takes it back.
	parkedFor = 5 * time.Millisecond
	// ownReadFor is how long a caller reads for its own reply before it
	// hands the turn to the reader goroutine and waits like any caller.
	// It is also the longest a cancelled call can take to return while it
	// reads.
	ownReadFor = 2 * time.Millisecond
	// skipAfterSlow is how many calls leave their reply to the reader
	// goroutine after a reply took longer than ownReadFor: against a far or
	// busy server, reading one's own reply would only add a timeout to
	// each call.
	skipAfterSlow = 64
)

// wantReaderLocked makes sure someone reads after a send: the caller, if it
// can read and the turn is parked (it reports true), else the reader
// goroutine. Called with mu held, the connection open.
func (c *conn) wantReaderLocked(canRead bool) (own bool) {
	if c.role != roleParked {
		return false
	}
	if canRead && c.skipOwn > 0 {
		c.skipOwn--
		canRead = false
	}
	if canRead {
		c.role = roleCaller
		c.wg.Add(1) // done in readOwn
		return true
	}
	c.role = roleReader
	c.giveTurn()
	return false
}

func (c *conn) giveTurn() {
	select {
	case c.turn <- struct{}{}:
	default:
	}
}

// pingOut is a ping still out.
type pingOut struct {
	sent int64 // when it was queued (monoNow)
	// after is how many requests had been answered once those queued
	// ahead of it are: the value of conn.answered its reply must find.
	after uint64
	// framesAfter is the same for the other special frames
	// (conn.framesAnswered).
	framesAfter uint64
}

// pingAnswered returns the ping just answered, the oldest still out, and
// how many of the requests and special frames queued ahead of it are
// still unanswered.
func (c *conn) pingAnswered() (ping pingOut, skipped uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pingsSent) == 0 {
		return pingOut{}, 0, false
	}
	ping = c.pingsSent[0]
	c.pingsSent = c.pingsSent[1:]
	if c.answered < ping.after {
		skipped = ping.after - c.answered
	}
	if c.framesAnswered < ping.framesAfter {
		skipped += ping.framesAfter - c.framesAnswered
	}
	return ping, skipped, true
}

// setWatchesAnswered returns what to call for the setWatches frame just
// answered, the oldest still out.
func (c *conn) setWatchesAnswered() appliedFunc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.setWatchesDone) == 0 {
		return nil
	}
	applied := c.setWatchesDone[0]
	c.setWatchesDone[0] = nil
	c.setWatchesDone = c.setWatchesDone[1:]
	return applied
}

// specialAnswered counts the reply to a special frame: a ping, or
// (frame) one that sends credentials or sets watches. A reply to a frame
// never sent, from a server gone wrong, counts for nothing: it would
// otherwise hide a later frame's loss from the ping check and keep the
// connection from ever counting as idle.
func (c *conn) specialAnswered(frame bool) {
	c.mu.Lock()
	if c.specials > 0 {
		c.specials--
	}
	if frame && c.framesAnswered < c.framesSent {
		c.framesAnswered++
	}
	c.mu.Unlock()
}

// awaitTurn waits until the reader goroutine has the turn; false when the
// connection is done.
func (c *conn) awaitTurn() bool {
	for {
		c.mu.Lock()
		role, closed := c.role, c.closed
		c.mu.Unlock()
		if closed {
			return false
		}
		if role == roleReader {
			return true
		}
		select {
		case <-c.done:
			return false
		case <-c.turn:
		case <-c.parked.C:
			c.mu.Lock()
			if c.role == roleParked {
				c.role = roleReader
			}
			c.mu.Unlock()
		}
	}
}

// parkIfQuiet parks the turn when nothing can come from the server but a
// failure, and reports whether it did.
func (c *conn) parkIfQuiet() bool {
	if !c.nothingAwaited() {
		return false
	}
	// Watches are registered only by the reader that has the turn (reply
	// hooks), so what quiet reports cannot change before the turn is
	// parked; it is asked outside mu, which the watch registry's lock
	// never nests in.
	if !c.hooks.noWatches() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.nothingAwaitedLocked() {
		return false
	}
	c.role = roleParked
	c.parked.Reset(parkedFor)
	return true
}

// nothingAwaited reports that the connection is open and waits for no
// reply, to a request or to a special frame.
func (c *conn) nothingAwaited() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nothingAwaitedLocked()
}

func (c *conn) nothingAwaitedLocked() bool {
	return !c.closed && c.head == len(c.pending) && c.specials == 0
}

// readOwn reads frames as the caller whose turn it is (sendOwn reported
// own), handling every frame that comes, until r's reply is in. If it does
// not come within ownReadFor, or before ctx's deadline, or ctx ends, the
// reader goroutine takes the turn over, wherever the frame being read
// stands, and the caller waits for r like any other. A connection that
// takes no read deadline (a custom dialer's) is left to the reader
// goroutine at once, so that ctx can always end the wait.
func (c *conn) readOwn(ctx context.Context, r *request) {
	defer c.wg.Done()
	deadline := time.Now().Add(ownReadFor)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	slow, failed := c.readOwnFrames(ctx, r, deadline)
	if failed {
		return
	}
	if len(r.done) > 0 {
		c.ownReads.Add(1)
	}
	if slow {
		c.slowOwnReads.Add(1)
	}
	if !c.parkIfQuiet() {
		c.mu.Lock()
		c.role = roleReader
		c.giveTurn()
		if slow {
			c.skipOwn = skipAfterSlow
		}
		c.mu.Unlock()
	}
}

// readOwnFrames reads frames until r's reply is in, ctx ends, or deadline
// passes (slow). failed reports a read that failed the connection. The
// socket's reads wait as the connection's do again when it returns.
func (c *conn) readOwnFrames(ctx context.Context, r *request, deadline time.Time) (slow, failed bool) {
	polled, ok := c.ownDeadline(deadline)
	if !ok {
		return false, false
	}
	defer c.sock.endBlocking()
	if polled {
		c.polledOwnReads.Add(1)
		c.sock.waitBeforeRead() // the request has only just gone out
	}
	for len(r.done) == 0 && ctx.Err() == nil {
		err := c.readFrame()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return ctx.Err() == nil, false
		}
		if err != nil {
			c.failRead(err) // no-op when readFrame failed it
			return false, true
		}
	}
	return false, false
}

// ownDeadline makes the reads of an own turn end at deadline, and reports
// whether it could (ok) and whether they wait in a blocking poll (polled).
// A socket that can wait that way (sockReader) ends them itself; only a
// read deadline of the connection that would end them sooner is cleared,
// once. Otherwise the connection's read deadline is set.
func (c *conn) ownDeadline(deadline time.Time) (polled, ok bool) {
	if c.sock.blockUntil(deadline) {
		if !c.readDeadline.IsZero() && c.readDeadline.Before(deadline) {
			if err := c.nc.SetReadDeadline(time.Time{}); err != nil {
				c.sock.endBlocking()
				return false, false
			}
			c.readDeadline = time.Time{}
		}
		return true, true
	}
	c.readDeadline = deadline
	return false, c.nc.SetReadDeadline(deadline) == nil
}
