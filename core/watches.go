package core

import (
	"strings"
	"sync"

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

	mu         sync.Mutex
	oneShot    map[watchKey][]chan Event
	persistent map[string][]*Watcher // by server path, both modes
}

func newWatchRegistry(root chroot, bound int, wg *sync.WaitGroup) *watchRegistry {
	return &watchRegistry{
		root:       root,
		bound:      bound,
		wg:         wg,
		oneShot:    make(map[watchKey][]chan Event),
		persistent: make(map[string][]*Watcher),
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
	for _, k := range kinds {
		key := watchKey{path: pev.Path, kind: k}
		if chs := w.oneShot[key]; len(chs) > 0 {
			delete(w.oneShot, key)
			fire(chs, ev)
		}
	}
	for _, pw := range w.persistent[pev.Path] {
		if pw.mode == WatchPersistentRecursive && pev.Type == proto.EventNodeChildrenChanged {
			continue
		}
		w.deliverLocked(pw, ev)
	}
	if pev.Type == proto.EventNodeChildrenChanged {
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
	// The consumer fell too far behind: the watcher has ended.
	w.removeLocked(pw)
}

func (w *watchRegistry) addPersistent(pw *Watcher) {
	w.mu.Lock()
	w.persistent[pw.serverPath] = append(w.persistent[pw.serverPath], pw)
	w.mu.Unlock()
}

// removePersistent forgets pw and reports whether the client still holds
// any other watch on its path, one-shot or persistent, of either mode.
func (w *watchRegistry) removePersistent(pw *Watcher) (others bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.removeLocked(pw)
	sp := pw.serverPath
	return len(w.persistent[sp]) > 0 ||
		len(w.oneShot[watchKey{sp, watchKindData}]) > 0 ||
		len(w.oneShot[watchKey{sp, watchKindExist}]) > 0 ||
		len(w.oneShot[watchKey{sp, watchKindChild}]) > 0
}

func (w *watchRegistry) removeLocked(pw *Watcher) {
	list := w.persistent[pw.serverPath]
	for i, other := range list {
		if other == pw {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.persistent, pw.serverPath)
	} else {
		w.persistent[pw.serverPath] = list
	}
}

// removeLocal ends the client's watches that a successful removeWatches
// took off the server.
func (w *watchRegistry) removeLocal(serverPath string, t WatcherType) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var kinds []oneShotKind
	switch t {
	case WatchData:
		kinds = []oneShotKind{watchKindData, watchKindExist}
	case WatchChildren:
		kinds = []oneShotKind{watchKindChild}
	default:
		kinds = []oneShotKind{watchKindData, watchKindExist, watchKindChild}
	}
	ev := Event{Type: EventNotWatching, Path: w.root.fromServer(serverPath), Err: ErrWatchRemoved}
	for _, k := range kinds {
		key := watchKey{path: serverPath, kind: k}
		if chs := w.oneShot[key]; len(chs) > 0 {
			delete(w.oneShot, key)
			fire(chs, ev)
		}
	}
	if t == WatchAny {
		for _, pw := range w.persistent[serverPath] {
			pw.end(ev)
		}
		delete(w.persistent, serverPath)
	}
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
}

// setWatchesLimit keeps each setWatches frame well under the server's
// jute.maxbuffer (1 MiB by default).
const setWatchesLimit = 128 * 1024

// rearmRequests builds the setWatches frames that register every watch
// again after a reconnect, relative to lastZxid.
func (w *watchRegistry) rearmRequests(lastZxid int64) []proto.Request {
	w.mu.Lock()
	var data, exist, child, pers, rec []string
	for key := range w.oneShot {
		switch key.kind {
		case watchKindData:
			data = append(data, key.path)
		case watchKindExist:
			exist = append(exist, key.path)
		case watchKindChild:
			child = append(child, key.path)
		}
	}
	for p, list := range w.persistent {
		var hasP, hasR bool
		for _, pw := range list {
			if pw.mode == WatchPersistentRecursive {
				hasR = true
			} else {
				hasP = true
			}
		}
		if hasP {
			pers = append(pers, p)
		}
		if hasR {
			rec = append(rec, p)
		}
	}
	w.mu.Unlock()
	return splitSetWatches(lastZxid, data, exist, child, pers, rec, setWatchesLimit)
}

func splitSetWatches(zxid int64, data, exist, child, pers, rec []string, limit int) []proto.Request {
	op := proto.OpSetWatches
	if len(pers)+len(rec) > 0 {
		op = proto.OpSetWatches2
	}
	var out []proto.Request
	cur := &proto.SetWatchesRequest{Op: op, RelativeZxid: zxid}
	size := 0
	add := func(list *[]string, p string) {
		if size+len(p)+4 > limit && size > 0 {
			out = append(out, cur)
			cur = &proto.SetWatchesRequest{Op: op, RelativeZxid: zxid}
			size = 0
		}
		*list = append(*list, p)
		size += len(p) + 4
	}
	for _, p := range data {
		add(&cur.DataWatches, p)
	}
	for _, p := range exist {
		add(&cur.ExistWatches, p)
	}
	for _, p := range child {
		add(&cur.ChildWatches, p)
	}
	for _, p := range pers {
		add(&cur.PersistentWatches, p)
	}
	for _, p := range rec {
		add(&cur.PersistentRecursive, p)
	}
	if size > 0 {
		out = append(out, cur)
	}
	return out
}
