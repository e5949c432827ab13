package core

import "github.com/zkit-go/zkit/core/proto"

// One-shot watches that the client sets on the server again, relative to
// a zxid (after a removal took them off, or once the watch that served
// them stopped), learn of a change made since that zxid from the catch-up
// event the server sends when it applies the setWatches. If the
// connection is lost before then, the next connection must set them again
// relative to that same zxid. Its frames are otherwise relative to the
// last zxid the client saw, which replies read meanwhile may have moved
// past the change: the catch-up, and the event, would be lost.

// pendingRearm is, for one server path, the oldest zxid that one-shot
// watches set again there are relative to, and how many of the frames
// that set them the server has not applied yet.
type pendingRearm struct {
	zxid int64
	out  int
}

// notePendingLocked records that one-shot watches on sp are being set
// again relative to zxid, and returns what to call, in place of applied,
// once the frames are applied or lost; queued tells whether they went
// out. Called with w.mu held.
func (w *watchRegistry) notePendingLocked(sp string, zxid int64, applied appliedFunc) (wrapped appliedFunc, queued func()) {
	pr := w.pendingRearm[sp]
	if pr == nil {
		pr = &pendingRearm{zxid: zxid}
		w.pendingRearm[sp] = pr
	}
	pr.zxid = min(pr.zxid, zxid)
	wrapped = func(zxid int64, ok bool) {
		w.mu.Lock()
		w.pendingDoneLocked(sp, ok)
		w.mu.Unlock()
		if applied != nil {
			applied(zxid, ok)
		}
	}
	return wrapped, func() { pr.out++ }
}

// pendingDoneLocked counts one frame for sp as applied (ok) or lost. Once
// the server has applied every frame out, the path's watches are set
// again for good; a lost one leaves the zxid for the next connection.
func (w *watchRegistry) pendingDoneLocked(sp string, ok bool) {
	pr := w.pendingRearm[sp]
	if pr == nil {
		return
	}
	pr.out--
	if ok && pr.out <= 0 {
		delete(w.pendingRearm, sp)
	}
}

// splitBehindLocked moves, out of paths, every path whose one-shot
// watches wait to be set again relative to a zxid older than lastZxid,
// with all of its watches (the persistent ones after the one-shots, as in
// any frame, so that they keep their mode). It returns them with the
// oldest such zxid, and what to call once their frames are applied. The
// other paths need nothing more: the frames relative to lastZxid set them
// as well, and until the server has applied those, the connection reads
// no reply that could move lastZxid past a change. Called with w.mu held.
func (w *watchRegistry) splitBehindLocked(paths *watchPaths, lastZxid int64) (behind watchPaths, from int64, applied appliedFunc) {
	from = lastZxid
	var moved []string
	for sp, pr := range w.pendingRearm {
		if pr.zxid >= lastZxid || !w.holdsOneShotsOfLocked(sp, WatchAny) {
			delete(w.pendingRearm, sp)
			continue
		}
		from = min(from, pr.zxid)
		moved = append(moved, sp)
		pr.out++
	}
	if len(moved) == 0 {
		return behind, from, nil
	}
	in := make(map[string]struct{}, len(moved))
	for _, sp := range moved {
		in[sp] = struct{}{}
	}
	paths.data, behind.data = partition(paths.data, in)
	paths.exist, behind.exist = partition(paths.exist, in)
	paths.child, behind.child = partition(paths.child, in)
	paths.persistent, behind.persistent = partition(paths.persistent, in)
	paths.recursive, behind.recursive = partition(paths.recursive, in)
	applied = func(_ int64, ok bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, sp := range moved {
			w.pendingDoneLocked(sp, ok)
		}
	}
	return behind, from, applied
}

// partition splits list into the paths not in set and those in it,
// keeping their order.
func partition(list []string, set map[string]struct{}) (out, in []string) {
	for _, p := range list {
		if _, ok := set[p]; ok {
			in = append(in, p)
		} else {
			out = append(out, p)
		}
	}
	return out, in
}

// rearmFrames are the setWatches frames of a new connection: main,
// relative to the last zxid the client saw, then behind, relative to an
// older one, whose last frame carries applied.
type rearmFrames struct {
	main, behind []proto.Request
	applied      appliedFunc
}
