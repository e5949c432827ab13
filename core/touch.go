package core

import (
	"sync"
	"sync/atomic"
)

// When the server last heard from the session, as far as the leader
// knows. In an ensemble only the leader expires sessions. A follower
// that answers a request or a ping records the touch itself and passes
// it on when the leader next pings it, every half tick; a follower that
// dies or is cut off before then never passes it on, and the leader
// counts the session's timeout from an older touch. So the client's own
// expiry (expiryDeadline) counts from the newest touch at least
// relayLag older than the newest one, which the follower had the time to
// pass on, or from the newest connect request a server answered, which
// the leader hears of at once (it creates or revalidates the session).
//
// relayLag is a tenth of the session timeout: it covers a tick of up to a
// fifth of the timeout, as with ZooKeeper's default 2 s tick and the
// client's default 10 s session. An idle connection pings at least that
// often (pingInterval), so an idle session's touches are a relayLag
// apart.

// touchMarkCount is how many touches touchLog keeps: a few per relayLag
// (touchLog.spacing), reaching back past it.
const touchMarkCount = 8

// touchLog keeps the session's touches: the send times (monoNow) of
// requests, pings and connect requests the server answered. Events the
// server sends by itself (watch notifications) tell nothing of when it
// last heard from the session, and do not count.
type touchLog struct {
	// newest is a time at or before which the server last heard from the
	// session: the newest touch. The server expires the session a
	// session timeout after it last heard from it, so never before newest
	// plus the timeout.
	newest  atomic.Int64
	spacing atomic.Int64 // the least time between two marks: relayLag / 4
	last    atomic.Int64 // the newest mark

	mu     sync.Mutex
	marks  [touchMarkCount]int64 // a ring; 0 for none
	next   int
	joined int64 // the newest connect request answered
}

// add records the touch sent, and marks it when it is a spacing after the
// newest mark, so the marking costs a load for most replies.
func (l *touchLog) add(sent int64) {
	for {
		old := l.newest.Load()
		if sent <= old || l.newest.CompareAndSwap(old, sent) {
			break
		}
	}
	if sent-l.last.Load() < l.spacing.Load() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if sent-l.last.Load() < l.spacing.Load() {
		return
	}
	l.marks[l.next] = sent
	l.next = (l.next + 1) % touchMarkCount
	l.last.Store(sent)
}

// join records the send time of a connect request a server answered,
// for a session whose relayLag is lag (nanoseconds).
func (l *touchLog) join(sent, lag int64) {
	l.spacing.Store(lag / 4)
	l.mu.Lock()
	l.joined = max(l.joined, sent)
	l.mu.Unlock()
	l.add(sent)
}

// relayed returns the newest touch the leader has heard of for sure, with
// lag the relayLag: the newest mark at least lag older than the newest
// touch, or the newest connect request answered.
func (l *touchLog) relayed(lag int64) int64 {
	newest := l.newest.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	ref := l.joined
	for _, m := range l.marks {
		if m != 0 && m <= newest-lag && m > ref {
			ref = m
		}
	}
	return ref
}
