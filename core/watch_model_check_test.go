package core_test

// The checks of a watch model round (see watch_model_test.go), made on its
// log once the round is over. Events carry no zxid, so a watcher's events
// are matched, in order, to the writer's changes that concern it.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zkit-go/zkit/core"
)

// modelVerdict is what the checks found.
type modelVerdict struct {
	problems   []string
	duplicates []string // events seen a second time
	catchUps   int      // events for changes made while disconnected
	required   int      // changes that had to reach some watcher
	delivered  int      // events matched to a change
}

func (v *modelVerdict) fail(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// check runs every check on s.
func (s modelSnapshot) check() modelVerdict {
	var v modelVerdict
	for _, mw := range s.watchers {
		s.checkWatcher(&v, mw)
	}
	for _, o := range s.oneShots {
		s.checkOneShot(&v, o)
	}
	return v
}

// eventFor returns the event a change brings a persistent watcher, if any.
func eventFor(mw *modelWatcher, c modelChange) (core.Event, bool) {
	if c.path == mw.path {
		return core.Event{Type: c.kind, Path: c.path}, true
	}
	if mw.mode == core.WatchPersistentRecursive {
		if mw.path == "/" || strings.HasPrefix(c.path, mw.path+"/") {
			return core.Event{Type: c.kind, Path: c.path}, true
		}
		return core.Event{}, false
	}
	if modelParent(c.path) == mw.path && c.kind != core.EventNodeDataChanged {
		return core.Event{Type: core.EventNodeChildrenChanged, Path: mw.path}, true
	}
	return core.Event{}, false
}

// related reports whether one of the paths is the other or above it.
func related(p, q string) bool {
	under := func(a, b string) bool { return a == b || b == "/" || strings.HasPrefix(a, b+"/") }
	return under(p, q) || under(q, p)
}

func modelParent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// windowEnd returns the time up to which mw must see every change that
// finished: the start of the last barrier that ended before its Close was
// called, or before a RemoveWatches(WatchAny) on its path, which may end
// it, was called. A change that finished before Close was called may not
// have reached the client yet.
func (s modelSnapshot) windowEnd(mw *modelWatcher, closeCalled time.Duration) time.Duration {
	stop := closeCalled
	for _, r := range s.removals {
		if r.path == mw.path && r.typ == core.WatchAny && r.end > mw.addCalled && r.start < stop {
			stop = r.start
		}
	}
	end := time.Duration(-1)
	for _, b := range s.barriers {
		if b.end < stop && b.start > end {
			end = b.start
		}
	}
	return end
}

// visibleBefore returns the time before which every change that finished
// had reached the watching client's server by at, so that a watch set or a
// read made from then on comes after it. With one server that is at
// itself. In an ensemble, the watching client's server may still lag
// behind the writer's, which answered the change: ZooKeeper keeps a client
// from going back in time, not from trailing another client. There it is
// the start of the last barrier that ended before at: its write brought the
// client's server up to it, and a client never connects to a server behind
// what it has seen.
func (s modelSnapshot) visibleBefore(at time.Duration) time.Duration {
	if !s.lagging {
		return at
	}
	seen := time.Duration(-1)
	for _, b := range s.barriers {
		if b.end < at && b.start > seen {
			seen = b.start
		}
	}
	return seen
}

// offlineDuring reports whether c was under way while the watching client
// was disconnected.
func (s modelSnapshot) offlineDuring(c modelChange) bool {
	for _, z := range s.offline {
		if c.start <= z.end && c.end >= z.start {
			return true
		}
	}
	return false
}

// expected is one change that may bring a watcher an event.
type expected struct {
	ev       core.Event
	change   int  // index in the changes
	required bool // made inside the watcher's window
	offline  bool // made while disconnected: may come as a catch-up event
}

// checkWatcher checks that mw saw, in order, every change made after its
// AddWatch returned and finished before its window ended, and nothing it
// should not have seen: a change that finished before AddWatch was
// called, or a change outside its reach.
func (s modelSnapshot) checkWatcher(v *modelVerdict, mw *modelWatcher) {
	closeCalled, events := mw.snapshot()
	end := s.windowEnd(mw, closeCalled)
	visible := s.visibleBefore(mw.addCalled)
	var seq, before []expected
	for i, c := range s.changes {
		ev, ok := eventFor(mw, c)
		if !ok {
			continue
		}
		e := expected{ev: ev, change: i, offline: s.offlineDuring(c)}
		if c.end < visible {
			before = append(before, e)
			continue
		}
		e.required = c.start > mw.addReturned && c.end < end && !e.offline
		if e.required {
			v.required++
		}
		seq = append(seq, e)
	}
	describe := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "%v, window ends %v\n  events:", mw, end)
		for _, ev := range events {
			fmt.Fprintf(&b, " %v %s;", ev.Type, ev.Path)
		}
		b.WriteString("\n  changes it may see:")
		for _, e := range seq {
			fmt.Fprintf(&b, "\n    %v (required %v, offline %v)", s.changes[e.change], e.required, e.offline)
		}
		b.WriteString("\n  calls on its path, above or below it, meanwhile:")
		for _, n := range s.timeline {
			if n.end >= mw.addCalled-50*time.Millisecond && n.start <= end && related(n.path, mw.path) {
				fmt.Fprintf(&b, "\n    [%v, %v] %s %s", n.start, n.end, n.path, n.what)
			}
		}
		return b.String()
	}
	var seen []core.Event
	for i, ev := range events {
		if ev.Type == core.EventNotWatching {
			if i != len(events)-1 {
				v.fail("event after NotWatching: %s", describe())
			}
			if !errors.Is(ev.Err, core.ErrWatchRemoved) || !s.removedAny(mw) {
				v.fail("NotWatching (%v) without a RemoveWatches(WatchAny) on its path: %s", ev.Err, describe())
			}
			continue
		}
		ev.Err = nil
		seen = append(seen, ev)
	}
	m := newWatcherMatch(seq, seen)
	if !m.fits(0, 0) {
		why := "its events do not fit the changes: a change missed, an event out of order, or one for a change it does not watch"
	early:
		for _, e := range before {
			for _, ev := range seen {
				if e.ev == ev {
					why += " (such as a change that finished before AddWatch was called)"
					break early
				}
			}
		}
		v.fail("%s: %s", why, describe())
		return
	}
	delivered, dups, catchUps := m.path()
	v.delivered += delivered
	v.catchUps += catchUps
	for _, ev := range dups {
		v.duplicates = append(v.duplicates, fmt.Sprintf("%v %s to %v", ev.Type, ev.Path, mw))
	}
}

func (s modelSnapshot) removedAny(mw *modelWatcher) bool {
	for _, r := range s.removals {
		if r.path == mw.path && r.typ == core.WatchAny && r.end > mw.addCalled {
			return true
		}
	}
	return false
}

// touches reports whether c fires o's watch, and with which event.
func touches(o *modelOneShot, c modelChange) (core.Event, bool) {
	switch {
	case o.op == childrenW && modelParent(c.path) == o.path && c.kind != core.EventNodeDataChanged:
		return core.Event{Type: core.EventNodeChildrenChanged, Path: o.path}, true
	case c.path != o.path:
		return core.Event{}, false
	case o.missing:
		return core.Event{Type: c.kind, Path: c.path}, c.kind == core.EventNodeCreated
	case o.op == childrenW:
		return core.Event{Type: c.kind, Path: c.path}, c.kind == core.EventNodeDeleted
	}
	return core.Event{Type: c.kind, Path: c.path}, c.kind != core.EventNodeCreated
}

// checkOneShot checks that o fired for the first change after its read
// that touches it, or was removed, or is pending with no such change made
// after the read returned. Where that change was made while the client
// was disconnected, the event is the server's catch-up event, which sums
// up what changed since the client's last zxid (a node deleted and made
// again reads as changed, one made and deleted as nothing), so only its
// path is checked then.
func (s modelSnapshot) checkOneShot(v *modelVerdict, o *modelOneShot) {
	// The first change after the read lies between the first that did not
	// finish before the read started (and came after what it saw) and the
	// first that started after it returned.
	visible := s.visibleBefore(o.readStart)
	var candidates []core.Event
	late, offline := false, false
	for _, c := range s.changes {
		ev, ok := touches(o, c)
		if !ok || c.end < visible || c.zxid <= o.after {
			continue
		}
		if s.offlineDuring(c) {
			offline = true
			continue
		}
		candidates = append(candidates, ev)
		if c.start > o.readEnd {
			late = true
			break
		}
	}
	select {
	case ev, ok := <-o.ch:
		if !ok {
			v.fail("%v: channel closed without an event", o)
			return
		}
		if _, more := <-o.ch; more {
			v.fail("%v: fired twice", o)
		}
		// Put it back for a later check.
		ch := make(chan core.Event, 1)
		ch <- ev
		close(ch)
		o.ch = ch
		if ev.Type == core.EventNotWatching {
			if !errors.Is(ev.Err, core.ErrWatchRemoved) || !s.removedOneShot(o) {
				v.fail("%v: NotWatching (%v) without a removal", o, ev.Err)
			}
			return
		}
		ev.Err = nil
		if offline && ev.Path == o.path {
			v.catchUps++
			return
		}
		for _, want := range candidates {
			if want == ev {
				v.delivered++
				return
			}
		}
		v.fail("%v: fired %v %s, not for the first change after it, one of %v (offline changes too: %v)", o, ev.Type, ev.Path, candidates, offline)
	default:
		if late {
			v.fail("%v: still pending after a change that touches it, one of %v", o, candidates)
		}
	}
}

// removedOneShot reports whether a RemoveWatches that may take o's watch
// off was called after o's read started.
func (s modelSnapshot) removedOneShot(o *modelOneShot) bool {
	for _, r := range s.removals {
		if r.path != o.path || r.end < o.readStart {
			continue
		}
		switch r.typ {
		case core.WatchAny:
			return true
		case core.WatchData:
			if o.op != childrenW {
				return true
			}
		case core.WatchChildren:
			if o.op == childrenW {
				return true
			}
		}
	}
	return false
}
