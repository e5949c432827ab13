package core_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestSetWatchesManyWatchesSurviveReconnect: more watches than one
// setWatches frame holds, against a server that takes requests of at most
// 64 KiB (and a client told so), are all set again after a reconnect, in
// frames the server accepts, and every one fires.
func TestSetWatchesManyWatchesSurviveReconnect(t *testing.T) {
	const maxBuffer = 64 << 10
	srv := zktest.StartServer(t, zktest.WithJavaFlags(fmt.Sprintf("-Djute.maxbuffer=%d", maxBuffer)))
	proxy := zktest.StartProxy(t, srv.Addr())
	root := zktest.UniquePath(t)
	c := startClientB(t, proxy.Addr(), core.WithChroot(root), core.WithMaxDataSize(maxBuffer))
	other := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, 2*waitB)

	// Data, child and exists watches on paths that add up to more than the
	// default limit of 128 KiB, and persistent watchers of both modes.
	const perKind = 240
	long := strings.Repeat("w", 150)
	type watch struct {
		ch   <-chan core.Event
		typ  core.EventType
		path string
	}
	var (
		watches   []watch
		pathBytes int
	)
	for i := range perKind {
		data := fmt.Sprintf("/d%03d-%s", i, long)
		kids := fmt.Sprintf("/c%03d-%s", i, long)
		missing := fmt.Sprintf("/e%03d-%s", i, long)
		for _, p := range []string{data, kids} {
			_, err := c.Create(ctx, p, nil)
			require.NoError(t, err)
		}
		_, _, dataCh, err := c.GetW(ctx, data)
		require.NoError(t, err)
		_, _, kidsCh, err := c.GetChildrenW(ctx, kids)
		require.NoError(t, err)
		_, missingCh, err := c.ExistsW(ctx, missing)
		require.NoError(t, err)
		watches = append(watches,
			watch{dataCh, core.EventNodeDataChanged, data},
			watch{kidsCh, core.EventNodeChildrenChanged, kids},
			watch{missingCh, core.EventNodeCreated, missing})
		pathBytes += 3 * (4 + len(root) + len(data))
	}
	require.Greater(t, pathBytes, 128<<10)
	for _, p := range []string{"/pers", "/rec"} {
		_, err := c.Create(ctx, p, nil)
		require.NoError(t, err)
	}
	pw, err := c.AddWatch(ctx, "/pers", core.WatchPersistent)
	require.NoError(t, err)
	defer pw.Close()
	rw, err := c.AddWatch(ctx, "/rec", core.WatchPersistentRecursive)
	require.NoError(t, err)
	defer rw.Close()

	states := listenB(t, c)
	sess := c.Session()
	proxy.CutAll()
	waitCountB(t, states, core.StateConnected, 1)
	require.Equal(t, sess.ID(), c.Session().ID(), "the session survived")
	// The one-shot watches catch up on what changed before the server has
	// them again, the persistent ones do not: a round trip on the new
	// connection makes sure the server has them before the changes.
	_, err = c.Exists(ctx, "/pers")
	require.NoError(t, err)

	for _, w := range watches {
		var err error
		switch w.typ {
		case core.EventNodeDataChanged:
			_, err = other.SetData(ctx, w.path, []byte("new"))
		case core.EventNodeChildrenChanged:
			_, err = other.Create(ctx, w.path+"/kid", nil)
		case core.EventNodeCreated:
			_, err = other.Create(ctx, w.path, nil)
		}
		require.NoError(t, err, w.path)
	}
	_, err = other.SetData(ctx, "/pers", []byte("new"))
	require.NoError(t, err)
	_, err = other.Create(ctx, "/rec/kid", nil)
	require.NoError(t, err)

	for _, w := range watches {
		wantEventB(t, w.ch, w.typ, w.path)
	}
	wantEventB(t, pw.Events(), core.EventNodeDataChanged, "/pers")
	wantEventB(t, rw.Events(), core.EventNodeCreated, "/rec/kid")
	require.Equal(t, 1, states.count(core.StateSuspended), "one reconnect, no more: %v", states.snapshot())
}
