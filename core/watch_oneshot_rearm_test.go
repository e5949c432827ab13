package core_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// When the path's last persistent watcher closes, the client sets the
// one-shot watches it still holds there on the server again, once the
// removal's reply is read. An AddWatch sent after the removal, and applied
// before those setWatches frames, has its watch made one-shot by them
// (ZooKeeper 3.8 keeps one mode per session and path): it would fire once
// and then miss every change. The frames count as overriding the path's
// watch until they are applied, the client then sets the new watcher's
// watch again, and AddWatch returns only once that is in effect.
func TestWatchAddedBeforeOneShotRearmSeesEveryChange(t *testing.T) {
	c, other, hold, gate := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	first, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)
	// The watcher brings this read's events: its watch stays in the client.
	_, _, oneShot, err := c.GetW(ctx, "/n")
	require.NoError(t, err)

	hold.hold()
	closed := make(chan error, 1)
	go func() { closed <- first.Close() }()
	hold.waitWritten(t, proto.OpRemoveWatches, 1)
	added := goAddWatch(t, ctx, c, "/n", core.WatchPersistent)
	hold.waitWritten(t, proto.OpAddWatch, 2)
	hold.waitHeldReplies(t, 2)
	// The server has applied the removal, then the new addWatch. The
	// one-shot watch, set again when the removal's reply is read, waits at
	// the gate.
	gate.set(true)
	hold.release()
	second := addedAfterGate(t, ctx, added, gate, func() {
		_, err := other.Create(ctx, "/n/kid", nil)
		require.NoError(t, err)
	})
	require.NoError(t, awaitR(t, ctx, closed, "Close"))
	// A round trip: the server has applied whatever c sent before it.
	require.NoError(t, c.Sync(ctx, "/n"))
	for _, data := range []string{"x", "y", "z"} {
		_, err = other.SetData(ctx, "/n", []byte(data))
		require.NoError(t, err)
	}
	wantEventB(t, second.Events(), core.EventNodeChildrenChanged, "/n")
	for range 3 {
		wantEventB(t, second.Events(), core.EventNodeDataChanged, "/n")
	}
	wantEventB(t, oneShot, core.EventNodeDataChanged, "/n")
}

// The same one-shot watches, set again after a removal and lost with
// their connection before they were applied, override nothing any more:
// the AddWatch that waits for them returns, and the next connection sets
// its watch, which sees the changes made after.
func TestWatchOneShotRearmLostEndsOverride(t *testing.T) {
	c, other, hold, gate := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	first, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)
	_, _, _, err = c.GetW(ctx, "/n")
	require.NoError(t, err)

	hold.hold()
	go func() { _ = first.Close() }()
	hold.waitWritten(t, proto.OpRemoveWatches, 1)
	added := goAddWatch(t, ctx, c, "/n", core.WatchPersistent)
	hold.waitWritten(t, proto.OpAddWatch, 2)
	hold.waitHeldReplies(t, 2)
	gate.set(true)
	hold.release()
	require.Eventually(t, addWatchAwaitsOverride, waitB, time.Millisecond, "AddWatch waits for the one-shot watches to be applied")
	hold.cut()
	gate.set(false)
	second := awaitR(t, ctx, added, "AddWatch")
	require.NoError(t, ctx.Err(), "AddWatch waited for frames lost with their connection")

	waitStateB(t, c, core.StateConnected)
	require.NoError(t, c.Sync(ctx, "/n"))
	_, err = other.SetData(ctx, "/n", []byte("x"))
	require.NoError(t, err)
	wantEventB(t, second.Events(), core.EventNodeDataChanged, "/n")
}

// addWatchAwaitsOverride reports whether a goroutine waits in AddWatch for
// the requests that override its path's watch.
func addWatchAwaitsOverride() bool {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "(*Client).AddWatch(") && strings.Contains(g, "core.awaitOverrides(") {
			return true
		}
	}
	return false
}
