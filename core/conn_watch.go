package core

import (
	"fmt"
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

// Keeping watch over a connection: its pings while it is quiet, the
// silence that ends it, and the touches its replies pass on to the client
// (credit).

// pingPeriod is how long the connection stays quiet before it pings.
func (c *conn) pingPeriod() time.Duration {
	if c.pingEvery > 0 {
		return c.pingEvery
	}
	return c.readTimeout / 3
}

// watchLoop pings when the connection has been quiet for pingPeriod, and
// ends the connection when unanswered says the server has gone silent. It
// looks every pingChecks-th of that period, so a ping goes out at most
// that much late, and so that silence, or the session's expiry coming
// near, is noticed in time. It runs on a goroutine of its own, so that a
// write held by a server that has stopped reading does not hold it.
func (c *conn) watchLoop() {
	defer c.wg.Done()
	interval := c.pingPeriod()
	ticker := time.NewTicker(interval / pingChecks)
	defer ticker.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-ticker.C:
			if c.unanswered() {
				return
			}
			c.pingIfQuiet(interval)
		}
	}
}

// pingIfQuiet queues a ping when nothing has been written for interval
// and nothing waits to be: a write in progress, or queued frames, will
// show the server the session soon enough.
func (c *conn) pingIfQuiet(interval time.Duration) {
	c.mu.Lock()
	busy := c.writing || len(c.out) > 0
	c.mu.Unlock()
	if !busy && monoSince(c.lastWrite.Load()) >= interval {
		_ = c.sendSpecial(proto.XidPing, &proto.EmptyRequest{Op: proto.OpPing})
	}
}

// pingChecks is how many times per ping interval watchLoop looks whether
// to ping, and whether the server has gone silent.
const pingChecks = 4

// unanswered fails the connection when the server has answered nothing,
// neither a request nor a ping, for a read timeout, and reports whether it
// did. Watch events do not count: a connection that only brings events
// may be one the server no longer hears (the way to it is cut), and the
// server then expires the session while events still arrive. Ending the
// connection lets the client's own expiry timer run (see expiryDeadline).
//
// It also fails the connection sooner, once the server has answered
// nothing for two ping intervals and the client's own expiry is less than
// failoverReserve away, so that the client has that long to resume the
// session on another server; and at the latest once that expiry has come
// (a slow server's late replies, or a read-only server's, do not put it
// off), so that the client's own expiry runs in time.
func (c *conn) unanswered() bool {
	var err error
	silent := monoSince(c.lastReply.Load())
	left, timeout, ok := c.hooks.expiryLeft()
	switch {
	case silent > c.readTimeout:
		err = fmt.Errorf("%w: no reply to a request or ping within the read timeout", ErrTimeout)
	case ok && left <= 0:
		err = fmt.Errorf("%w: the server has not heard from the session in time", ErrTimeout)
	case ok && silent > 2*c.pingPeriod() && left < failoverReserve(timeout):
		err = fmt.Errorf("%w: no reply to a request or ping, and the session's expiry is near", ErrTimeout)
	default:
		return false
	}
	c.fail(err)
	return true
}

// credit passes a reply's request send time on to the client: the server
// heard from the session then or later. Not on a connection that does not
// credit, nor when the reply says the session is gone or elsewhere.
func (c *conn) credit(sent int64, code int32) {
	if !c.credits || Code(code) == CodeSessionExpired || Code(code) == CodeSessionMoved {
		return
	}
	c.hooks.touched(sent)
}
