package core

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"
)

// The client's own view of its session's expiry: when it gives the
// session up while it cannot reach a server (expiryDeadline, from the
// touches of touch.go), how often it pings to keep those touches close,
// and what giving a session up does (expire, endGivenUp).

// expiryDeadline is when the client gives its session up while it cannot
// reach a server: nine tenths of the session timeout after the server last
// heard from it, as far as the ensemble's leader knows for sure (see
// touchLog), so it reports the loss before the server hands the session's
// ephemeral nodes to anyone else. It returns the session's timeout too.
func (c *Client) expiryDeadline() (deadline time.Time, timeout time.Duration, ok bool) {
	c.mu.Lock()
	sess := c.sess
	c.mu.Unlock()
	if sess == nil || sess.Err() != nil {
		return time.Time{}, 0, false
	}
	timeout = sess.Timeout()
	ref := c.touches.relayed(int64(relayLag(timeout)))
	return monoTime(ref).Add(timeout * 9 / 10), timeout, true
}

// relayLag is how long a follower may take to pass a session's touch on
// to the leader, as the client reckons it (see touchLog).
func relayLag(sessionTimeout time.Duration) time.Duration { return sessionTimeout / 10 }

// failoverReserve is how long before the client's own expiry a connection
// whose server has gone silent ends (see conn.unanswered), so that the
// client can resume the session on another server in time: a fifth of the
// session timeout. The read timeout alone (two thirds of it) may come too
// late, as the expiry counts from a touch up to about a quarter of the
// timeout older than the newest.
func failoverReserve(sessionTimeout time.Duration) time.Duration { return sessionTimeout / 5 }

// pingInterval is how long a connection may stay quiet before it pings:
// a third of its read timeout, and no more than relayLag.
func pingInterval(readTimeout, sessionTimeout time.Duration) time.Duration {
	return min(readTimeout/3, relayLag(sessionTimeout))
}

// checkLocalExpiry expires the session when its local deadline has passed,
// and reports whether it did.
func (c *Client) checkLocalExpiry() bool {
	if deadline, _, ok := c.expiryDeadline(); ok && !time.Now().Before(deadline) {
		return c.expire("disconnected for longer than the session timeout", true)
	}
	return false
}

// endGivenUp ends the sessions the client gave up (see expire) on the
// server, first on srv, the server the client has just connected to. It
// takes at most Close's time for ending sessions (closeWait), shared
// between them, so a Close that begins meanwhile keeps its bound. Those
// no server let it end stay given up, for the next connection or Close to
// try again.
func (c *Client) endGivenUp(sessions []*Session, srv serverAddr) {
	defer c.wg.Done()
	deadline := time.Now().Add(c.closeWait())
	var ended []*Session
	for i, s := range sessions {
		err := c.closeSessionWith(resumeRequest(s, 0), firstTurnEnds(deadline, len(sessions)-i), srv)
		id := zap.String("session", fmt.Sprintf("0x%x", s.id))
		switch {
		case err == nil:
			c.log.Info("zk: ended on the server the session the client gave up", id)
		case errors.Is(err, ErrSessionExpired):
			c.log.Info("zk: the session the client gave up had expired on the server", id)
		default:
			continue
		}
		ended = append(ended, s)
	}
	c.mu.Lock()
	c.ending = false
	c.givenUp = slices.DeleteFunc(c.givenUp, func(s *Session) bool { return slices.Contains(ended, s) })
	c.mu.Unlock()
}

// maxGivenUp is how many sessions given up by the client's own timer, and
// not yet ended on the server, the client remembers (see expire).
const maxGivenUp = 4

// expire ends the current session: listeners see Expired, every watch ends
// with ErrSessionExpired, and the next connection makes a new session.
//
// local says the client gives the session up by its own timer. The server
// may hold it for a while yet, with its ephemeral nodes: the rest of its
// timeout, or a whole new timeout when a new leader took the sessions
// over. So it joins givenUp: each read-write connection that follows
// tries to end it there (endGivenUp) until one does, and Close tries if
// none has, so that its nodes go at once rather than stand in the way of
// the new session's, such as a lock's. The client remembers maxGivenUp
// such sessions; past that, the oldest is left to time out on the server.
// A read-only session that never met a read-write server is left alone,
// as closeSessionAnew leaves it.
//
// It reports whether there was a session to end.
func (c *Client) expire(reason string, local bool) bool {
	c.mu.Lock()
	sess := c.sess
	if sess == nil || c.closed {
		c.mu.Unlock()
		return false
	}
	var forgotten *Session
	if local && (c.seenRW || !c.cfg.allowReadOnly) {
		c.givenUp = append(c.givenUp, sess)
		if len(c.givenUp) > maxGivenUp {
			forgotten = c.givenUp[0]
			c.givenUp = slices.Delete(c.givenUp, 0, 1)
		}
	}
	c.sess = nil
	c.seenRW = false
	c.setState(StateExpired)
	c.setState(StateConnecting)
	c.mu.Unlock()
	c.log.Warn("zk: session expired", zap.String("session", fmt.Sprintf("0x%x", sess.id)), zap.String("reason", reason))
	if forgotten != nil {
		c.log.Warn("zk: too many sessions given up and not yet ended on the server; the oldest ends when it times out there",
			zap.String("session", fmt.Sprintf("0x%x", forgotten.id)))
	}
	sess.end(ErrSessionExpired)
	c.watches.endAll(ErrSessionExpired)
	c.stats.clear()
	return true
}
