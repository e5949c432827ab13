package core

// The mode of the session's watch on each path as the server applies the
// client's requests, which decides what the events read mean.
//
// ZooKeeper up to 3.8 keeps one watch mode per session and path. Where
// that mode is recursive, the server sends the creates and deletes of the
// path's children, and no NodeChildrenChanged: the client makes that
// event for its child watches and plain persistent watchers there (see
// dispatch). Where it is plain, the server sends NodeChildrenChanged
// itself. The client's watchers do not say which mode the server is in:
// a recursive watcher's addWatch may be out, a frame setting the path
// plain not applied yet, or a new connection may have set the path
// recursive for a recursive watcher still to come (watchRegistry.coming).
// So the client follows the mode as the server applies it: in the order
// of the replies, which the server sends in order with the events. An
// event read before a reply came before the request was applied.

// serverRecursiveLocked reports whether the session's watch on the server
// path sp is recursive as far as the replies read so far tell.
func (w *watchRegistry) serverRecursiveLocked(sp string) bool {
	_, ok := w.recursiveOnServer[sp]
	return ok
}

// setServerRecursiveLocked records the mode of the session's watch on sp
// that the request whose reply is being read, at zxid, left: recursive,
// or not (plain, one-shot or none). A recursive watch that ends leaves
// the one-shot watches below sp that it served to the server (see
// uncoveredLocked).
func (w *watchRegistry) setServerRecursiveLocked(sp string, recursive bool, zxid int64, send sendFunc) {
	if recursive {
		w.recursiveOnServer[sp] = struct{}{}
		return
	}
	if _, was := w.recursiveOnServer[sp]; was {
		delete(w.recursiveOnServer, sp)
		w.uncoveredLocked(sp, zxid, send)
	}
}

// modeApplied returns what the reader calls once the server has applied
// setWatches frames that register paths, sp's persistent watchers among
// them: it records the mode they set on sp. It returns nil when they set
// none there.
func (w *watchRegistry) modeApplied(sp string, paths watchPaths, send sendFunc) appliedFunc {
	var recursive bool
	switch {
	case len(paths.recursive) > 0:
		recursive = true
	case len(paths.persistent) > 0:
	default:
		return nil
	}
	return func(zxid int64, ok bool) {
		if !ok {
			return // the next connection's frames set every path's mode
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.setServerRecursiveLocked(sp, recursive, zxid, send)
	}
}
