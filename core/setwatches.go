package core

// The setWatches frames that register the client's watches again: all of
// them on a new connection, or those on one path after a removal took them
// off the server.

import (
	"slices"

	"github.com/zkit-go/zkit/core/proto"
)

// setWatchesLimit keeps each setWatches frame well under the server's
// jute.maxbuffer (1 MiB by default), and under a smaller one the client
// was told of (WithMaxDataSize).
const setWatchesLimit = 128 * 1024

// limitRequests records the largest request the server takes, n bytes
// (0 or less: no limit known).
func (w *watchRegistry) limitRequests(n int) {
	w.maxRequest.Store(int64(n))
}

// frameLimit is the largest setWatches frame body to send.
func (w *watchRegistry) frameLimit() int {
	if n := int(w.maxRequest.Load()); n > 0 && n < setWatchesLimit {
		return n
	}
	return setWatchesLimit
}

// watchPaths lists server paths by the setWatches list they go in.
type watchPaths struct {
	data, exist, child, persistent, recursive []string
}

// rearmRequests builds the setWatches frames that register every watch
// again after a reconnect, relative to lastZxid, but for the one-shot
// watches whose setting again the old connection lost before the server
// applied it: those go in frames of their own, relative to the zxid that
// setting was (see watch_rearm_pending.go).
func (w *watchRegistry) rearmRequests(lastZxid int64) rearmFrames {
	w.mu.Lock()
	var paths watchPaths
	for key := range w.oneShot {
		paths.addOneShot(key)
	}
	for p := range w.persistent {
		w.addPersistentPathLocked(&paths, p)
	}
	behind := w.splitBehindLocked(&paths, lastZxid)
	// A new connection starts with none of the old one's watches: these
	// frames, sent before anything else, set every path's mode, and no
	// event of the connection can come before the modes they set. They
	// set every one-shot watch too, so that its catch-up event tells of a
	// change made while the client was away.
	clear(w.recursiveOnServer)
	clear(w.servedFromAbove)
	frames := rearmFrames{main: splitSetWatches(lastZxid, paths, w.frameLimit())}
	recursive := paths.recursive
	for _, g := range behind {
		recursive = slices.Concat(recursive, g.paths.recursive)
		frames.behind = append(frames.behind, behindFrames{reqs: splitSetWatches(g.zxid, g.paths, w.frameLimit()), applied: g.applied})
	}
	for _, p := range recursive {
		w.recursiveOnServer[p] = struct{}{}
	}
	w.mu.Unlock()
	return frames
}

// rearmPath registers again on the server the watches the client holds
// on the server path sp, after a request took them off there: the
// persistent watchers, and with oneShots the one-shot watches too,
// relative to zxid, so a change made since fires them at once. It hands
// the setWatches frames (if any) to send while it holds the registry's
// lock, so they are queued in the order of the client's other changes to
// its watches: a watch removed meanwhile is never set again behind the
// removal's back.
//
// It reports whether the frames set persistent watches again: ZooKeeper
// sends no catch-up events for those, so they miss the changes made
// before the server applies the frames (see awaitRearm).
func (w *watchRegistry) rearmPath(sp string, zxid int64, oneShots bool, send sendFunc) (persistent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// The removal whose reply is being read took the session's watch on
	// sp off.
	w.setServerRecursiveLocked(sp, false, zxid, send)
	return w.rearmPathLocked(sp, zxid, oneShots, send)
}

// sendFunc queues setWatches frames on the live connection, if any, and
// has applied (unless nil) called once their replies are read or lost; it
// reports whether applied will be called. See Client.sendRearm.
type sendFunc func(reqs []proto.Request, applied appliedFunc) (queued bool)

// rearmPathLocked is rearmPath without the lock, for any request after
// which the client's watches on sp must be set again. Once the server has
// applied the frames, the path's mode on the server is the one they set
// (see modeApplied).
//
// The one-shot watches on sp stay in the client while a recursive watch
// of the session on an ancestor brings their events (see servedFromAbove):
// set on the server, relative to zxid, they would bring the changes made
// since, which that watch has brought already, once more, as catch-up
// events that every watcher on sp and above it takes for new ones.
func (w *watchRegistry) rearmPathLocked(sp string, zxid int64, oneShots bool, send sendFunc) (persistent bool) {
	if !oneShots && len(w.persistent[sp]) == 0 {
		return false
	}
	var paths watchPaths
	if oneShots {
		w.addOneShotPathLocked(&paths, sp)
	}
	w.addPersistentPathLocked(&paths, sp)
	reqs := splitSetWatches(zxid, paths, w.frameLimit())
	if len(reqs) == 0 {
		return false
	}
	persistent = len(paths.persistent)+len(paths.recursive) > 0
	oneShotPaths := len(paths.data)+len(paths.exist)+len(paths.child) > 0
	if persistent {
		applied, queued := w.modeApplied(sp, paths, send), func() {}
		if oneShotPaths {
			applied, queued = w.notePendingLocked(sp, zxid, applied)
		}
		if send(reqs, applied) {
			queued()
		}
		return true
	}
	// One-shot watches alone: counted as an override until applied (see
	// oneShotsApplied).
	w.startOverrideLocked(sp)
	applied, queued := w.notePendingLocked(sp, zxid, w.oneShotsApplied(sp, len(paths.data)+len(paths.exist) > 0, send))
	if send(reqs, applied) {
		queued()
	} else {
		w.endOverrideLocked(sp)
	}
	return false
}

// oneShotsApplied returns what the reader calls once the server has
// applied, or the connection lost, setWatches frames that set one-shot
// watches alone on sp, which count as overriding sp's watch meanwhile
// (startOverride). An addWatch on sp may be out while they are: applied
// after it, they make its persistent watch one-shot, as a watched read
// does. So when persistent watchers registered there since, they are set
// again (oneShotsSetLocked, with data telling whether a data or exist
// watch was among the frames), and an AddWatch waiting for the override
// (addPersistentRearm) waits for that too. A connection lost needs nothing
// set again: the next one registers every watch.
func (w *watchRegistry) oneShotsApplied(sp string, data bool, send sendFunc) appliedFunc {
	return func(zxid int64, ok bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if ok {
			w.oneShotsSetLocked(sp, data, zxid, send)
		}
		w.endOverrideLocked(sp)
	}
}

// addOneShotPathLocked adds the one-shot watches on sp, unless a
// recursive watch of the session above sp brings their events: sp is then
// served from above until that watch stops being recursive.
func (w *watchRegistry) addOneShotPathLocked(paths *watchPaths, sp string) {
	if w.coveredFromAboveLocked(sp) {
		if w.holdsOneShotsOfLocked(sp, WatchAny) {
			w.servedFromAbove[sp] = struct{}{}
		}
		return
	}
	delete(w.servedFromAbove, sp)
	for _, k := range []oneShotKind{watchKindData, watchKindExist, watchKindChild} {
		if key := (watchKey{path: sp, kind: k}); len(w.oneShot[key]) > 0 {
			paths.addOneShot(key)
		}
	}
}

func (p *watchPaths) addOneShot(key watchKey) {
	switch key.kind {
	case watchKindData:
		p.data = append(p.data, key.path)
	case watchKindExist:
		p.exist = append(p.exist, key.path)
	case watchKindChild:
		p.child = append(p.child, key.path)
	}
}

// addPersistentPathLocked adds sp for the persistent watchers on it: in
// recursive mode when any of them is recursive, else in plain mode.
func (w *watchRegistry) addPersistentPathLocked(paths *watchPaths, sp string) {
	var hasP, hasR bool
	for _, pw := range w.persistent[sp] {
		if pw.mode == WatchPersistentRecursive {
			hasR = true
		} else {
			hasP = true
		}
	}
	// A recursive watcher on its way counts too (see watchRegistry.coming).
	hasR = hasR || hasP && w.coming[sp] > 0
	// ZooKeeper up to 3.8 keeps one mode per session and path: a recursive
	// watch brings what a plain one needs (see dispatch), not the reverse.
	if hasP && !hasR {
		paths.persistent = append(paths.persistent, sp)
	}
	if hasR {
		paths.recursive = append(paths.recursive, sp)
	}
}

// setWatchesOverhead is the size of a setWatches frame body without its
// paths: the request header (xid and opcode), the zxid and the length of
// each of the five lists.
const setWatchesOverhead = 4 + 4 + 8 + 5*4

// splitSetWatches packs the paths into setWatches frames whose bodies
// stay within limit bytes, keeping each list's order. A frame is started
// only for a path, so none is empty; a path too long for any frame goes
// alone in one.
func splitSetWatches(zxid int64, paths watchPaths, limit int) []proto.Request {
	op := proto.OpSetWatches
	if len(paths.persistent)+len(paths.recursive) > 0 {
		op = proto.OpSetWatches2
	}
	lists := []struct {
		paths []string
		field func(*proto.SetWatchesRequest) *[]string
	}{
		{paths.data, func(r *proto.SetWatchesRequest) *[]string { return &r.DataWatches }},
		{paths.exist, func(r *proto.SetWatchesRequest) *[]string { return &r.ExistWatches }},
		{paths.child, func(r *proto.SetWatchesRequest) *[]string { return &r.ChildWatches }},
		{paths.persistent, func(r *proto.SetWatchesRequest) *[]string { return &r.PersistentWatches }},
		{paths.recursive, func(r *proto.SetWatchesRequest) *[]string { return &r.PersistentRecursive }},
	}
	var (
		out  []proto.Request
		cur  *proto.SetWatchesRequest
		size int
	)
	for _, l := range lists {
		for _, p := range l.paths {
			cost := 4 + len(p)
			if cur == nil || (size+cost > limit && size > setWatchesOverhead) {
				cur = &proto.SetWatchesRequest{Op: op, RelativeZxid: zxid}
				out = append(out, cur)
				size = setWatchesOverhead
			}
			list := l.field(cur)
			*list = append(*list, p)
			size += cost
		}
	}
	return out
}
