package core_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// A one-shot watch that the client keeps to itself while a recursive
// watcher above it brings its events (see TestWatchRearmCatchUpSeenOnce)
// is one the server does not hold on its path. The session still has it:
// CheckWatches finds it, and RemoveWatches removes it (the server, which
// holds none there, answers NoWatcher), so it never fires afterwards.
func TestWatchOneShotServedFromAboveRemoved(t *testing.T) {
	for _, typ := range []core.WatcherType{core.WatchData, core.WatchAny} {
		t.Run(map[core.WatcherType]string{core.WatchData: "data", core.WatchAny: "any"}[typ], func(t *testing.T) {
			c, other, _ := watchPairB(t)
			ctx := ctxB(t, waitB)
			rec, plain, data := oneShotUnderRecursive(t, ctx, c)
			t.Cleanup(func() { _ = rec.Close() })
			// Its release leaves the one-shot watch to the recursive one.
			require.NoError(t, plain.Close())

			require.NoError(t, c.CheckWatches(ctx, "/r/b", core.WatchData), "the data watch the client serves")
			require.NoError(t, c.RemoveWatches(ctx, "/r/b", typ))
			wantNotWatchingB(t, data, core.ErrWatchRemoved)
			require.ErrorIs(t, c.CheckWatches(ctx, "/r/b", core.WatchData), core.ErrNoWatcher)
			require.ErrorIs(t, c.RemoveWatches(ctx, "/r/b", typ), core.ErrNoWatcher, "nothing is left to remove")

			_, err := other.SetData(ctx, "/r/b", []byte("x"))
			require.NoError(t, err)
			wantEventB(t, rec.Events(), core.EventNodeDataChanged, "/r/b")
		})
	}
}

// The race of the test above with the recursive watcher's own removal: its
// reply, read first, stops it serving the one-shot watch below and sets
// that watch on the server again, after the server has answered the
// child's removal with NoWatcher. The child's removal still removes the
// client's watch, which gets its NotWatching event and nothing more.
func TestWatchOneShotRemovedAsItsRecursiveWatcherCloses(t *testing.T) {
	c, other, hold, _ := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	rec, plain, data := oneShotUnderRecursive(t, ctx, c)
	require.NoError(t, plain.Close())

	hold.hold()
	closed := make(chan error, 1)
	go func() { closed <- rec.Close() }()
	hold.waitWritten(t, proto.OpRemoveWatches, 2) // plain's, then rec's
	removed := make(chan error, 1)
	go func() { removed <- c.RemoveWatches(ctx, "/r/b", core.WatchData) }()
	hold.waitWritten(t, proto.OpRemoveWatches, 3)
	hold.waitHeldReplies(t, 2)
	hold.release()
	require.NoError(t, awaitR(t, ctx, closed, "the recursive watcher's Close"))
	require.NoError(t, awaitR(t, ctx, removed, "RemoveWatches"))
	wantNotWatchingB(t, data, core.ErrWatchRemoved)
	// The watch set again on the server may still fire; the client drops
	// what no watch of its own waits for.
	_, err := other.SetData(ctx, "/r/b", []byte("x"))
	require.NoError(t, err)
	_, err = c.GetData(ctx, "/r/b")
	require.NoError(t, err)
}

// oneShotUnderRecursive sets up, on c: /r/b (made with its parent), a
// recursive watcher on /r, a plain persistent watcher on /r/b, and a
// one-shot data watch on /r/b, which the plain watcher holds, so that the
// client keeps it to itself. It returns the two watchers and the one-shot
// watch's channel.
func oneShotUnderRecursive(t *testing.T, ctx context.Context, c *core.Client) (rec, plain *core.Watcher, data <-chan core.Event) {
	t.Helper()
	_, err := c.Create(ctx, "/r/b", nil, core.WithParents())
	require.NoError(t, err)
	rec, err = c.AddWatch(ctx, "/r", core.WatchPersistentRecursive)
	require.NoError(t, err)
	plain, err = c.AddWatch(ctx, "/r/b", core.WatchPersistent)
	require.NoError(t, err)
	_, _, data, err = c.GetW(ctx, "/r/b")
	require.NoError(t, err)
	return rec, plain, data
}
