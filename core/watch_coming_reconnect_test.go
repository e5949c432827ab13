package core_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// A recursive AddWatch beside a plain watcher that is still under way
// when the client reconnects has the new connection set the path
// recursive (see watchRegistry.coming) before its addWatch goes out. From
// then on the server sends the path's children's creates and deletes and
// no NodeChildrenChanged: the plain watcher must still see its children
// change before the addWatch is answered.
func TestWatchPlainSeesChildrenWhileRecursiveComesAfterReconnect(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	gate := newOpGate(proto.OpAddWatch)
	c := startClientB(t, proxy.Addr(), core.WithChroot(root), core.WithDialer(gate.dialer()),
		core.WithSessionTimeout(10*time.Second), core.WithConnectTimeout(500*time.Millisecond))
	other := startClientB(t, srv.ConnString(), core.WithChroot(root))
	states := listenB(t, c)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	plain, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)
	// A one-shot watch whose catch-up event tells that the server has
	// applied the new connection's setWatches.
	_, applied, err := c.ExistsW(ctx, "/s")
	require.NoError(t, err)

	proxy.Refuse(true)
	proxy.CutAll()
	waitCountB(t, states, core.StateSuspended, 1)
	gate.set(true)
	added := goAddWatch(t, ctx, c, "/n", core.WatchPersistentRecursive)
	waitParkedB(t, "(*Client).AddWatch", "(*Client).waitReady")
	_, err = other.Create(ctx, "/s", nil)
	require.NoError(t, err)
	proxy.Refuse(false)
	wantEventB(t, applied, core.EventNodeCreated, "/s")
	gate.waitHeld(t)
	// The server's watch on /n is recursive; the addWatch waits.
	_, err = other.Create(ctx, "/n/kid", nil)
	require.NoError(t, err)
	gate.set(false)
	rec := awaitR(t, ctx, added, "AddWatch")
	require.NotNil(t, rec)

	// A later reply comes after every event the server sent before it.
	_, err = c.GetData(ctx, "/n")
	require.NoError(t, err)
	firedBeforeR(t, plain.Events(), core.EventNodeChildrenChanged, "the plain watcher")
	requireNoEventB(t, plain.Events())
}
