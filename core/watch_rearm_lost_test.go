package core_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// A one-shot watch that a persistent watcher on its path served is set on
// the server again, relative to the zxid of the removal that takes the
// watcher's watch off, when the watcher closes. Here the connection is
// lost before the server applies that setting, after the client has read
// a reply past a change made in between: the next connection sets the
// watch relative to the removal's zxid too, so that the change still
// fires it, by the server's catch-up event.
func TestWatchRearmLostWithConnectionKeepsItsZxid(t *testing.T) {
	c, other, hold, gate := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/p", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/p", core.WatchPersistent)
	require.NoError(t, err)
	_, _, ch, err := c.GetW(ctx, "/p") // the watcher's watch serves it
	require.NoError(t, err)

	hold.hold()
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	hold.waitWritten(t, proto.OpRemoveWatches, 1)
	hold.waitHeldReplies(t, 1)
	// The session has no watch on /p now.
	_, err = other.SetData(ctx, "/p", []byte("changed"))
	require.NoError(t, err)
	exists := make(chan error, 1)
	go func() {
		_, err := c.Exists(ctx, "/")
		exists <- err
	}()
	hold.waitWritten(t, proto.OpExists, 1)
	hold.waitHeldReplies(t, 2)
	gate.set(true) // the setWatches that the removal's reply brings waits
	hold.release()
	gate.waitHeld(t, proto.OpSetWatches)
	require.NoError(t, awaitR(t, ctx, exists, "Exists"), "a reply past the change is read")
	require.NoError(t, awaitR(t, ctx, closed, "Close"))
	hold.cut() // the setWatches never reaches the server
	gate.set(false)

	_, err = c.GetData(ctx, "/p") // on the next connection
	require.NoError(t, err)
	firedBeforeR(t, ch, core.EventNodeDataChanged, "the GetW watch")
}
