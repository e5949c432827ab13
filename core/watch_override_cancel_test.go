package core_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// A one-shot read, or a removal of data watches, sent after a recursive
// addWatch on the same path overrides the server's watch there (see
// TestWatchAddedBeforeOneShotReadSeesNextChange). When its caller gives up
// while the request is out, the request still reaches the server and its
// reply still sets the watch again: AddWatch must wait for that reply as
// it does when the caller waits, or the watcher misses the changes made
// after it returned.
func TestWatchAddedBeforeAbandonedOverrideSeesNextChange(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   int32
		call func(ctx context.Context, c *core.Client) error
	}{
		{"GetW", proto.OpGetData, func(ctx context.Context, c *core.Client) error {
			_, _, _, err := c.GetW(ctx, "/r")
			return err
		}},
		{"RemoveWatches", proto.OpRemoveWatches, func(ctx context.Context, c *core.Client) error {
			return c.RemoveWatches(ctx, "/r", core.WatchData)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, other, hold, gate := heldGatedPair(t)
			ctx := ctxB(t, waitB)
			_, err := c.Create(ctx, "/r", nil)
			require.NoError(t, err)
			// A data watch for the removal to remove.
			_, _, _, err = c.GetW(ctx, "/r")
			require.NoError(t, err)

			hold.hold()
			added := goAddWatch(t, ctx, c, "/r", core.WatchPersistentRecursive)
			hold.waitWritten(t, proto.OpAddWatch, 1)
			callCtx, cancel := context.WithCancel(ctx)
			gaveUp := make(chan error, 1)
			go func() { gaveUp <- tc.call(callCtx, c) }()
			hold.waitWritten(t, tc.op, 1+map[bool]int{true: 1}[tc.op == proto.OpGetData])
			cancel()
			require.ErrorIs(t, awaitR(t, ctx, gaveUp, tc.name), context.Canceled)
			hold.waitHeldReplies(t, 2)
			gate.set(true)
			hold.release()
			rec := addedAfterGate(t, ctx, added, gate, func() {
				_, err := other.Create(ctx, "/r/kid", nil)
				require.NoError(t, err)
			})
			_, err = other.SetData(ctx, "/r", []byte("x"))
			require.NoError(t, err)
			wantEventB(t, rec.Events(), core.EventNodeCreated, "/r/kid")
			wantEventB(t, rec.Events(), core.EventNodeDataChanged, "/r")
		})
	}
}

// A one-shot read whose caller gave up while it was out, and whose
// connection is then lost before its reply comes, overrides nothing any
// more: an AddWatch on its path on the next connection returns at once
// instead of waiting for a reply that never comes.
func TestWatchAbandonedReadLostWithConnectionEndsOverride(t *testing.T) {
	c, _, hold := heldPairR(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/r", nil)
	require.NoError(t, err)

	hold.hold()
	callCtx, cancel := context.WithCancel(ctx)
	gaveUp := goGetW(callCtx, c, "/r")
	hold.waitWritten(t, proto.OpGetData, 1)
	cancel()
	require.ErrorIs(t, awaitR(t, ctx, gaveUp, "GetW").err, context.Canceled)
	hold.cut()
	hold.release()

	w, err := c.AddWatch(ctx, "/r", core.WatchPersistent)
	require.NoError(t, err)
	require.NoError(t, ctx.Err(), "AddWatch waited for the reply to a read lost with its connection")
	require.NoError(t, w.Close())
}
