package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// An AddWatch whose ctx ends while the connection has stalled returns
// then, not once the connection is declared lost: setting the other
// watchers of the path back as they were does not hold the caller.
func TestAddWatchCtxOnStalledConnection(t *testing.T) {
	p := startProxiedB(t, 12*time.Second) // a read timeout of 8 s
	ctx := ctxB(t, waitB)
	_, err := p.c.Create(ctx, "/a", nil)
	require.NoError(t, err)
	plain, err := p.c.AddWatch(ctx, "/a", core.WatchPersistent)
	require.NoError(t, err)
	defer plain.Close()
	states := listenB(t, p.c)

	p.proxy.BlackHole(true)
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = p.c.AddWatch(short, "/a", core.WatchPersistentRecursive)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// The connection is declared lost 8 s after its last reply; a call
	// held until then returns just before the client goes Suspended.
	require.Never(t, func() bool { return states.count(core.StateSuspended) > 0 }, time.Second, 10*time.Millisecond,
		"AddWatch returned only once the connection was lost")
	p.proxy.BlackHole(false)
}

// An AddWatch answered before a one-shot read that crossed it waits for
// its watch to be set again on the server (see
// TestWatchAddedBeforeOneShotReadSeesNextChange). When its ctx ends during
// that wait, it returns ctx's error, as any call that gives up does, and
// takes its watch off: a watcher returned then could miss the changes made
// right after.
func TestAddWatchCtxEndsWhileItsWatchIsSetAgain(t *testing.T) {
	c, other, hold, gate := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/r", nil)
	require.NoError(t, err)

	hold.hold()
	addCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		w   *core.Watcher
		err error
	}
	added := make(chan result, 1)
	go func() {
		w, err := c.AddWatch(addCtx, "/r", core.WatchPersistentRecursive)
		added <- result{w, err}
	}()
	hold.waitWritten(t, proto.OpAddWatch, 1)
	got := goGetW(ctx, c, "/r")
	hold.waitWritten(t, proto.OpGetData, 1)
	hold.waitHeldReplies(t, 2)
	gate.set(true) // the watch set again waits here
	hold.release()
	require.Eventually(t, func() bool { return addWatchAwaits() || addWatchAwaitsRearm() }, waitB, time.Millisecond,
		"AddWatch did not wait for its watch to be set again")
	cancel()
	res := awaitR(t, ctx, added, "AddWatch")
	gate.set(false)
	if res.w != nil {
		require.NoError(t, res.w.Close())
	}
	require.ErrorIs(t, res.err, context.Canceled, "AddWatch returned a watcher whose watch was not yet in effect")
	require.NoError(t, awaitR(t, ctx, got, "GetW").err)

	// The read's one-shot watch fires and ends; no recursive watch is left.
	_, err = other.SetData(ctx, "/r", []byte("x"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return errors.Is(c.CheckWatches(ctx, "/r", core.WatchAny), core.ErrNoWatcher)
	}, waitB, 10*time.Millisecond, "the abandoned AddWatch left its watch")
}
