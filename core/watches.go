package core

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zkit-go/zkit/core/proto"
)

// oneShotKind is the server-side table a one-shot watch lives in.
type oneShotKind uint8

const (
	watchKindData oneShotKind = iota
	watchKindExist
	watchKindChild
)

type watchKey struct {
	path string // server path
	kind oneShotKind
}

// watchRegistry tracks the client's watches by server path. The reader
// dispatches into it without blocking: one-shot channels have room for
// their single event, and persistent watchers queue.
type watchRegistry struct {
	root  chroot
	bound int
	wg    *sync.WaitGroup
	// maxRequest is the largest request the server takes (0: unknown),
	// which bounds the setWatches frames.
	maxRequest atomic.Int64

	mu         sync.Mutex
	oneShot    map[watchKey][]chan Event
	persistent map[string][]*Watcher // by server path, both modes
	// coming counts, by server path, the recursive watchers whose addWatch
	// is out. The server's watch on such a path is to end up recursive:
	// every mode the client sets there meanwhile is recursive too, or a
	// setWatches that reached the server after that addWatch would leave
	// the path plain.
	coming map[string]int
	// recursiveOnServer holds the server paths where the session's watch
	// is recursive as far as the replies read so far tell (see
	// watch_server_mode.go).
	recursiveOnServer map[string]struct{}
	// servedFromAbove holds the server paths whose one-shot watches the
	// client keeps to itself while a recursive watch of the session above
	// them brings their events (see watch_served_above.go).
	servedFromAbove map[string]struct{}
	// overrides holds, by server path, the requests out that take the
	// session's persistent watch there off the server or make it one-shot,
	// and whose reply hooks set it again: the removals of the path's
	// watches (see Client.releaseServerWatch) and the reads that set a
	// one-shot watch there (see Client.oneShot).
	overrides map[string]*overrideRun
	// pendingRearm holds, by server path, the one-shot watches set again
	// there whose frames the server has not applied (see
	// watch_rearm_pending.go).
	pendingRearm map[string]*pendingRearm
}

// overrideRun counts the requests out on one path; done, made only when
// an AddWatch waits for them (most reads have no one waiting), closes
// when the last ends.
type overrideRun struct {
	n    int
	done chan struct{}
}

func newWatchRegistry(root chroot, bound int, wg *sync.WaitGroup) *watchRegistry {
	return &watchRegistry{
		root:              root,
		bound:             bound,
		wg:                wg,
		oneShot:           make(map[watchKey][]chan Event),
		persistent:        make(map[string][]*Watcher),
		coming:            make(map[string]int),
		recursiveOnServer: make(map[string]struct{}),
		servedFromAbove:   make(map[string]struct{}),
		overrides:         make(map[string]*overrideRun),
		pendingRearm:      make(map[string]*pendingRearm),
	}
}

// empty reports whether no watch is registered.
func (w *watchRegistry) empty() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.oneShot) == 0 && len(w.persistent) == 0
}

func (w *watchRegistry) addOneShot(key watchKey, ch chan Event) {
	w.mu.Lock()
	w.oneShot[key] = append(w.oneShot[key], ch)
	w.mu.Unlock()
}

func fire(chs []chan Event, ev Event) {
	for _, ch := range chs {
		ch <- ev
		close(ch)
	}
}

// dispatch delivers a server notification to every watch it triggers.
//
// Where the session's watch is recursive on the server, the server keeps
// no other watch of the session on the path (ZooKeeper up to 3.8 keeps
// one mode per session and path; see startOverride), and a recursive
// watch brings no NodeChildrenChanged. So on such a path (see
// watch_server_mode.go) the client makes that event itself, from the
// NodeCreated and NodeDeleted of the path's children, for its child
// watches and plain persistent watchers, and a plain watcher there ignores
// the server's own (a newer server, which keeps both modes, would
// otherwise bring it twice).
func (w *watchRegistry) dispatch(pev proto.WatcherEvent) {
	ev := Event{Type: EventType(pev.Type), Path: w.root.fromServer(pev.Path)}
	w.mu.Lock()
	defer w.mu.Unlock()
	var kinds []oneShotKind
	switch pev.Type {
	case proto.EventNodeCreated, proto.EventNodeDataChanged:
		kinds = []oneShotKind{watchKindData, watchKindExist}
	case proto.EventNodeDeleted:
		kinds = []oneShotKind{watchKindData, watchKindExist, watchKindChild}
	case proto.EventNodeChildrenChanged:
		kinds = []oneShotKind{watchKindChild}
	default:
		return
	}
	w.fireOneShotsLocked(pev.Path, ev, kinds...)
	if pev.Type == proto.EventNodeCreated || pev.Type == proto.EventNodeDeleted {
		if parent := parentPath(pev.Path); parent != "" {
			w.childrenChangedLocked(parent, w.serverRecursiveLocked(parent))
		}
	}
	childrenChanged := pev.Type == proto.EventNodeChildrenChanged
	madeHere := childrenChanged && w.serverRecursiveLocked(pev.Path)
	for _, pw := range w.persistent[pev.Path] {
		if childrenChanged && (pw.mode == WatchPersistentRecursive || madeHere) {
			continue
		}
		w.deliverLocked(pw, ev)
	}
	if childrenChanged {
		return
	}
	for p := parentPath(pev.Path); p != ""; p = parentPath(p) {
		for _, pw := range w.persistent[p] {
			if pw.mode == WatchPersistentRecursive {
				w.deliverLocked(pw, ev)
			}
		}
	}
}

// fireOneShotsLocked fires and forgets the one-shot watches of kinds on
// the server path sp.
func (w *watchRegistry) fireOneShotsLocked(sp string, ev Event, kinds ...oneShotKind) {
	for _, k := range kinds {
		key := watchKey{path: sp, kind: k}
		if chs := w.oneShot[key]; len(chs) > 0 {
			delete(w.oneShot, key)
			fire(chs, ev)
		}
	}
	w.oneShotsGoneLocked(sp)
}

// childrenChangedLocked makes a NodeChildrenChanged of the server path sp,
// one of whose children was created or deleted, for the child watches
// there: whatever brought the child's event (a recursive watcher on sp or
// above it, or a watch on the child), the change came after those watches
// were set, so it is theirs too, also while the server's watch on sp
// changes mode. With recursive set (the session's watch on sp is
// recursive on the server), the plain persistent watchers there get it as
// well (see dispatch).
func (w *watchRegistry) childrenChangedLocked(sp string, recursive bool) {
	ev := Event{Type: EventNodeChildrenChanged, Path: w.root.fromServer(sp)}
	w.fireOneShotsLocked(sp, ev, watchKindChild)
	if !recursive {
		return
	}
	for _, pw := range w.persistent[sp] {
		if pw.mode == WatchPersistent {
			w.deliverLocked(pw, ev)
		}
	}
}

// parentPath returns the parent of p, or "" for the root.
func parentPath(p string) string {
	if p == "/" || p == "" {
		return ""
	}
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/"
	}
	return p[:i]
}

func (w *watchRegistry) deliverLocked(pw *Watcher, ev Event) {
	if pw.push(ev, w.bound) {
		return
	}
	// The consumer fell too far behind: the watcher has ended. Unless
	// another watcher needs it, the server's watch goes too, from a
	// goroutine of the client's, as the reader must not wait.
	w.removeLocked(pw)
	if len(w.persistent[pw.serverPath]) == 0 {
		pw.client.releaseServerWatchLater(pw.path, pw.serverPath)
	} else if pw.mode == WatchPersistentRecursive && !w.wantsRecursiveLocked(pw.serverPath) {
		w.rearmPathLocked(pw.serverPath, 0, false, pw.client.sendRearm)
	}
}

func (w *watchRegistry) addPersistent(pw *Watcher) {
	w.mu.Lock()
	w.persistent[pw.serverPath] = append(w.persistent[pw.serverPath], pw)
	w.mu.Unlock()
}

// startOverride counts a request about to go out that takes the session's
// watch on the server path sp off the server (a removal, see
// Client.releaseServerWatch) or makes it one-shot (a read that sets a
// watch, see Client.oneShot), unless a persistent watcher watches sp: the
// request is not sent then, and startOverride reports false. Such a
// watcher brings every event a one-shot watch there fires on: a plain one
// brings them all; a recursive one brings the data events, and the
// creates and deletes of sp's children, from which the client makes the
// NodeChildrenChanged that child watches wait for (see dispatch).
// ZooKeeper up to 3.8 keeps a recursive watch in its child table too, in
// one mode per session and path, where it swallows NodeChildrenChanged: a
// child watch set on the server beside it would never fire.
//
// The check and the count go together, so an addWatch answered before
// either finds the watcher holding the path, and one answered after finds
// the request counted. While a persistent watcher holds sp nothing more
// is counted, so an AddWatch waiting for the requests out
// (addPersistentRearm) waits only for those.
func (w *watchRegistry) startOverride(sp string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.persistent[sp]) > 0 {
		return false
	}
	w.startOverrideLocked(sp)
	return true
}

func (w *watchRegistry) startOverrideLocked(sp string) {
	r := w.overrides[sp]
	if r == nil {
		r = &overrideRun{}
		w.overrides[sp] = r
	}
	r.n++
}

// overrideEnder returns endOverride for sp as a function that acts once,
// for a request whose reply hook and caller may both end it.
func (w *watchRegistry) overrideEnder(sp string) func() {
	return sync.OnceFunc(func() { w.endOverride(sp) })
}

// endOverride ends what startOverride counted: the request's reply, and
// what its hook set again, is in, or the request failed.
func (w *watchRegistry) endOverride(sp string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endOverrideLocked(sp)
}

func (w *watchRegistry) endOverrideLocked(sp string) {
	if r := w.overrides[sp]; r != nil {
		if r.n--; r.n <= 0 {
			if r.done != nil {
				close(r.done)
			}
			delete(w.overrides, sp)
		}
	}
}

// addPersistentRearm registers pw, whose addWatch, sent in mode sent,
// was answered at zxid. The server's watch on the path is now in that
// mode. When the client's watchers there need the other one, because
// watchers came or went while the request was out, the path is set again
// in the mode they need, and addPersistentRearm reports true:
//   - a plain addWatch beside a recursive watcher that registered
//     meanwhile has just made that one plain;
//   - a recursive addWatch, sent for a plain watcher beside a recursive
//     one (see AddWatch), leaves the path recursive once that recursive
//     watcher is gone, and a recursive watch brings no
//     NodeChildrenChanged. The removal that went with the recursive
//     watcher may have reached the server before this addWatch, so
//     nothing else would set it right until the next reconnect.
//
// A recursive watcher whose addWatch is still out counts as one that is
// there: its request, applied later, sets the path's mode.
//
// A removal of the path's watches, or a read setting a one-shot watch
// there, still out (see startOverride) went out after the addWatch, and
// takes pw's watch off the server or makes it one-shot; its hook sets it
// again when its reply comes. overridden, if not nil, closes then.
func (w *watchRegistry) addPersistentRearm(pw *Watcher, sent AddWatchMode, zxid int64, send sendFunc) (rearmed bool, overridden <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.notComingLocked(pw)
	w.persistent[pw.serverPath] = append(w.persistent[pw.serverPath], pw)
	w.setServerRecursiveLocked(pw.serverPath, sent == WatchPersistentRecursive, zxid, send)
	// pw brings the events of the path's one-shot watches from now on,
	// and its release sets them on the server again.
	delete(w.servedFromAbove, pw.serverPath)
	if r := w.overrides[pw.serverPath]; r != nil {
		if r.done == nil {
			r.done = make(chan struct{})
		}
		overridden = r.done
	}
	need := WatchPersistent
	if w.wantsRecursiveLocked(pw.serverPath) {
		need = WatchPersistentRecursive
	}
	if sent == need {
		return false, overridden
	}
	return w.rearmPathLocked(pw.serverPath, zxid, false, send), overridden
}

// rearmPlainPath sets the persistent watchers on sp again when they are
// all plain, after the last recursive one there went; it reports whether
// it sent anything.
func (w *watchRegistry) rearmPlainPath(sp string, send sendFunc) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.persistent[sp]) == 0 || w.wantsRecursiveLocked(sp) {
		return false
	}
	return w.rearmPathLocked(sp, 0, false, send)
}

// wantsRecursive reports whether the server's watch on the server path sp
// is to be recursive: a recursive watcher watches sp itself, or one's
// addWatch is out.
func (w *watchRegistry) wantsRecursive(sp string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wantsRecursiveLocked(sp)
}

func (w *watchRegistry) wantsRecursiveLocked(sp string) bool {
	return w.coming[sp] > 0 || w.recursiveOnLocked(sp)
}

// comingRecursive counts pw, a recursive watcher whose addWatch is about
// to go out, until it registers (addPersistentRearm) or its call fails
// (notComing).
func (w *watchRegistry) comingRecursive(pw *Watcher) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pw.coming = true
	w.coming[pw.serverPath]++
}

// notComing stops counting pw as coming; it reports whether it was.
func (w *watchRegistry) notComing(pw *Watcher) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.notComingLocked(pw)
}

func (w *watchRegistry) notComingLocked(pw *Watcher) bool {
	if !pw.coming {
		return false
	}
	pw.coming = false
	if w.coming[pw.serverPath]--; w.coming[pw.serverPath] <= 0 {
		delete(w.coming, pw.serverPath)
	}
	return true
}

// forget removes pw and reports whether the client held it: false once
// it overflowed, its session ended or RemoveWatches removed it.
func (w *watchRegistry) forget(pw *Watcher) (held bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.removeLocked(pw)
}

// recursiveOnLocked reports whether a recursive watcher watches the server
// path sp itself.
func (w *watchRegistry) recursiveOnLocked(sp string) bool {
	for _, pw := range w.persistent[sp] {
		if pw.mode == WatchPersistentRecursive {
			return true
		}
	}
	return false
}

// addOneShotReplied registers ch as a one-shot watch under key once the
// reply to its read is in, at zxid. onServer says whether the read asked
// the server for the watch (see Client.oneShot). If it did not, and no
// persistent watcher brings the watch's events any more, the watch is set
// on the server now, unless a recursive watch above its path brings them
// (see watch_served_above.go). If it did, the persistent watchers on the
// path, which the server has just made one-shot, are set again; it then
// reports true.
// Frames go out through send while the registry is locked, so they keep
// their order with any removal.
func (w *watchRegistry) addOneShotReplied(key watchKey, ch chan Event, onServer bool, zxid int64, send sendFunc) (rearmedPersistent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.oneShot[key] = append(w.oneShot[key], ch)
	switch {
	case !onServer && len(w.persistent[key.path]) == 0:
		w.rearmPathLocked(key.path, zxid, true, send)
	case onServer:
		return w.oneShotsSetLocked(key.path, key.kind != watchKindChild, zxid, send)
	}
	return false
}

// oneShotsSetLocked follows the server setting one-shot watches on sp, at
// zxid (a watched read, or setWatches frames): they took the place of the
// session's persistent watch there. With a data or exist watch among them
// (data), the path's data watch is one-shot now; its child watch, if
// recursive, still brings the children's deletes, and no
// NodeChildrenChanged, but not their creates: no mode fits, so the path
// counts as not recursive until the frames sent here are applied. Those
// set the persistent watchers on sp again; it reports whether there were
// any.
func (w *watchRegistry) oneShotsSetLocked(sp string, data bool, zxid int64, send sendFunc) bool {
	if data {
		w.setServerRecursiveLocked(sp, false, zxid, send)
	}
	return w.rearmPathLocked(sp, zxid, false, send)
}

// removeLocked drops pw from its path's list. It never writes into the
// list it replaces, so a range over that list (dispatch delivering to it)
// can go on.
func (w *watchRegistry) removeLocked(pw *Watcher) (held bool) {
	list := w.persistent[pw.serverPath]
	for i, other := range list {
		if other == pw {
			list = append(list[:i:i], list[i+1:]...)
			held = true
			break
		}
	}
	if len(list) == 0 {
		delete(w.persistent, pw.serverPath)
	} else {
		w.persistent[pw.serverPath] = list
	}
	return held
}

// removeLocal ends the client's watches that a successful removeWatches,
// answered at zxid, took off the server.
func (w *watchRegistry) removeLocal(serverPath string, t WatcherType, zxid int64, send sendFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.setServerRecursiveLocked(serverPath, false, zxid, send)
	w.removeLocalLocked(serverPath, t)
}

// removeOneShotsIfHeld removes the one-shot watches of type t (not
// WatchAny) on the server path sp, as a removal's reply does, when a
// persistent watcher holds sp, and reports whether it did. Otherwise it
// counts the removal about to go out (startOverride).
func (w *watchRegistry) removeOneShotsIfHeld(sp string, t WatcherType) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.persistent[sp]) == 0 {
		w.startOverrideLocked(sp)
		return false
	}
	w.removeLocalLocked(sp, t)
	return true
}

// oneShotKindsOf returns the kinds of one-shot watch a watcher type
// covers.
func oneShotKindsOf(t WatcherType) []oneShotKind {
	switch t {
	case WatchData:
		return []oneShotKind{watchKindData, watchKindExist}
	case WatchChildren:
		return []oneShotKind{watchKindChild}
	default:
		return []oneShotKind{watchKindData, watchKindExist, watchKindChild}
	}
}

func (w *watchRegistry) removeLocalLocked(serverPath string, t WatcherType) {
	ev := w.removeOneShotsLocked(serverPath, t)
	if t == WatchAny {
		for _, pw := range w.persistent[serverPath] {
			pw.end(ev)
		}
		delete(w.persistent, serverPath)
	}
}

// removeOneShotsLocked ends the one-shot watches of type t on serverPath
// with ErrWatchRemoved, and returns the event it sent them.
func (w *watchRegistry) removeOneShotsLocked(serverPath string, t WatcherType) Event {
	ev := Event{Type: EventNotWatching, Path: w.root.fromServer(serverPath), Err: ErrWatchRemoved}
	for _, k := range oneShotKindsOf(t) {
		key := watchKey{path: serverPath, kind: k}
		if chs := w.oneShot[key]; len(chs) > 0 {
			delete(w.oneShot, key)
			fire(chs, ev)
		}
	}
	w.oneShotsGoneLocked(serverPath)
	return ev
}

// endAll ends every watch with a NotWatching event carrying err.
func (w *watchRegistry) endAll(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, chs := range w.oneShot {
		fire(chs, Event{Type: EventNotWatching, Path: w.root.fromServer(key.path), Err: err})
	}
	w.oneShot = make(map[watchKey][]chan Event)
	for p, list := range w.persistent {
		for _, pw := range list {
			pw.end(Event{Type: EventNotWatching, Path: w.root.fromServer(p), Err: err})
		}
	}
	w.persistent = make(map[string][]*Watcher)
	clear(w.recursiveOnServer)
	clear(w.servedFromAbove)
	clear(w.pendingRearm)
}
