package core

import "strings"

// One-shot watches served by a recursive watch above them.
//
// A recursive watch of the session on a path brings every event a
// one-shot watch on a path below it waits for: the node's creation, data
// changes and deletion, and the creates and deletes of its children, from
// which the client makes NodeChildrenChanged (see dispatch). When the
// client has to set such one-shot watches on the server again (after a
// removal of their path's watches, or a read that asked nothing of the
// server), it keeps them to itself instead: set relative to a zxid, they
// would bring the changes made since, which the recursive watch has
// brought already, once more as catch-up events, which every watcher of
// the path and its parents takes for new changes. They go to the server,
// relative to the zxid at which the recursive watch stopped being
// recursive, when it does; the changes made after that zxid are those
// nothing else brought.

// coveredFromAboveLocked reports whether the session's watch on an
// ancestor of the server path sp is recursive on the server.
func (w *watchRegistry) coveredFromAboveLocked(sp string) bool {
	for p := parentPath(sp); p != ""; p = parentPath(p) {
		if w.serverRecursiveLocked(p) {
			return true
		}
	}
	return false
}

// uncoveredLocked sets on the server, relative to zxid, the one-shot
// watches below the server path sp that the session's recursive watch
// there served, now that the server has stopped it (at zxid). Those that
// another recursive watch above them still serves stay in the client, and
// so do those a persistent watcher on their own path serves: setting them
// on the server would make that watcher's watch one-shot, and its release
// sets them again (see Client.releaseServerWatch).
func (w *watchRegistry) uncoveredLocked(sp string, zxid int64, send sendFunc) {
	prefix := sp + "/"
	if sp == "/" {
		prefix = sp
	}
	var below []string
	for p := range w.servedFromAbove {
		if strings.HasPrefix(p, prefix) {
			below = append(below, p)
		}
	}
	for _, p := range below {
		delete(w.servedFromAbove, p)
		if len(w.persistent[p]) == 0 {
			w.rearmPathLocked(p, zxid, true, send)
		}
	}
}

// oneShotsGoneLocked forgets the server path sp as served from above once
// the client holds no one-shot watch there any more.
func (w *watchRegistry) oneShotsGoneLocked(sp string) {
	if len(w.servedFromAbove) == 0 {
		return
	}
	if !w.holdsOneShotsOfLocked(sp, WatchAny) {
		delete(w.servedFromAbove, sp)
	}
}

// holdsOneShotsOf reports whether the client holds one-shot watches of
// type t on the server path sp. Asked after the server answered NoWatcher
// for sp, the ones it holds are the client's own: served by a recursive
// watch above (servedFromAbove), or about to be set on the server again
// (a watch above just stopped serving them), since a watch the server
// fired before its answer has had its event dispatched by then.
// CheckWatches counts them as the session's.
func (w *watchRegistry) holdsOneShotsOf(sp string, t WatcherType) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.holdsOneShotsOfLocked(sp, t)
}

// holdsOneShotsOfLocked is holdsOneShotsOf with w.mu held; WatchAny asks
// for a one-shot watch of any kind.
func (w *watchRegistry) holdsOneShotsOfLocked(sp string, t WatcherType) bool {
	for _, k := range oneShotKindsOf(t) {
		if len(w.oneShot[watchKey{path: sp, kind: k}]) > 0 {
			return true
		}
	}
	return false
}

// removeOwnOneShots removes the one-shot watches of type t on the server
// path sp, for a removal the server answered with NoWatcher (it holds
// none there; see holdsOneShotsOf), and reports whether there were any.
// Persistent watchers stay: the server holds theirs.
func (w *watchRegistry) removeOwnOneShots(sp string, t WatcherType) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.holdsOneShotsOfLocked(sp, t) {
		return false
	}
	w.removeOneShotsLocked(sp, t)
	return true
}
