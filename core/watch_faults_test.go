package core_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// TestWatchesUnderFaults: a client behind a proxy that keeps injecting
// faults watches nodes that another client keeps changing. A one-shot data
// watch, set again after each event, never fires without a change (the
// next read always shows a newer version); a data watch and an exists
// watch on nodes nobody touches stay quiet through every reconnect; and
// once the faults stop every kind of watch still works: each of those, a
// persistent watch and a recursive one see the next change. The session
// timeout is long enough for the session to outlive the faults: watches
// that end with an expired session are another test's business.
func TestWatchesUnderFaults(t *testing.T) {
	p := startProxiedB(t, 12*time.Second)
	proxy, c, writer := p.proxy, p.c, p.direct(t)
	ctx := ctxB(t, waitB)
	for _, p := range []string{"/a", "/p", "/r", "/q"} {
		_, err := writer.Create(ctx, p, nil)
		require.NoError(t, err)
	}
	// Watches on nodes nobody touches until the faults are over.
	_, _, quiet, err := c.GetW(ctx, "/q")
	require.NoError(t, err)
	_, missing, err := c.ExistsW(ctx, "/missing")
	require.NoError(t, err)
	persistent, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	recursive, err := c.AddWatch(ctx, "/r", core.WatchPersistentRecursive)
	require.NoError(t, err)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Runs before the clients close, also when the test fails early.
	t.Cleanup(sync.OnceFunc(func() { close(stop); wg.Wait() }))
	var seen atomic.Int32 // the newest version of /a the one-shot loop read
	seen.Store(-1)
	wg.Go(func() { oneShotLoop(t, c, stop, &seen) })
	var pEvents, rEvents eventTally
	wg.Go(func() { pEvents.count(stop, persistent.Events()) })
	wg.Go(func() { rEvents.count(stop, recursive.Events()) })

	writing := make(chan struct{})
	var writes sync.WaitGroup
	writes.Go(func() { keepWriting(t, writer, writing) })
	injectFaults(proxy)
	close(writing)
	writes.Wait()

	// The faults are over. Once the client is connected again and a reply
	// shows that the server has applied the watches it set again (they go
	// before any request), the watches on the untouched nodes are quiet...
	waitStateB(t, c, core.StateConnected)
	require.NoError(t, c.Sync(ctx, "/q"))
	requireNoEventB(t, quiet)
	requireNoEventB(t, missing)
	// ...and every watch sees the next change.
	_, err = writer.Set(ctx, "/q", []byte("last"), -1)
	require.NoError(t, err)
	wantEventB(t, quiet, core.EventNodeDataChanged, "/q")
	_, err = writer.Create(ctx, "/missing", nil)
	require.NoError(t, err)
	wantEventB(t, missing, core.EventNodeCreated, "/missing")
	st, err := writer.Set(ctx, "/a", []byte("last"), -1)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return seen.Load() >= st.Version }, waitB, tickB,
		"the one-shot watch loop never saw version %d of /a (it read %d)", st.Version, seen.Load())
	before := pEvents.of(core.EventNodeDataChanged, "/p")
	_, err = writer.Set(ctx, "/p", []byte("last"), -1)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return pEvents.of(core.EventNodeDataChanged, "/p") > before }, waitB, tickB,
		"the persistent watch missed the change after the faults")
	_, err = writer.Create(ctx, "/r/last", nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return rEvents.of(core.EventNodeCreated, "/r/last") > 0 }, waitB, tickB,
		"the recursive watch missed the create after the faults")
	t.Logf("one-shot loop read up to version %d; persistent watch: %d events; recursive: %d",
		seen.Load(), pEvents.total(), rEvents.total())
}

// oneShotLoop reads /a with a data watch, waits for its event and reads
// again, until stop. After a NodeDataChanged event the next read must show
// a newer version than the read that set the watch.
func oneShotLoop(t *testing.T, c *core.Client, stop <-chan struct{}, seen *atomic.Int32) {
	changed := false
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, st, ch, err := c.GetW(ctx, "/a")
		cancel()
		if err != nil {
			if !faultError(err) {
				t.Errorf("GetW /a: %v", err)
				return
			}
			select {
			case <-stop:
				return
			default:
				continue
			}
		}
		if changed && st.Version <= seen.Load() {
			t.Errorf("a NodeDataChanged event for /a, but the next read shows version %d, not above %d", st.Version, seen.Load())
		}
		seen.Store(st.Version)
		select {
		case ev := <-ch:
			switch ev.Type {
			case core.EventNodeDataChanged:
				changed = true
			case core.EventNotWatching: // the session ended: set it again
				changed = false
			default:
				t.Errorf("data watch on /a: unexpected %v", ev)
				return
			}
		case <-stop:
			return
		}
	}
}

// keepWriting changes /p every 5 ms and /a every 200 ms, and creates and
// deletes children of /r, until done.
func keepWriting(t *testing.T, w *core.Client, done <-chan struct{}) {
	ctx := t.Context()
	for n := 0; ; n++ {
		select {
		case <-done:
			return
		case <-time.After(5 * time.Millisecond):
		}
		data := []byte(fmt.Sprint(n))
		// /a changes seldom, so that the watcher often reconnects with no
		// change since its read: a watch set again then must stay quiet.
		if n%40 == 0 {
			if _, err := w.Set(ctx, "/a", data, -1); err != nil {
				t.Error(err)
				return
			}
		}
		if _, err := w.Set(ctx, "/p", data, -1); err != nil {
			t.Error(err)
			return
		}
		child := fmt.Sprintf("/r/c%d", n%4)
		var err error
		if n%8 < 4 {
			_, err = w.Create(ctx, child, data)
		} else {
			err = w.Delete(ctx, child, core.Force())
		}
		if err != nil {
			t.Error(err)
			return
		}
	}
}

// eventTally counts a watcher's events by type and path.
type eventTally struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *eventTally) count(stop <-chan struct{}, events <-chan core.Event) {
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			e.mu.Lock()
			if e.n == nil {
				e.n = map[string]int{}
			}
			e.n[ev.Type.String()+" "+ev.Path]++
			e.mu.Unlock()
		case <-stop:
			return
		}
	}
}

func (e *eventTally) of(typ core.EventType, path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[typ.String()+" "+path]
}

func (e *eventTally) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, v := range e.n {
		n += v
	}
	return n
}
