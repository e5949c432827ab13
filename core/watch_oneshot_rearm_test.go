package core_test

import (
	"context"
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
	r := startOneShotRearmRace(t)
	second := addedAfterGate(t, r.ctx, r.added, r.gate, func() {
		_, err := r.other.Create(r.ctx, "/n/kid", nil)
		require.NoError(t, err)
	})
	require.NoError(t, awaitR(t, r.ctx, r.closed, "Close"))
	// A round trip: the server has applied whatever c sent before it.
	require.NoError(t, r.c.Sync(r.ctx, "/n"))
	for _, data := range []string{"x", "y", "z"} {
		_, err := r.other.SetData(r.ctx, "/n", []byte(data))
		require.NoError(t, err)
	}
	wantEventB(t, second.Events(), core.EventNodeChildrenChanged, "/n")
	for range 3 {
		wantEventB(t, second.Events(), core.EventNodeDataChanged, "/n")
	}
	wantEventB(t, r.oneShot, core.EventNodeDataChanged, "/n")
}

// The same one-shot watches, set again after a removal and lost with
// their connection before they were applied, override nothing any more:
// the AddWatch that waits for them returns, and the next connection sets
// its watch, which sees the changes made after.
func TestWatchOneShotRearmLostEndsOverride(t *testing.T) {
	r := startOneShotRearmRace(t)
	require.Eventually(t, addWatchAwaits, waitB, time.Millisecond, "AddWatch waits for the one-shot watches to be applied")
	r.hold.cut()
	r.gate.set(false)
	second := awaitR(t, r.ctx, r.added, "AddWatch")
	require.NoError(t, r.ctx.Err(), "AddWatch waited for frames lost with their connection")

	waitStateB(t, r.c, core.StateConnected)
	require.NoError(t, r.c.Sync(r.ctx, "/n"))
	_, err := r.other.SetData(r.ctx, "/n", []byte("x"))
	require.NoError(t, err)
	wantEventB(t, second.Events(), core.EventNodeDataChanged, "/n")
}

// oneShotRearmRace is a client c caught between the release of /n's last
// persistent watcher and a new AddWatch on /n: the server has applied the
// removal, then the new addWatch, and c has read both replies, so the
// one-shot watch it holds on /n (oneShot, from a read made while the
// first watcher held the path) is to be set again; what c sends waits at
// the shut gate.
type oneShotRearmRace struct {
	ctx      context.Context
	c, other *core.Client
	hold     *replyHold
	gate     *writeGate
	added    <-chan *core.Watcher
	closed   <-chan error
	oneShot  <-chan core.Event
}

func startOneShotRearmRace(t *testing.T) oneShotRearmRace {
	t.Helper()
	c, other, hold, gate := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	first, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)
	_, _, oneShot, err := c.GetW(ctx, "/n")
	require.NoError(t, err)

	hold.hold()
	closed := make(chan error, 1)
	go func() { closed <- first.Close() }()
	hold.waitWritten(t, proto.OpRemoveWatches, 1)
	added := goAddWatch(t, ctx, c, "/n", core.WatchPersistent)
	hold.waitWritten(t, proto.OpAddWatch, 2)
	hold.waitHeldReplies(t, 2)
	gate.set(true)
	hold.release()
	return oneShotRearmRace{ctx: ctx, c: c, other: other, hold: hold, gate: gate, added: added, closed: closed, oneShot: oneShot}
}
