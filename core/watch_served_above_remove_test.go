package core_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
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
			_, err := c.Create(ctx, "/r/b", nil, core.WithParents())
			require.NoError(t, err)
			rec, err := c.AddWatch(ctx, "/r", core.WatchPersistentRecursive)
			require.NoError(t, err)
			t.Cleanup(func() { _ = rec.Close() })
			plain, err := c.AddWatch(ctx, "/r/b", core.WatchPersistent)
			require.NoError(t, err)
			_, _, data, err := c.GetW(ctx, "/r/b")
			require.NoError(t, err)
			// Its release leaves the one-shot watch to the recursive one.
			require.NoError(t, plain.Close())

			require.NoError(t, c.CheckWatches(ctx, "/r/b", core.WatchData), "the data watch the client serves")
			require.NoError(t, c.RemoveWatches(ctx, "/r/b", typ))
			wantNotWatchingB(t, data, core.ErrWatchRemoved)
			require.ErrorIs(t, c.CheckWatches(ctx, "/r/b", core.WatchData), core.ErrNoWatcher)
			require.ErrorIs(t, c.RemoveWatches(ctx, "/r/b", typ), core.ErrNoWatcher, "nothing is left to remove")

			_, err = other.SetData(ctx, "/r/b", []byte("x"))
			require.NoError(t, err)
			wantEventB(t, rec.Events(), core.EventNodeDataChanged, "/r/b")
		})
	}
}
