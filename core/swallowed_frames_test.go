package core_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// A setWatches frame lost on a connection that stays up (the proxy's hole
// toward the server swallows it whole) would leave the watch it sets dead
// on the server while the pings kept the connection alive. The server
// answers a session's frames in order, so the first ping answered before
// it ends the connection, and the next one registers every watch again.
// Here the frame is the re-arm of a one-shot watch that a persistent
// watcher served in the client, sent when the watcher closes.
func TestLostSetWatchesFrameFoundByPing(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	spy := newWireSpy()
	c := startClientB(t, proxy.Addr(), core.WithChroot(root), core.WithDialer(spy.dialer()),
		core.WithSessionTimeout(6*time.Second)) // a ping each 0.6 s when idle
	direct := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	_, err := direct.Create(ctx, "/a", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/a", core.WatchPersistent)
	require.NoError(t, err)
	_, _, fired, err := c.GetW(ctx, "/a") // served by w in the client
	require.NoError(t, err)
	states := listenB(t, c)

	// The removal goes out and is answered late; the setWatches its reply
	// sends is swallowed.
	proxy.SetLatency(300 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	require.Eventually(t, func() bool { return len(spy.requests(proto.OpRemoveWatches)) == 1 }, waitB, time.Millisecond)
	// Read by the proxy, and on its way with the latency: its reply comes
	// back 600 ms after it was sent, and the hole is on well before.
	time.Sleep(150 * time.Millisecond)
	before := proxy.Swallowed()
	proxy.BlackHoleToServer(true)
	require.Eventually(t, func() bool { return proxy.Swallowed() > before }, waitB, time.Millisecond)
	proxy.BlackHoleToServer(false)
	proxy.SetLatency(0)
	require.NoError(t, <-closed)

	waitCountB(t, states, core.StateSuspended, 1) // a ping found the frame lost
	waitStateB(t, c, core.StateConnected)
	_, err = direct.Set(ctx, "/a", []byte("x"), -1)
	require.NoError(t, err)
	wantEventB(t, fired, core.EventNodeDataChanged, "/a")
}
