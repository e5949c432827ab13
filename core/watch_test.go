package core_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// watchPairB starts a client under a fresh chroot of the shared server and
// a second client on the same chroot to make changes from another session.
func watchPairB(t *testing.T, opts ...core.Option) (c, other *core.Client, root string) {
	t.Helper()
	c, addr, root := sharedClientB(t, opts...)
	other = startClientB(t, addr, core.WithChroot(root))
	return c, other, root
}

// TestWatchOneShotKinds: every one-shot watch fires exactly once, with the
// right type and the chroot-relative path, and its channel then closes.
func TestWatchOneShotKinds(t *testing.T) {
	c, other, _ := watchPairB(t)
	type arm func(ctx context.Context, p string) (<-chan core.Event, error)
	existsW := func(ctx context.Context, p string) (<-chan core.Event, error) {
		_, ch, err := c.ExistsW(ctx, p)
		return ch, err
	}
	getW := func(ctx context.Context, p string) (<-chan core.Event, error) {
		_, _, ch, err := c.GetW(ctx, p)
		return ch, err
	}
	childrenW := func(ctx context.Context, p string) (<-chan core.Event, error) {
		_, _, ch, err := c.GetChildrenW(ctx, p)
		return ch, err
	}
	set := func(ctx context.Context, p string) error { _, err := other.SetData(ctx, p, []byte("new")); return err }
	del := func(ctx context.Context, p string) error { return other.Delete(ctx, p) }
	create := func(ctx context.Context, p string) error { _, err := other.Create(ctx, p, nil); return err }
	addChild := func(ctx context.Context, p string) error { _, err := other.Create(ctx, p+"/child", nil); return err }

	cases := []struct {
		name   string
		exists bool
		arm    arm
		change func(ctx context.Context, p string) error
		want   core.EventType
	}{
		{"ExistsOnMissingSeesCreate", false, existsW, create, core.EventNodeCreated},
		{"ExistsSeesDataChange", true, existsW, set, core.EventNodeDataChanged},
		{"ExistsSeesDelete", true, existsW, del, core.EventNodeDeleted},
		{"GetSeesDataChange", true, getW, set, core.EventNodeDataChanged},
		{"GetSeesDelete", true, getW, del, core.EventNodeDeleted},
		{"ChildrenSeesNewChild", true, childrenW, addChild, core.EventNodeChildrenChanged},
		{"ChildrenSeesDelete", true, childrenW, del, core.EventNodeDeleted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxB(t, waitB)
			p := "/" + tc.name
			if tc.exists {
				_, err := c.Create(ctx, p, []byte("old"))
				require.NoError(t, err)
			}
			ch, err := tc.arm(ctx, p)
			require.NoError(t, err)
			requireNoEventB(t, ch)
			require.NoError(t, tc.change(ctx, p))
			wantEventB(t, ch, tc.want, p)
			requireClosedB(t, ch)
		})
	}
}

// TestWatchTwoWatchersOnePath: watches of one session on one path all fire,
// while the server holds a single watch for them.
func TestWatchTwoWatchersOnePath(t *testing.T) {
	c, other, root := watchPairB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)

	_, _, get1, err := c.GetW(ctx, "/n")
	require.NoError(t, err)
	_, _, get2, err := c.GetW(ctx, "/n")
	require.NoError(t, err)
	_, exists, err := c.ExistsW(ctx, "/n")
	require.NoError(t, err)

	w, err := zktest.Shared(t).Watches(ctx)
	require.NoError(t, err)
	paths := w[c.Session().ID()]
	require.Equal(t, 1, countB(paths, root+"/n"), "watches of session 0x%x: %v (all: %v)", c.Session().ID(), paths, w)

	_, err = other.SetData(ctx, "/n", []byte("w"))
	require.NoError(t, err)
	for _, ch := range []<-chan core.Event{get1, get2, exists} {
		wantEventB(t, ch, core.EventNodeDataChanged, "/n")
		requireClosedB(t, ch)
	}

	_, _, kids1, err := c.GetChildrenW(ctx, "/n")
	require.NoError(t, err)
	_, _, kids2, err := c.GetChildrenW(ctx, "/n")
	require.NoError(t, err)
	_, err = other.Create(ctx, "/n/c", nil)
	require.NoError(t, err)
	for _, ch := range []<-chan core.Event{kids1, kids2} {
		wantEventB(t, ch, core.EventNodeChildrenChanged, "/n")
		requireClosedB(t, ch)
	}
}

// awayWatchesB are one-shot watches whose nodes change while their client
// is away.
type awayWatchesB struct {
	data, created, existsDeleted, getDeleted, children, childrenDeleted <-chan core.Event
}

// armAwayWatchesB creates the nodes and leaves the watches.
func armAwayWatchesB(t *testing.T, c *core.Client) awayWatchesB {
	t.Helper()
	ctx := ctxB(t, waitB)
	for _, p := range []string{"/data", "/gone-e", "/gone-g", "/parent", "/gone-c"} {
		_, err := c.Create(ctx, p, []byte("old"))
		require.NoError(t, err)
	}
	var (
		w   awayWatchesB
		err error
	)
	_, _, w.data, err = c.GetW(ctx, "/data")
	require.NoError(t, err)
	_, w.created, err = c.ExistsW(ctx, "/missing")
	require.NoError(t, err)
	_, w.existsDeleted, err = c.ExistsW(ctx, "/gone-e")
	require.NoError(t, err)
	_, _, w.getDeleted, err = c.GetW(ctx, "/gone-g")
	require.NoError(t, err)
	_, _, w.children, err = c.GetChildrenW(ctx, "/parent")
	require.NoError(t, err)
	_, _, w.childrenDeleted, err = c.GetChildrenW(ctx, "/gone-c")
	require.NoError(t, err)
	return w
}

// changeAwayB makes the changes the watches wait for, from another client.
func changeAwayB(t *testing.T, other *core.Client) {
	t.Helper()
	ctx := ctxB(t, waitB)
	_, err := other.SetData(ctx, "/data", []byte("new"))
	require.NoError(t, err)
	_, err = other.Create(ctx, "/missing", nil)
	require.NoError(t, err)
	require.NoError(t, other.Delete(ctx, "/gone-e"))
	require.NoError(t, other.Delete(ctx, "/gone-g"))
	_, err = other.Create(ctx, "/parent/child", nil)
	require.NoError(t, err)
	require.NoError(t, other.Delete(ctx, "/gone-c"))
}

func (w awayWatchesB) requireFired(t *testing.T) {
	t.Helper()
	for _, e := range []struct {
		ch   <-chan core.Event
		typ  core.EventType
		path string
	}{
		{w.data, core.EventNodeDataChanged, "/data"},
		{w.created, core.EventNodeCreated, "/missing"},
		{w.existsDeleted, core.EventNodeDeleted, "/gone-e"},
		{w.getDeleted, core.EventNodeDeleted, "/gone-g"},
		{w.children, core.EventNodeChildrenChanged, "/parent"},
		{w.childrenDeleted, core.EventNodeDeleted, "/gone-c"},
	} {
		wantEventB(t, e.ch, e.typ, e.path)
		requireClosedB(t, e.ch)
	}
}

// TestWatchChangeWhileDisconnected: changes made while the client is cut
// off fire its data, exists, delete-only and child watches after the
// reconnect, as the watches are set again relative to the last zxid seen.
func TestWatchChangeWhileDisconnected(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	c := startClientB(t, proxy.Addr(), core.WithChroot(root), core.WithConnectTimeout(500*time.Millisecond))
	other := startClientB(t, srv.ConnString(), core.WithChroot(root))
	states := listenB(t, c)
	sess := c.Session()

	w := armAwayWatchesB(t, c)
	// A node nobody changes: re-armed relative to the last zxid the client
	// saw, its watch must stay quiet. Re-armed relative to an older zxid,
	// the server would fire it at once.
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/steady", []byte("s"))
	require.NoError(t, err)
	_, _, steady, err := c.GetW(ctx, "/steady")
	require.NoError(t, err)
	proxy.BlackHole(true)
	proxy.CutAll()
	waitCountB(t, states, core.StateSuspended, 1)
	changeAwayB(t, other)
	// Nothing can have reached the client.
	requireNoEventB(t, w.data)
	requireNoEventB(t, w.created)

	proxy.BlackHole(false)
	waitCountB(t, states, core.StateConnected, 1)
	require.Equal(t, sess.ID(), c.Session().ID())
	w.requireFired(t)
	// The server answers a later request after any event the re-arming
	// set off.
	_, err = c.GetData(ctx, "/steady")
	require.NoError(t, err)
	requireNoEventB(t, steady)
}

// TestWatchPersistentRecursive: a recursive watch sees the creates, data
// changes and deletes of its node's descendants, in order, and nothing from
// outside its subtree.
func TestWatchPersistentRecursive(t *testing.T) {
	c, other, _ := watchPairB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/r", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/r", core.WatchPersistentRecursive)
	require.NoError(t, err)
	require.Equal(t, "/r", w.Path())
	defer w.Close()

	steps := []struct {
		do   func() error
		typ  core.EventType
		path string
	}{
		{func() error { _, err := other.Create(ctx, "/r/a", nil); return err }, core.EventNodeCreated, "/r/a"},
		{func() error { _, err := other.SetData(ctx, "/r/a", []byte("1")); return err }, core.EventNodeDataChanged, "/r/a"},
		{func() error { _, err := other.Create(ctx, "/r/a/b", nil); return err }, core.EventNodeCreated, "/r/a/b"},
		{func() error { _, err := other.SetData(ctx, "/r/a/b", []byte("2")); return err }, core.EventNodeDataChanged, "/r/a/b"},
		{func() error { _, err := other.Create(ctx, "/outside", nil); return err }, 0, ""},
		{func() error { return other.Delete(ctx, "/r/a/b") }, core.EventNodeDeleted, "/r/a/b"},
		{func() error { return other.Delete(ctx, "/r/a") }, core.EventNodeDeleted, "/r/a"},
		{func() error { _, err := other.SetData(ctx, "/r", []byte("3")); return err }, core.EventNodeDataChanged, "/r"},
	}
	var want []core.Event
	for _, s := range steps {
		require.NoError(t, s.do())
		if s.typ != 0 {
			want = append(want, core.Event{Type: s.typ, Path: s.path})
		}
	}
	var got []core.Event
	for range want {
		got = append(got, recvB(t, w.Events()))
	}
	require.Equal(t, want, got)
	requireNoEventB(t, w.Events())

	// Until removed: after Close the channel closes with no further event
	// and the server holds no watch.
	require.NoError(t, w.Close())
	_, err = other.Create(ctx, "/r/z", nil)
	require.NoError(t, err)
	requireClosedB(t, w.Events())
	require.ErrorIs(t, c.CheckWatches(ctx, "/r", core.WatchAny), core.ErrNoWatcher)
}

// TestWatchPersistent: a persistent watch sees its node's data changes,
// child changes, deletion and re-creation, but not grandchildren.
func TestWatchPersistent(t *testing.T) {
	c, other, _ := watchPairB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/p", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	defer w.Close()

	steps := []struct {
		do  func() error
		typ core.EventType
	}{
		{func() error { _, err := other.SetData(ctx, "/p", []byte("1")); return err }, core.EventNodeDataChanged},
		{func() error { _, err := other.Create(ctx, "/p/c", nil); return err }, core.EventNodeChildrenChanged},
		{func() error { _, err := other.SetData(ctx, "/p/c", []byte("x")); return err }, 0},
		{func() error { _, err := other.Create(ctx, "/p/c/g", nil); return err }, 0},
		{func() error { return other.Delete(ctx, "/p/c/g") }, 0},
		{func() error { return other.Delete(ctx, "/p/c") }, core.EventNodeChildrenChanged},
		{func() error { return other.Delete(ctx, "/p") }, core.EventNodeDeleted},
		{func() error { _, err := other.Create(ctx, "/p", nil); return err }, core.EventNodeCreated},
		{func() error { _, err := other.SetData(ctx, "/p", []byte("2")); return err }, core.EventNodeDataChanged},
	}
	var want []core.Event
	for _, s := range steps {
		require.NoError(t, s.do())
		if s.typ != 0 {
			want = append(want, core.Event{Type: s.typ, Path: "/p"})
		}
	}
	var got []core.Event
	for range want {
		got = append(got, recvB(t, w.Events()))
	}
	require.Equal(t, want, got)
	requireNoEventB(t, w.Events())
}

// TestWatchPersistentSurvivesReconnect: persistent and recursive watches
// are set again on a new connection of the same session.
func TestWatchPersistentSurvivesReconnect(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	c := startClientB(t, proxy.Addr(), core.WithChroot(root))
	other := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	for _, p := range []string{"/p", "/r"} {
		_, err := c.Create(ctx, p, nil)
		require.NoError(t, err)
	}
	pw, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	defer pw.Close()
	rw, err := c.AddWatch(ctx, "/r", core.WatchPersistentRecursive)
	require.NoError(t, err)
	defer rw.Close()

	states := listenB(t, c)
	sess := c.Session()
	for i := 1; i <= 2; i++ {
		proxy.CutAll()
		waitCountB(t, states, core.StateConnected, i)
		require.Equal(t, sess.ID(), c.Session().ID())
		// ZooKeeper sends no catch-up events for persistent watches: a
		// round trip on the new connection makes sure the server has them
		// again before the changes are made.
		_, err = c.Exists(ctx, "/p")
		require.NoError(t, err)

		_, err = other.SetData(ctx, "/p", []byte{byte(i)})
		require.NoError(t, err)
		wantEventB(t, pw.Events(), core.EventNodeDataChanged, "/p")
		child := fmt.Sprintf("/r/x%d", i)
		_, err = other.Create(ctx, child, nil)
		require.NoError(t, err)
		wantEventB(t, rw.Events(), core.EventNodeCreated, child)
	}
	require.NoError(t, c.CheckWatches(ctx, "/p", core.WatchAny))
	require.NoError(t, c.CheckWatches(ctx, "/r", core.WatchAny))
}

// TestWatchRemoval: Watcher.Close and RemoveWatches stop delivery on the
// client and the server; RemoveWatches without a watch reports
// ErrNoWatcher; closing a persistent watcher leaves the one-shot watches on
// its path working.
func TestWatchRemoval(t *testing.T) {
	c, other, _ := watchPairB(t)

	t.Run("WatcherClose", func(t *testing.T) {
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/wc", nil)
		require.NoError(t, err)
		w, err := c.AddWatch(ctx, "/wc", core.WatchPersistent)
		require.NoError(t, err)
		_, err = other.SetData(ctx, "/wc", []byte("1"))
		require.NoError(t, err)
		wantEventB(t, w.Events(), core.EventNodeDataChanged, "/wc")

		require.NoError(t, w.Close())
		require.NoError(t, w.Close(), "Close is idempotent")
		_, err = other.SetData(ctx, "/wc", []byte("2"))
		require.NoError(t, err)
		requireClosedB(t, w.Events())
		require.ErrorIs(t, c.CheckWatches(ctx, "/wc", core.WatchAny), core.ErrNoWatcher)
	})

	t.Run("RemoveData", func(t *testing.T) {
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/rd", nil)
		require.NoError(t, err)
		_, _, data, err := c.GetW(ctx, "/rd")
		require.NoError(t, err)
		_, _, kids, err := c.GetChildrenW(ctx, "/rd")
		require.NoError(t, err)

		require.NoError(t, c.RemoveWatches(ctx, "/rd", core.WatchData))
		wantNotWatchingB(t, data, core.ErrWatchRemoved)
		require.ErrorIs(t, c.CheckWatches(ctx, "/rd", core.WatchData), core.ErrNoWatcher)
		require.NoError(t, c.CheckWatches(ctx, "/rd", core.WatchChildren))

		// The child watch is untouched.
		_, err = other.Create(ctx, "/rd/c", nil)
		require.NoError(t, err)
		wantEventB(t, kids, core.EventNodeChildrenChanged, "/rd")
		requireClosedB(t, kids)
	})

	t.Run("RemoveChildren", func(t *testing.T) {
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/rc", nil)
		require.NoError(t, err)
		_, _, data, err := c.GetW(ctx, "/rc")
		require.NoError(t, err)
		_, _, kids, err := c.GetChildrenW(ctx, "/rc")
		require.NoError(t, err)

		require.NoError(t, c.RemoveWatches(ctx, "/rc", core.WatchChildren))
		wantNotWatchingB(t, kids, core.ErrWatchRemoved)
		_, err = other.SetData(ctx, "/rc", []byte("x"))
		require.NoError(t, err)
		wantEventB(t, data, core.EventNodeDataChanged, "/rc")
		requireClosedB(t, data)
	})

	t.Run("RemoveNone", func(t *testing.T) {
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/none", nil)
		require.NoError(t, err)
		for _, typ := range []core.WatcherType{core.WatchData, core.WatchChildren, core.WatchAny} {
			require.ErrorIs(t, c.RemoveWatches(ctx, "/none", typ), core.ErrNoWatcher, "type %d", typ)
		}
	})

	t.Run("ClosePersistentKeepsOneShot", func(t *testing.T) {
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/k", nil)
		require.NoError(t, err)
		_, _, data, err := c.GetW(ctx, "/k")
		require.NoError(t, err)
		_, exists, err := c.ExistsW(ctx, "/k")
		require.NoError(t, err)
		_, _, kids, err := c.GetChildrenW(ctx, "/k")
		require.NoError(t, err)
		w, err := c.AddWatch(ctx, "/k", core.WatchPersistent)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		requireClosedB(t, w.Events())

		_, err = other.SetData(ctx, "/k", []byte("x"))
		require.NoError(t, err)
		wantEventB(t, data, core.EventNodeDataChanged, "/k")
		wantEventB(t, exists, core.EventNodeDataChanged, "/k")
		_, err = other.Create(ctx, "/k/c", nil)
		require.NoError(t, err)
		wantEventB(t, kids, core.EventNodeChildrenChanged, "/k")
	})
}

// TestWatchSlowConsumer: a persistent watcher nobody reads does not hold up
// requests or other watchers, and loses nothing within its buffer.
func TestWatchSlowConsumer(t *testing.T) {
	c, other, _ := watchPairB(t)
	ctx := ctxB(t, 2*waitB)
	for _, p := range []string{"/flood", "/other", "/side"} {
		_, err := c.Create(ctx, p, nil)
		require.NoError(t, err)
	}
	ignored, err := c.AddWatch(ctx, "/flood", core.WatchPersistent)
	require.NoError(t, err)
	defer ignored.Close()
	reader, err := c.AddWatch(ctx, "/other", core.WatchPersistent)
	require.NoError(t, err)
	defer reader.Close()

	const writers, perWriter = 4, 100
	inParallelA(t, writers, func(i int) error {
		for j := range perWriter {
			if _, err := other.SetData(ctx, "/flood", []byte(fmt.Sprint(i, j)), core.Force()); err != nil {
				return err
			}
		}
		return nil
	})

	// The flood sits unread; everything else still works.
	_, _, side, err := c.GetW(ctx, "/side")
	require.NoError(t, err)
	_, err = other.SetData(ctx, "/side", []byte("s"))
	require.NoError(t, err)
	wantEventB(t, side, core.EventNodeDataChanged, "/side")
	_, err = other.SetData(ctx, "/other", []byte("o"))
	require.NoError(t, err)
	wantEventB(t, reader.Events(), core.EventNodeDataChanged, "/other")
	data, err := c.GetData(ctx, "/side")
	require.NoError(t, err)
	require.Equal(t, []byte("s"), data)

	// And the ignored watcher kept every event.
	for i := range writers * perWriter {
		ev := recvB(t, ignored.Events())
		require.Equal(t, core.Event{Type: core.EventNodeDataChanged, Path: "/flood"}, ev, "event %d", i)
	}
	requireNoEventB(t, ignored.Events())
}

// TestWatchOverflow: a persistent watcher whose consumer falls more than
// WithWatcherBuffer behind ends with ErrWatcherOverflow, after the events it
// kept, in order; the client and its other watches go on.
func TestWatchOverflow(t *testing.T) {
	c, other, _ := watchPairB(t, core.WithWatcherBuffer(10))
	ctx := ctxB(t, 2*waitB)
	for _, p := range []string{"/o", "/side"} {
		_, err := c.Create(ctx, p, nil)
		require.NoError(t, err)
	}
	w, err := c.AddWatch(ctx, "/o", core.WatchPersistent)
	require.NoError(t, err)
	defer w.Close()
	_, _, side, err := c.GetW(ctx, "/side")
	require.NoError(t, err)

	const changes = 300
	for i := range changes {
		_, err := other.SetData(ctx, "/o", []byte(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	// A later request on the client is answered after every event above was
	// dispatched.
	_, err = c.GetData(ctx, "/o")
	require.NoError(t, err)

	kept := 0
	for {
		ev := recvB(t, w.Events())
		if ev.Type == core.EventNotWatching {
			require.ErrorIs(t, ev.Err, core.ErrWatcherOverflow)
			break
		}
		require.Equal(t, core.Event{Type: core.EventNodeDataChanged, Path: "/o"}, ev)
		kept++
	}
	requireClosedB(t, w.Events())
	require.Positive(t, kept)
	require.Less(t, kept, changes)

	_, err = other.SetData(ctx, "/side", []byte("s"))
	require.NoError(t, err)
	wantEventB(t, side, core.EventNodeDataChanged, "/side")
}

// TestWatchEventBeforeLaterReply: ZooKeeper sends a watch event before the
// reply to a later request that observes the change; the client keeps that
// order, so once the request returns the event is already in the channel.
func TestWatchEventBeforeLaterReply(t *testing.T) {
	c, _, _ := sharedClientB(t)
	ctx := ctxB(t, waitB)
	for _, p := range []string{"/d", "/x", "/k", "/p"} {
		_, err := c.Create(ctx, p, nil)
		require.NoError(t, err)
	}
	immediate := func(t *testing.T, ch <-chan core.Event, typ core.EventType, path string) {
		t.Helper()
		select {
		case ev, ok := <-ch:
			require.True(t, ok)
			require.Equal(t, core.Event{Type: typ, Path: path}, ev)
		default:
			t.Fatalf("the %v event on %s was not delivered before the reply", typ, path)
		}
	}

	for i := range 20 {
		_, _, data, err := c.GetW(ctx, "/d")
		require.NoError(t, err)
		_, err = c.SetData(ctx, "/d", []byte(fmt.Sprint(i)))
		require.NoError(t, err)
		immediate(t, data, core.EventNodeDataChanged, "/d")
	}

	_, gone, err := c.ExistsW(ctx, "/x")
	require.NoError(t, err)
	require.NoError(t, c.Delete(ctx, "/x"))
	immediate(t, gone, core.EventNodeDeleted, "/x")

	_, _, kids, err := c.GetChildrenW(ctx, "/k")
	require.NoError(t, err)
	_, err = c.Create(ctx, "/k/c", nil)
	require.NoError(t, err)
	immediate(t, kids, core.EventNodeChildrenChanged, "/k")

	w, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	defer w.Close()
	for i := range 20 {
		_, err = c.SetData(ctx, "/p", []byte(fmt.Sprint(i)))
		require.NoError(t, err)
		immediate(t, w.Events(), core.EventNodeDataChanged, "/p")
	}
}

// TestWatchEndsOnClientClose: closing the client ends every watch with a
// final NotWatching event carrying ErrClosed, persistent watchers included,
// and closes the channels.
func TestWatchEndsOnClientClose(t *testing.T) {
	c, _, _ := sharedClientB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	_, _, data, err := c.GetW(ctx, "/n")
	require.NoError(t, err)
	_, exists, err := c.ExistsW(ctx, "/missing")
	require.NoError(t, err)
	pw, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)
	rw, err := c.AddWatch(ctx, "/", core.WatchPersistentRecursive)
	require.NoError(t, err)

	require.NoError(t, c.Close())
	wantNotWatchingB(t, data, core.ErrClosed)
	wantNotWatchingB(t, exists, core.ErrClosed)
	wantNotWatchingB(t, pw.Events(), core.ErrClosed)
	wantNotWatchingB(t, rw.Events(), core.ErrClosed)
	require.NoError(t, pw.Close(), "closing a watcher of a closed client")
}

// TestWatchChrootRoot: watches on the chroot itself report the path "/".
func TestWatchChrootRoot(t *testing.T) {
	c, other, _ := watchPairB(t)
	ctx := ctxB(t, waitB)
	_, _, kids, err := c.GetChildrenW(ctx, "/")
	require.NoError(t, err)
	_, _, data, err := c.GetW(ctx, "/")
	require.NoError(t, err)
	_, err = other.Create(ctx, "/child", nil)
	require.NoError(t, err)
	wantEventB(t, kids, core.EventNodeChildrenChanged, "/")
	_, err = other.SetData(ctx, "/", []byte("root"))
	require.NoError(t, err)
	wantEventB(t, data, core.EventNodeDataChanged, "/")
}
