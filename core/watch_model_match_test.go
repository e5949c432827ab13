package core_test

import "github.com/zkit-go/zkit/core"

// watcherMatch decides whether a watcher's events fit the changes that
// concern it: whether each event can be given a change of its own, in
// order, such that every required change gets one. An event may also be
// left without one when it repeats an earlier change (a duplicate) or
// is about a node changed while the client was disconnected (a catch-up
// event, which comes in no particular order). Matching each event to the
// earliest change that fits can take an optional change for an event that
// a required one needed, so fits tries every way, remembering what it
// found.
type watcherMatch struct {
	seq    []expected
	events []core.Event
	memo   map[[2]int]bool
}

func newWatcherMatch(seq []expected, events []core.Event) *watcherMatch {
	return &watcherMatch{seq: seq, events: events, memo: map[[2]int]bool{}}
}

// fits reports whether events[i:] fit seq[j:].
func (m *watcherMatch) fits(i, j int) bool {
	key := [2]int{i, j}
	if ok, known := m.memo[key]; known {
		return ok
	}
	ok := m.fitsUncached(i, j)
	m.memo[key] = ok
	return ok
}

func (m *watcherMatch) fitsUncached(i, j int) bool {
	if i == len(m.events) {
		for _, e := range m.seq[j:] {
			if e.required {
				return false
			}
		}
		return true
	}
	if k := m.next(i, j, -1); k >= 0 {
		for ; k >= 0; k = m.next(i, j, k) {
			if m.fits(i+1, k+1) {
				return true
			}
		}
	}
	return m.tolerated(i, j) && m.fits(i+1, j)
}

// next returns the first change after seq[after] (from seq[j]) that
// events[i] can stand for without skipping a required one, or -1.
func (m *watcherMatch) next(i, j, after int) int {
	for k := max(j, after+1); k < len(m.seq); k++ {
		if m.seq[k].ev == m.events[i] {
			return k
		}
		if m.seq[k].required {
			return -1
		}
	}
	return -1
}

// tolerated reports whether events[i], with seq[:j] behind it, may be left
// without a change: it repeats one behind, or is about a node changed
// offline (ZooKeeper's catch-up events sum up what changed: a node deleted
// and made again reads as changed).
func (m *watcherMatch) tolerated(i, j int) bool {
	ev := m.events[i]
	for k, e := range m.seq {
		if k < j && e.ev == ev || e.offline && e.ev.Path == ev.Path {
			return true
		}
	}
	return false
}

// path follows a way that fits, preferring matches, and counts the events
// matched, the duplicates (returned) and the catch-up events.
func (m *watcherMatch) path() (delivered int, dups []core.Event, catchUps int) {
	j := 0
	for i := range m.events {
		matched := false
		for k := m.next(i, j, -1); k >= 0; k = m.next(i, j, k) {
			if m.fits(i+1, k+1) {
				j = k + 1
				delivered++
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		dup := false
		for _, e := range m.seq[:j] {
			dup = dup || e.ev == m.events[i]
		}
		if dup {
			dups = append(dups, m.events[i])
		} else {
			catchUps++
		}
	}
	return delivered, dups, catchUps
}
