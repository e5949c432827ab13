package core

import (
	"time"

	"github.com/cenkalti/backoff/v4"
)

// SetXid makes the live connection's next request id follow v, so tests
// can drive the id past 2^31-1.
func SetXid(c *Client, v int32) bool {
	cn := c.live.Load()
	if cn == nil {
		return false
	}
	cn.mu.Lock()
	cn.xid = v
	cn.mu.Unlock()
	return true
}

// NextXid returns the id the live connection will use next.
func NextXid(c *Client) int32 {
	cn := c.live.Load()
	if cn == nil {
		return 0
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	next := cn.xid + 1
	if next <= 0 {
		next = 1
	}
	return next
}

// OwnReads reports how many replies on the live connection were read by
// the goroutine that made the call, rather than by the reader goroutine.
func OwnReads(c *Client) int64 {
	cn := c.live.Load()
	if cn == nil {
		return 0
	}
	return cn.ownReads.Load()
}

// PolledOwnReads reports how many of the live connection's callers waited
// for their own reply in a blocking poll.
func PolledOwnReads(c *Client) int64 {
	cn := c.live.Load()
	if cn == nil {
		return 0
	}
	return cn.polledOwnReads.Load()
}

// GatherPauses reports how often the live connection's reader goroutine
// paused to gather replies (gather.go).
func GatherPauses(c *Client) int64 {
	cn := c.live.Load()
	if cn == nil {
		return 0
	}
	return cn.gatherPauses.Load()
}

// WritePauses reports how often the live connection's writer goroutine
// paused to gather requests (gather.go).
func WritePauses(c *Client) int64 {
	cn := c.live.Load()
	if cn == nil {
		return 0
	}
	return cn.writePauses.Load()
}

// HoldReadSlots takes every place for waiting in a blocking poll until
// release is called: callers reading their own replies wait in the
// network poller meanwhile.
func HoldReadSlots() (release func()) {
	n := blockedReads.max
	blockedReads.n.Add(n)
	return func() { blockedReads.n.Add(-n) }
}

// SlowOwnReads reports how many of the live connection's callers gave up
// reading their own reply because it took longer than the caller reads.
func SlowOwnReads(c *Client) int64 {
	cn := c.live.Load()
	if cn == nil {
		return 0
	}
	return cn.slowOwnReads.Load()
}

// ForgetSlowOwnReads lets the live connection's next callers read their own
// replies again, as if no reply had been too slow for that.
func ForgetSlowOwnReads(c *Client) {
	if cn := c.live.Load(); cn != nil {
		cn.mu.Lock()
		cn.skipOwn = 0
		cn.mu.Unlock()
	}
}

// StatCacheLen reports how many paths the stat cache holds.
func StatCacheLen(c *Client) int { return c.stats.len() }

// Internal helpers exposed to the external test package.
var (
	ValidatePath = validatePath
	ParseServers = func(s string) (int, string, error) {
		addrs, root, err := parseServers(s)
		return len(addrs), root, err
	}
)

// ServerAddrs parses a server list and returns each server as host:port,
// and the chroot.
func ServerAddrs(s string) ([]string, string, error) {
	addrs, root, err := parseServers(s)
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out, root, err
}

// ResumeSession makes c, which has not started, resume s when it starts,
// as if it had made s itself. Two clients with different chroots can so
// take turns at one session.
func ResumeSession(c *Client, s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = newSession(s.id, s.passwd, s.Timeout())
	c.seenRW = true
	c.touches.join(monoNow(), int64(relayLag(s.Timeout())))
}

// PolicyPauses returns the pauses p makes before each of n retries, one
// attempt per millisecond.
func PolicyPauses(p *RetryPolicy, n int) []time.Duration {
	var bo backoff.BackOff
	start := time.Now()
	var attempts []time.Time
	out := make([]time.Duration, n)
	for i := range out {
		attempts = append(attempts, start.Add(time.Duration(i)*time.Millisecond))
		out[i] = p.pause(&bo, attempts)
	}
	return out
}

// OwnsSocket reports whether the live connection waits for its socket in
// its own poll, out of Go's network poller (WithOwnPolling).
func OwnsSocket(c *Client) bool {
	cn := c.live.Load()
	if cn == nil {
		return false
	}
	_, ok := cn.nc.(ownedSocket)
	return ok
}

// LiveConnFailed reports whether the client has no live connection, or
// one that has failed (whose requests are lost or being lost).
func LiveConnFailed(c *Client) bool {
	cn := c.live.Load()
	if cn == nil {
		return true
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.closed
}
