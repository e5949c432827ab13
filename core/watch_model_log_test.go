package core_test

// The log a watch model round keeps (see watch_model_test.go): what the
// writer changed, what the watching client asked for and got, and when.
// Times are offsets from the round's start; forever stands for a time that
// never came.

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/zkit-go/zkit/core"
)

const forever = time.Duration(math.MaxInt64)

// modelChange is one write of the writer, whose writes go one at a time,
// so their order is their zxid order.
type modelChange struct {
	kind       core.EventType // NodeCreated, NodeDataChanged or NodeDeleted
	path       string
	zxid       int64
	start, end time.Duration
}

func (c modelChange) String() string {
	return fmt.Sprintf("%v %s zxid 0x%x [%v, %v]", c.kind, c.path, c.zxid, c.start, c.end)
}

// modelWatcher is a persistent watcher and the events its consumer read.
type modelWatcher struct {
	path        string
	mode        core.AddWatchMode
	addCalled   time.Duration
	addReturned time.Duration
	w           *core.Watcher
	consumed    chan struct{} // closed when Events is closed

	mu          sync.Mutex
	closeCalled time.Duration
	events      []core.Event
}

// consume reads the watcher's events until its channel closes.
func (mw *modelWatcher) consume() {
	defer close(mw.consumed)
	for ev := range mw.w.Events() {
		mw.mu.Lock()
		mw.events = append(mw.events, ev)
		mw.mu.Unlock()
	}
}

func (mw *modelWatcher) close(at time.Duration) {
	mw.mu.Lock()
	if mw.closeCalled == forever {
		mw.closeCalled = at
	}
	mw.mu.Unlock()
	_ = mw.w.Close()
}

func (mw *modelWatcher) snapshot() (closeCalled time.Duration, events []core.Event) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	return mw.closeCalled, append([]core.Event(nil), mw.events...)
}

func (mw *modelWatcher) String() string {
	mode := "plain"
	if mw.mode == core.WatchPersistentRecursive {
		mode = "recursive"
	}
	closeCalled, _ := mw.snapshot()
	return fmt.Sprintf("%s watcher on %s, added [%v, %v], closed at %v", mode, mw.path, mw.addCalled, mw.addReturned, closeCalled)
}

// oneShotOp names the read that set a one-shot watch.
type oneShotOp int

const (
	getW oneShotOp = iota
	existsW
	childrenW
)

// modelOneShot is a one-shot watch that a read set.
type modelOneShot struct {
	op   oneShotOp
	path string
	// missing: an ExistsW that found no node, whose watch waits for its
	// creation.
	missing bool
	// after is the zxid the read saw the watched state at (its stat's
	// modification zxid, or for children the later of the node's creation
	// and its last change of children); 0 for a missing node.
	after              int64
	readStart, readEnd time.Duration
	ch                 <-chan core.Event
}

func (o *modelOneShot) String() string {
	name := [...]string{"GetW", "ExistsW", "GetChildrenW"}[o.op]
	return fmt.Sprintf("%s %s (missing %v, after 0x%x) read [%v, %v]", name, o.path, o.missing, o.after, o.readStart, o.readEnd)
}

// modelRemoval is a RemoveWatches call; end is forever when the call gave
// up with its request perhaps still out.
type modelRemoval struct {
	path       string
	typ        core.WatcherType
	start, end time.Duration
}

// modelSpan is a time span: a CatchUp of the watching client that
// succeeded (a barrier: every change finished before it started has
// reached the client by its end), or a span in which the watching client
// was disconnected (persistent watches miss what changes then).
type modelSpan struct{ start, end time.Duration }

// modelLog is everything one round records.
type modelLog struct {
	began time.Time
	// lagging: the watching client may be served by a server that lags
	// behind the writer's, as in an ensemble (see visibleBefore).
	lagging bool

	mu       sync.Mutex
	changes  []modelChange
	watchers []*modelWatcher
	oneShots []*modelOneShot
	removals []modelRemoval
	barriers []modelSpan
	offline  []modelSpan // the last may still be open (end forever)
	timeline []modelNote
}

// modelNote is one call of the watching client, for a failure's report.
type modelNote struct {
	start, end time.Duration
	path       string
	what       string
}

func newModelLog(lagging bool) *modelLog { return &modelLog{began: time.Now(), lagging: lagging} }

func (l *modelLog) now() time.Duration { return time.Since(l.began) }

func (l *modelLog) addChange(c modelChange) {
	l.mu.Lock()
	l.changes = append(l.changes, c)
	l.mu.Unlock()
}

func (l *modelLog) addWatcher(mw *modelWatcher) {
	l.mu.Lock()
	l.watchers = append(l.watchers, mw)
	l.mu.Unlock()
}

func (l *modelLog) addOneShot(o *modelOneShot) {
	l.mu.Lock()
	l.oneShots = append(l.oneShots, o)
	l.mu.Unlock()
}

func (l *modelLog) addRemoval(r modelRemoval) {
	l.mu.Lock()
	l.removals = append(l.removals, r)
	l.mu.Unlock()
}

// note records a call of the watching client on path.
func (l *modelLog) note(start time.Duration, path, format string, args ...any) {
	n := modelNote{start: start, end: l.now(), path: path, what: fmt.Sprintf(format, args...)}
	l.mu.Lock()
	l.timeline = append(l.timeline, n)
	l.mu.Unlock()
}

func (l *modelLog) addBarrier(s modelSpan) {
	l.mu.Lock()
	l.barriers = append(l.barriers, s)
	l.mu.Unlock()
}

// snapshot copies the lists, so a check can run while the round goes on.
func (l *modelLog) snapshot() modelSnapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return modelSnapshot{
		lagging:  l.lagging,
		changes:  append([]modelChange(nil), l.changes...),
		watchers: append([]*modelWatcher(nil), l.watchers...),
		oneShots: append([]*modelOneShot(nil), l.oneShots...),
		removals: append([]modelRemoval(nil), l.removals...),
		barriers: append([]modelSpan(nil), l.barriers...),
		offline:  append([]modelSpan(nil), l.offline...),
		timeline: append([]modelNote(nil), l.timeline...),
	}
}

type modelSnapshot struct {
	lagging  bool
	changes  []modelChange
	watchers []*modelWatcher
	oneShots []*modelOneShot
	removals []modelRemoval
	barriers []modelSpan
	offline  []modelSpan
	timeline []modelNote
}
