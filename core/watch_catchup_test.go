package core_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// A one-shot watch on a path whose plain watcher closes, under a recursive
// watcher of the same client, stays served by the recursive one: a
// deletion made after the server took the plain watch off reaches the
// recursive watcher once, and the one-shot watch fires once. Set on the
// server again after the removal, the one-shot watch brought the deletion
// a second time, as its catch-up event, to every watcher on the path.
func TestWatchRearmCatchUpSeenOnce(t *testing.T) {
	c, other, hold, gate := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	rec, plain, data := oneShotUnderRecursive(t, ctx, c)

	hold.hold()
	closed := make(chan error, 1)
	go func() { closed <- plain.Close() }()
	hold.waitWritten(t, proto.OpRemoveWatches, 1)
	hold.waitHeldReplies(t, 1)
	// The server has taken the plain watch off. What the client sends
	// from now on (the one-shot watch set again) waits.
	gate.set(true)
	hold.release()
	require.NoError(t, awaitR(t, ctx, closed, "Close"))
	require.NoError(t, other.Delete(ctx, "/r/b"))
	wantEventB(t, rec.Events(), core.EventNodeDeleted, "/r/b")
	gate.set(false)

	// A later reply comes after every event the server sent before it.
	_, err := c.GetData(ctx, "/r")
	require.NoError(t, err)
	requireNoEventB(t, rec.Events())
	wantEventB(t, data, core.EventNodeDeleted, "/r/b")
	requireClosedB(t, data)
}

// A one-shot watch that the client keeps to itself while a recursive
// watcher above it brings its events (see TestWatchRearmCatchUpSeenOnce)
// goes to the server when that watcher closes, whether the path above is
// left with no watcher or with a plain one, and still fires.
func TestWatchOneShotServedFromAboveOutlivesRecursive(t *testing.T) {
	for _, keepPlain := range []bool{false, true} {
		t.Run(map[bool]string{false: "nothing left above", true: "plain watcher left above"}[keepPlain], func(t *testing.T) {
			c, other, _ := watchPairB(t)
			ctx := ctxB(t, waitB)
			_, err := c.Create(ctx, "/r/b", nil, core.WithParents())
			require.NoError(t, err)
			if keepPlain {
				plainAbove, err := c.AddWatch(ctx, "/r", core.WatchPersistent)
				require.NoError(t, err)
				t.Cleanup(func() { _ = plainAbove.Close() })
			}
			rec, err := c.AddWatch(ctx, "/r", core.WatchPersistentRecursive)
			require.NoError(t, err)
			plain, err := c.AddWatch(ctx, "/r/b", core.WatchPersistent)
			require.NoError(t, err)
			_, _, data, err := c.GetW(ctx, "/r/b")
			require.NoError(t, err)
			require.NoError(t, plain.Close())
			require.NoError(t, rec.Close())

			_, err = other.SetData(ctx, "/r/b", []byte("x"))
			require.NoError(t, err)
			_, err = c.GetData(ctx, "/r")
			require.NoError(t, err)
			firedBeforeR(t, data, core.EventNodeDataChanged, "the one-shot watch")
		})
	}
}
