package core_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// heldPairR starts a client whose replies the test can hold back, under a
// fresh chroot of the shared server, and a second client on the same
// chroot to make changes from another session.
func heldPairR(t *testing.T) (c, other *core.Client, hold *replyHold) {
	t.Helper()
	srv := zktest.Shared(t)
	root := chrootB(t, srv.ConnString())
	hold = newReplyHold()
	c = startClientB(t, srv.Addr(), core.WithChroot(root), core.WithDialer(hold.dialer()))
	other = startClientB(t, srv.ConnString(), core.WithChroot(root))
	return c, other, hold
}

// firedBeforeR checks that ch already holds an event of type typ: the
// caller made a request after the change, and ZooKeeper sends a watch's
// event before the reply to a later request.
func firedBeforeR(t *testing.T, ch <-chan core.Event, typ core.EventType, what string) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "%s: the channel closed without an event", what)
		require.Equal(t, typ, ev.Type, "%s: event %+v", what, ev)
	default:
		t.Fatalf("%s: no event, though the server has answered a later request", what)
	}
}

// getWResult is the outcome of a GetW run in the background.
type getWResult struct {
	ch  <-chan core.Event
	err error
}

// goGetW starts a GetW of path in the background.
func goGetW(ctx context.Context, c *core.Client, path string) <-chan getWResult {
	got := make(chan getWResult, 1)
	go func() {
		_, _, ch, err := c.GetW(ctx, path)
		got <- getWResult{ch, err}
	}()
	return got
}

// awaitR receives what a background call sends, failing the test when ctx
// ends first.
func awaitR[T any](t *testing.T, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("%s did not return", what)
	}
	var zero T
	return zero
}

// TestWatchCloseSparesWatchSetBefore: a GetW on a persistent watcher's
// path that the server answers just before Close's removeWatches, but
// whose reply the client has not read when Close starts, leaves a watch
// that fires: the removal took it off the server, so the client sets it
// again.
func TestWatchCloseSparesWatchSetBefore(t *testing.T) {
	c, other, hold := heldPairR(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)

	hold.hold()
	got := goGetW(ctx, c, "/n")
	hold.waitWritten(t, proto.OpGetData, 1)
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	hold.waitWritten(t, proto.OpRemoveWatches, 1)
	hold.waitHeldReplies(t, 2)
	hold.release()

	get := awaitR(t, ctx, got, "GetW")
	require.NoError(t, get.err)
	require.NoError(t, awaitR(t, ctx, closed, "Close"))
	requireClosedB(t, w.Events())

	_, err = other.SetData(ctx, "/n", []byte("changed"))
	require.NoError(t, err)
	_, err = c.GetData(ctx, "/n")
	require.NoError(t, err)
	firedBeforeR(t, get.ch, core.EventNodeDataChanged, "the GetW watch")
	require.ErrorIs(t, c.CheckWatches(ctx, "/n", core.WatchAny), core.ErrNoWatcher,
		"the one-shot watch fired and the persistent one is gone")
}

// TestWatchRemoveSparesWatchSetAfter: RemoveWatches ends only the watches
// the server removed. A GetW sent after it, whose reply the client reads
// right after the removal's, keeps its watch, and it fires.
func TestWatchRemoveSparesWatchSetAfter(t *testing.T) {
	c, other, hold := heldPairR(t)
	ctx := ctxB(t, 2*waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)

	// Whether the caller of RemoveWatches or the reader comes first after
	// the two replies is up to the scheduler; a few rounds give a client
	// that removes its watches on the caller's side many chances to fail.
	const rounds = 10
	for i := range rounds {
		_, _, removed, err := c.GetW(ctx, "/n")
		require.NoError(t, err)

		hold.hold()
		removeErr := make(chan error, 1)
		go func() { removeErr <- c.RemoveWatches(ctx, "/n", core.WatchData) }()
		hold.waitWritten(t, proto.OpRemoveWatches, i+1)
		got := goGetW(ctx, c, "/n")
		hold.waitWritten(t, proto.OpGetData, 2*(i+1))
		hold.waitHeldReplies(t, 2)
		hold.release()

		get := awaitR(t, ctx, got, "GetW")
		require.NoError(t, get.err)
		require.NoError(t, awaitR(t, ctx, removeErr, "RemoveWatches"))
		wantNotWatchingB(t, removed, core.ErrWatchRemoved)
		requireNoEventB(t, get.ch)

		_, err = other.SetData(ctx, "/n", []byte{byte(i)})
		require.NoError(t, err)
		_, err = c.GetData(ctx, "/n")
		require.NoError(t, err)
		firedBeforeR(t, get.ch, core.EventNodeDataChanged, "the watch set after the removal")
	}
}

// TestWatchRemoveCallerGivesUp: a RemoveWatches whose caller gives up
// while the request is on its way still ends the client's watches when
// the server removes them: none is left that can never fire.
func TestWatchRemoveCallerGivesUp(t *testing.T) {
	c, _, hold := heldPairR(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	_, _, data, err := c.GetW(ctx, "/n")
	require.NoError(t, err)

	hold.hold()
	callCtx, cancel := context.WithCancel(ctx)
	removeErr := make(chan error, 1)
	go func() { removeErr <- c.RemoveWatches(callCtx, "/n", core.WatchData) }()
	hold.waitWritten(t, proto.OpRemoveWatches, 1)
	cancel()
	require.ErrorIs(t, awaitR(t, ctx, removeErr, "RemoveWatches, its caller having given up,"), context.Canceled)
	hold.waitHeldReplies(t, 1)
	hold.release()

	_, err = c.GetData(ctx, "/n")
	require.NoError(t, err)
	select {
	case ev := <-data:
		require.Equal(t, core.EventNotWatching, ev.Type, "event %+v", ev)
		require.ErrorIs(t, ev.Err, core.ErrWatchRemoved)
	default:
		t.Fatal("the server removed the watch, but the client still waits on it")
	}
	requireClosedB(t, data)
}

// TestWatchRemoveDataKeepsPersistent: RemoveWatches of data or child
// watches on the path of a persistent watcher ends the one-shot watches
// there and leaves the persistent watcher seeing every change. The server
// keeps a persistent watch in its data and child tables alike, so a
// removal sent there would take it off until the client set it again,
// and the changes made in that round trip would be lost; the server's
// watch on the path is the persistent one alone, so nothing is sent.
func TestWatchRemoveDataKeepsPersistent(t *testing.T) {
	spy := newWireSpy()
	c, other, _ := watchPairB(t, core.WithDialer(spy.dialer()))
	ctx := ctxB(t, waitB)
	for _, tc := range []struct {
		path string
		mode core.AddWatchMode
		typ  core.WatcherType
	}{
		{"/persistent", core.WatchPersistent, core.WatchData},
		{"/recursive", core.WatchPersistentRecursive, core.WatchData},
		{"/children", core.WatchPersistent, core.WatchChildren},
	} {
		_, err := c.Create(ctx, tc.path, nil)
		require.NoError(t, err)
		w, err := c.AddWatch(ctx, tc.path, tc.mode)
		require.NoError(t, err)
		_, _, data, err := c.GetW(ctx, tc.path)
		require.NoError(t, err)
		_, _, kids, err := c.GetChildrenW(ctx, tc.path)
		require.NoError(t, err)

		before := len(spy.requests(proto.OpRemoveWatches))
		require.NoError(t, c.RemoveWatches(ctx, tc.path, tc.typ))
		removed, kept := data, kids
		if tc.typ == core.WatchChildren {
			removed, kept = kids, data
		}
		wantNotWatchingB(t, removed, core.ErrWatchRemoved)
		assert.Len(t, spy.requests(proto.OpRemoveWatches), before, "%s: the removal stays in the client", tc.path)
		_, err = other.SetData(ctx, tc.path, []byte("x"))
		require.NoError(t, err)
		_, err = other.Create(ctx, tc.path+"/kid", nil)
		require.NoError(t, err)
		_, err = c.GetData(ctx, tc.path)
		require.NoError(t, err)
		firedBeforeR(t, w.Events(), core.EventNodeDataChanged, tc.path)
		if tc.typ == core.WatchChildren {
			firedBeforeR(t, kept, core.EventNodeDataChanged, tc.path)
		} else {
			firedBeforeR(t, kept, core.EventNodeChildrenChanged, tc.path)
		}
		require.NoError(t, w.Close())
	}
}

// TestWatchOneShotKeepsPersistent: a one-shot watch set on the path of a
// persistent watcher leaves the persistent watcher seeing every change.
// ZooKeeper 3.8 keeps one watch mode per session and path, so a one-shot
// watch set on the server would turn the persistent watch one-shot; the
// client fires the one-shot watch from the persistent watcher's events.
func TestWatchOneShotKeepsPersistent(t *testing.T) {
	c, other, _ := watchPairB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/p", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	defer w.Close()
	arms := []struct {
		name string
		arm  func() (<-chan core.Event, error)
		typ  core.EventType
		do   func(i int) error
	}{
		{"GetW", func() (<-chan core.Event, error) { _, _, ch, err := c.GetW(ctx, "/p"); return ch, err },
			core.EventNodeDataChanged, func(i int) error { _, err := other.SetData(ctx, "/p", []byte{byte(i)}); return err }},
		{"ExistsW", func() (<-chan core.Event, error) { _, ch, err := c.ExistsW(ctx, "/p"); return ch, err },
			core.EventNodeDataChanged, func(i int) error { _, err := other.SetData(ctx, "/p", []byte{byte(i)}); return err }},
		{"GetChildrenW", func() (<-chan core.Event, error) { _, _, ch, err := c.GetChildrenW(ctx, "/p"); return ch, err },
			core.EventNodeChildrenChanged, func(i int) error { _, err := other.Create(ctx, fmt.Sprintf("/p/c%d", i), nil); return err }},
	}
	for _, a := range arms {
		ch, err := a.arm()
		require.NoError(t, err, a.name)
		for i := range 3 {
			require.NoError(t, a.do(i), a.name)
			_, err = c.GetData(ctx, "/p")
			require.NoError(t, err)
			firedBeforeR(t, w.Events(), a.typ, fmt.Sprintf("%s, change %d", a.name, i))
			if i == 0 {
				firedBeforeR(t, ch, a.typ, a.name)
			}
		}
	}
}

// TestWatchOneShotAskedWhileChangesRace: changes made by another session
// while a GetW on a persistent watcher's path is in flight all reach the
// persistent watcher. Had the GetW set a one-shot watch on the server, the
// first change would have ended the server's watch (ZooKeeper 3.8 keeps
// one mode per session and path) and the second would be lost.
func TestWatchOneShotAskedWhileChangesRace(t *testing.T) {
	c, other, hold := heldPairR(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/p", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	defer w.Close()

	hold.hold()
	armed := goGetW(ctx, c, "/p")
	hold.waitWritten(t, proto.OpGetData, 1)
	hold.waitHeldReplies(t, 1)
	for i := range 2 {
		_, err := other.SetData(ctx, "/p", []byte{byte(i)})
		require.NoError(t, err)
	}
	hold.release()
	a := awaitR(t, ctx, armed, "GetW")
	require.NoError(t, a.err)
	_, err = c.GetData(ctx, "/p")
	require.NoError(t, err)
	firedBeforeR(t, w.Events(), core.EventNodeDataChanged, "first change")
	firedBeforeR(t, w.Events(), core.EventNodeDataChanged, "second change")
	firedBeforeR(t, a.ch, core.EventNodeDataChanged, "the one-shot watch")
}

// TestWatchOneShotOutlivesPersistent: a one-shot watch the client keeps
// itself, on a persistent watcher's path, still fires once that watcher
// is closed: the removal's reply sets it on the server.
func TestWatchOneShotOutlivesPersistent(t *testing.T) {
	c, other, _ := watchPairB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/p", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	_, _, data, err := c.GetW(ctx, "/p")
	require.NoError(t, err)
	_, _, children, err := c.GetChildrenW(ctx, "/p")
	require.NoError(t, err)
	require.NoError(t, w.Close())

	_, err = other.SetData(ctx, "/p", []byte("x"))
	require.NoError(t, err)
	_, err = other.Create(ctx, "/p/c", nil)
	require.NoError(t, err)
	_, err = c.GetData(ctx, "/p")
	require.NoError(t, err)
	firedBeforeR(t, data, core.EventNodeDataChanged, "GetW after Close")
	firedBeforeR(t, children, core.EventNodeChildrenChanged, "GetChildrenW after Close")
}
