package core_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// drainC receives every event of ch until it closes.
func drainC(t *testing.T, ch <-chan core.Event) []core.Event {
	t.Helper()
	var evs []core.Event
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-time.After(waitB):
			t.Fatalf("the channel did not close; %d events so far", len(evs))
		}
	}
}

// TestWatchClientCloseSlowConsumer: closing the client ends a persistent
// watcher whose consumer reads nothing, and whose channel is full, with a
// final NotWatching event carrying ErrClosed. The events that did not fit
// are dropped, and the final event says so.
func TestWatchClientCloseSlowConsumer(t *testing.T) {
	c, other, _ := watchPairB(t)
	ctx := ctxB(t, 2*waitB)
	_, err := c.Create(ctx, "/flood", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/flood", core.WatchPersistent)
	require.NoError(t, err)

	const changes = 100 // more than the watcher's channel holds
	for i := range changes {
		_, err := other.SetData(ctx, "/flood", []byte(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	// A later reply comes after every event above.
	_, err = c.GetData(ctx, "/flood")
	require.NoError(t, err)

	require.NoError(t, c.Close())
	evs := drainC(t, w.Events())
	require.NotEmpty(t, evs)
	final := evs[len(evs)-1]
	require.Equal(t, core.EventNotWatching, final.Type, "the last event: %+v", final)
	require.Equal(t, "/flood", final.Path)
	require.ErrorIs(t, final.Err, core.ErrClosed)
	for i, ev := range evs[:len(evs)-1] {
		require.Equal(t, core.Event{Type: core.EventNodeDataChanged, Path: "/flood"}, ev, "event %d", i)
	}
	if kept := len(evs) - 1; kept < changes {
		require.ErrorIs(t, final.Err, core.ErrWatcherOverflow, "%d of %d events dropped", changes-kept, changes)
		require.Contains(t, final.Err.Error(), fmt.Sprintf("%d events dropped", changes-kept))
	}
}

// TestWatchCloseWhileDisconnected: Watcher.Close while the client cannot
// reach a server returns nil at once, without waiting for a connection;
// after the reconnect the server holds no watch on the path.
func TestWatchCloseWhileDisconnected(t *testing.T) {
	p := startProxiedB(t, 20*time.Second)
	srv, proxy, root, c := p.srv, p.proxy, p.root, p.c
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/p", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	sess := c.Session()
	states := listenB(t, c)

	proxy.Refuse(true)
	proxy.CutAll()
	waitCountB(t, states, core.StateSuspended, 1)
	require.NoError(t, w.Close())
	requireClosedB(t, w.Events())

	proxy.Refuse(false)
	waitCountB(t, states, core.StateConnected, 1)
	require.Equal(t, sess.ID(), c.Session().ID(), "the session survived")
	require.ErrorIs(t, c.CheckWatches(ctx, "/p", core.WatchAny), core.ErrNoWatcher)
	held, err := srv.Watches(ctx)
	require.NoError(t, err)
	require.Zero(t, countB(held[sess.ID()], root+"/p"), "watches: %v", held)
}

// TestWatchCloseOnStalledConnection: Watcher.Close on a live connection
// that has stalled (a black hole) returns while the connection still
// counts as live, its read timeout (two thirds of a 30 s session) not yet
// run out, for plain and recursive watchers alike. It used to wait for the
// removal's reply until that timeout declared the connection lost.
func TestWatchCloseOnStalledConnection(t *testing.T) {
	for name, mode := range map[string]core.AddWatchMode{"Persistent": core.WatchPersistent, "Recursive": core.WatchPersistentRecursive} {
		t.Run(name, func(t *testing.T) {
			p := startProxiedB(t, 30*time.Second)
			ctx := ctxB(t, waitB)
			_, err := p.c.Create(ctx, "/a", nil)
			require.NoError(t, err)
			if mode == core.WatchPersistentRecursive {
				// A plain watcher beside it, which Close sets again.
				plain, err := p.c.AddWatch(ctx, "/a", core.WatchPersistent)
				require.NoError(t, err)
				defer plain.Close()
			}
			w, err := p.c.AddWatch(ctx, "/a", mode)
			require.NoError(t, err)
			states := listenB(t, p.c)

			p.proxy.BlackHole(true)
			require.NoError(t, w.Close())
			require.False(t, core.LiveConnFailed(p.c), "Close returned only once the connection was lost")
			require.Zero(t, states.count(core.StateSuspended), "states: %v", states.snapshot())
			requireClosedB(t, w.Events())
			p.proxy.BlackHole(false)
		})
	}
}

// TestWatchCloseLeavesNoServerWatch: closing a persistent watcher whose
// path also has one-shot watches takes the persistent watch off the
// server, and the one-shot watches still fire; then the server holds
// nothing on the path.
func TestWatchCloseLeavesNoServerWatch(t *testing.T) {
	c, other, _ := watchPairB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/k", nil)
	require.NoError(t, err)
	_, _, data, err := c.GetW(ctx, "/k")
	require.NoError(t, err)
	_, _, kids, err := c.GetChildrenW(ctx, "/k")
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/k", core.WatchPersistent)
	require.NoError(t, err)
	require.NoError(t, w.Close())

	_, err = other.SetData(ctx, "/k", []byte("x"))
	require.NoError(t, err)
	wantEventB(t, data, core.EventNodeDataChanged, "/k")
	_, err = other.Create(ctx, "/k/c", nil)
	require.NoError(t, err)
	wantEventB(t, kids, core.EventNodeChildrenChanged, "/k")
	require.ErrorIs(t, c.CheckWatches(ctx, "/k", core.WatchAny), core.ErrNoWatcher)
}

// TestWatchOverflowLeavesNoServerWatch: a persistent watcher that
// overflows takes its watch off the server too.
func TestWatchOverflowLeavesNoServerWatch(t *testing.T) {
	c, other, _ := watchPairB(t, core.WithWatcherBuffer(10))
	ctx := ctxB(t, 2*waitB)
	_, err := c.Create(ctx, "/o", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/o", core.WatchPersistent)
	require.NoError(t, err)
	for i := range 200 {
		_, err := other.SetData(ctx, "/o", []byte(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	evs := drainC(t, w.Events())
	final := evs[len(evs)-1]
	require.Equal(t, core.EventNotWatching, final.Type, "the last event: %+v", final)
	require.ErrorIs(t, final.Err, core.ErrWatcherOverflow)

	require.Eventually(t, func() bool {
		err := c.CheckWatches(ctx, "/o", core.WatchAny)
		return err != nil
	}, waitB, tickB, "the server still holds the overflowed watcher's watch")
	require.ErrorIs(t, c.CheckWatches(ctx, "/o", core.WatchAny), core.ErrNoWatcher)
	require.NoError(t, w.Close())
}
