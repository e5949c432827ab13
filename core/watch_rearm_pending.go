package core

import (
	"maps"
	"slices"

	"github.com/zkit-go/zkit/core/proto"
)

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
		w.pendingDoneLocked(sp, pr, ok)
		w.mu.Unlock()
		if applied != nil {
			applied(zxid, ok)
		}
	}
	return wrapped, func() { pr.out++ }
}

// pendingDoneLocked counts one frame of pr, sp's entry when the frame was
// queued, as applied (ok) or lost. Once the server has applied every frame
// out, the path's watches are set again for good; a lost one leaves the
// zxid for the next connection. A frame of an entry that a new connection
// has replaced since (splitBehindLocked) counts for nothing: the old
// connection may report its frames lost after the new one has started.
func (w *watchRegistry) pendingDoneLocked(sp string, pr *pendingRearm, ok bool) {
	if w.pendingRearm[sp] != pr {
		return
	}
	pr.out--
	if ok && pr.out <= 0 {
		delete(w.pendingRearm, sp)
	}
}

// behindGroup is the watches of the paths that a new connection sets again
// relative to one older zxid, and what to call once their frames are
// applied or lost.
type behindGroup struct {
	zxid    int64
	paths   watchPaths
	applied appliedFunc
}

// splitBehindLocked moves, out of paths, every path whose one-shot
// watches wait to be set again relative to a zxid older than lastZxid,
// with all of its watches (the persistent ones after the one-shots, as in
// any frame, so that they keep their mode), grouped by that zxid, so that
// no path is set relative to an older zxid than its own. Each moved path
// gets a new entry, counting its group's frames alone. The other paths
// need nothing more: the frames relative to lastZxid set them as well,
// and until the server has applied those, the connection reads no reply
// that could move lastZxid past a change. Called with w.mu held.
func (w *watchRegistry) splitBehindLocked(paths *watchPaths, lastZxid int64) []behindGroup {
	byZxid := map[int64][]string{}
	for sp, pr := range w.pendingRearm {
		if pr.zxid >= lastZxid || !w.holdsOneShotsOfLocked(sp, WatchAny) {
			delete(w.pendingRearm, sp)
			continue
		}
		byZxid[pr.zxid] = append(byZxid[pr.zxid], sp)
	}
	groups := make([]behindGroup, 0, len(byZxid))
	for _, zxid := range slices.Sorted(maps.Keys(byZxid)) {
		moved := byZxid[zxid]
		in := make(map[string]struct{}, len(moved))
		entries := make([]*pendingRearm, len(moved))
		for i, sp := range moved {
			in[sp] = struct{}{}
			entries[i] = &pendingRearm{zxid: zxid, out: 1}
			w.pendingRearm[sp] = entries[i]
		}
		g := behindGroup{zxid: zxid}
		paths.data, g.paths.data = partition(paths.data, in)
		paths.exist, g.paths.exist = partition(paths.exist, in)
		paths.child, g.paths.child = partition(paths.child, in)
		paths.persistent, g.paths.persistent = partition(paths.persistent, in)
		paths.recursive, g.paths.recursive = partition(paths.recursive, in)
		g.applied = func(_ int64, ok bool) {
			w.mu.Lock()
			defer w.mu.Unlock()
			for i, sp := range moved {
				w.pendingDoneLocked(sp, entries[i], ok)
			}
		}
		groups = append(groups, g)
	}
	return groups
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
// relative to the last zxid the client saw, then each group of behind,
// relative to an older one, whose last frame carries its applied.
type rearmFrames struct {
	main   []proto.Request
	behind []behindFrames
}

// behindFrames are one behindGroup's frames.
type behindFrames struct {
	reqs    []proto.Request
	applied appliedFunc
}
