package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// ZooKeeper 3.8 keeps one watch mode per session and path, and a recursive
// watch brings no NodeChildrenChanged: a child watch, or a plain persistent
// watcher, beside a recursive watcher of the same client on one path must
// still see the path's children change, whichever came first, also after a
// reconnect, and exactly once.

func TestWatchChildWatchBesideRecursive(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		recursiveFirst, reconnect bool
	}{
		{"child watch first", false, false},
		{"recursive first", true, false},
		{"child watch first, reconnect", false, true},
		{"recursive first, reconnect", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ctx, states := proxiedWithNodeB(t)
			c := p.c
			var (
				rw       *core.Watcher
				children <-chan core.Event
				err      error
			)
			if tc.recursiveFirst {
				rw, err = c.AddWatch(ctx, "/n", core.WatchPersistentRecursive)
				require.NoError(t, err)
			}
			_, _, children, err = c.GetChildrenW(ctx, "/n")
			require.NoError(t, err)
			if !tc.recursiveFirst {
				rw, err = c.AddWatch(ctx, "/n", core.WatchPersistentRecursive)
				require.NoError(t, err)
			}
			if tc.reconnect {
				p.proxy.CutAll()
				waitCountB(t, states, core.StateConnected, 1)
			}

			other := p.direct(t)
			_, err = other.Create(ctx, "/n/kid", nil)
			require.NoError(t, err)
			wantEventB(t, rw.Events(), core.EventNodeCreated, "/n/kid")
			wantEventB(t, children, core.EventNodeChildrenChanged, "/n")
			requireClosedB(t, children)
			_, err = other.Create(ctx, "/n/kid/grand", nil)
			require.NoError(t, err)
			wantEventB(t, rw.Events(), core.EventNodeCreated, "/n/kid/grand")
		})
	}
}

func TestWatchPlainAndRecursiveOnOnePath(t *testing.T) {
	for _, recursiveFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain first", true: "recursive first"}[recursiveFirst], func(t *testing.T) {
			c, _, _ := sharedClientB(t)
			ctx := ctxB(t, waitB)
			_, err := c.Create(ctx, "/n", nil)
			require.NoError(t, err)
			add := func(mode core.AddWatchMode) *core.Watcher {
				w, err := c.AddWatch(ctx, "/n", mode)
				require.NoError(t, err)
				return w
			}
			var pw, rw *core.Watcher
			if recursiveFirst {
				rw, pw = add(core.WatchPersistentRecursive), add(core.WatchPersistent)
			} else {
				pw, rw = add(core.WatchPersistent), add(core.WatchPersistentRecursive)
			}

			_, err = c.Create(ctx, "/n/kid", nil)
			require.NoError(t, err)
			_, err = c.Create(ctx, "/n/kid/grand", nil)
			require.NoError(t, err)
			_, err = c.SetData(ctx, "/n", []byte("x"))
			require.NoError(t, err)
			wantEventB(t, rw.Events(), core.EventNodeCreated, "/n/kid")
			wantEventB(t, rw.Events(), core.EventNodeCreated, "/n/kid/grand")
			wantEventB(t, rw.Events(), core.EventNodeDataChanged, "/n")
			// The plain watcher sees its children change once, and nothing
			// of its grandchildren.
			wantEventB(t, pw.Events(), core.EventNodeChildrenChanged, "/n")
			wantEventB(t, pw.Events(), core.EventNodeDataChanged, "/n")

			// Without the recursive watcher the plain one still sees its
			// children change.
			require.NoError(t, rw.Close())
			_, err = c.Create(ctx, "/n/kid2", nil)
			require.NoError(t, err)
			_, err = c.SetData(ctx, "/n", []byte("y"))
			require.NoError(t, err)
			wantEventB(t, pw.Events(), core.EventNodeChildrenChanged, "/n")
			wantEventB(t, pw.Events(), core.EventNodeDataChanged, "/n")
		})
	}
}

// A plain AddWatch beside a recursive watcher goes out in recursive mode.
// When the recursive watcher closes while that request waits for a
// connection, its removal never reaches the server, and the addWatch
// arrives after it: the plain watcher must still see its children change.
func TestWatchPlainAddedWhileRecursiveCloses(t *testing.T) {
	p, ctx, states := proxiedWithNodeB(t)
	c := p.c
	rw, err := c.AddWatch(ctx, "/n", core.WatchPersistentRecursive)
	require.NoError(t, err)

	p.proxy.Refuse(true)
	p.proxy.CutAll()
	waitCountB(t, states, core.StateSuspended, 1)
	added := goAddWatch(t, ctx, c, "/n", core.WatchPersistent)
	waitParkedB(t, "(*Client).AddWatch", "(*Client).waitReady")
	require.NoError(t, rw.Close())
	p.proxy.Refuse(false)
	pw := <-added
	require.NotNil(t, pw)

	other := p.direct(t)
	_, err = other.Create(ctx, "/n/kid", nil)
	require.NoError(t, err)
	wantEventB(t, pw.Events(), core.EventNodeChildrenChanged, "/n")
	_, err = other.SetData(ctx, "/n", []byte("x"))
	require.NoError(t, err)
	wantEventB(t, pw.Events(), core.EventNodeDataChanged, "/n")
}

// A plain AddWatch goes out recursive beside a recursive watcher, which
// then closes (setting the path plain) while a second recursive AddWatch
// goes out. The first reply, read with the second still out, must not set
// the path plain once more after that second request: the recursive
// watcher must see its grandchildren.
func TestWatchRecursiveComingKeepsPathRecursive(t *testing.T) {
	c, other, hold := heldPairR(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n/a", nil, core.WithParents())
	require.NoError(t, err)
	plain, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)
	first, err := c.AddWatch(ctx, "/n", core.WatchPersistentRecursive)
	require.NoError(t, err)

	hold.hold()
	addedPlain := goAddWatch(t, ctx, c, "/n", core.WatchPersistent)
	hold.waitWritten(t, proto.OpAddWatch, 3)
	closed := make(chan error, 1)
	go func() { closed <- first.Close() }()
	// Close sets the plain watchers again, then waits with a check.
	hold.waitWritten(t, proto.OpCheckWatches, 1)
	addedRecursive := goAddWatch(t, ctx, c, "/n", core.WatchPersistentRecursive)
	hold.waitWritten(t, proto.OpAddWatch, 4)
	hold.release()
	second := <-addedRecursive
	require.NotNil(t, <-addedPlain)
	require.NotNil(t, second)
	require.NoError(t, <-closed)

	_, err = other.Create(ctx, "/n/a/b", nil)
	require.NoError(t, err)
	wantEventB(t, second.Events(), core.EventNodeCreated, "/n/a/b")
	_, err = other.Create(ctx, "/n/c", nil)
	require.NoError(t, err)
	wantEventB(t, second.Events(), core.EventNodeCreated, "/n/c")
	wantEventB(t, plain.Events(), core.EventNodeChildrenChanged, "/n")
}

// goAddWatch runs AddWatch in the background; the channel receives the
// watcher, nil if the call failed.
func goAddWatch(t *testing.T, ctx context.Context, c *core.Client, path string, mode core.AddWatchMode) <-chan *core.Watcher {
	added := make(chan *core.Watcher, 1)
	go func() {
		w, err := c.AddWatch(ctx, path, mode)
		assert.NoError(t, err)
		added <- w
	}()
	return added
}

// proxiedWithNodeB starts a proxied client with a 10 s session, records its
// states, and creates the node /n the watch tests watch.
func proxiedWithNodeB(t *testing.T) (proxiedB, context.Context, *stateLog) {
	p := startProxiedB(t, 10*time.Second)
	ctx := ctxB(t, waitB)
	states := listenB(t, p.c)
	_, err := p.c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	return p, ctx, states
}
