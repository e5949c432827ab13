package core_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// A session the client expired by its own timer may live on at the server
// for a while: the rest of its timeout, or a whole new one after a leader
// election. Its ephemeral nodes would stand in the way of the new
// session's, a lock's say. Once the client reaches a server again, it ends
// the session it gave up there, and its ephemeral nodes go.
func TestGivenUpSessionEndedOnServer(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	obs, logs := observer.New(zap.InfoLevel)
	c := startClientB(t, proxy.Addr(), core.WithChroot(root), core.WithLogger(zap.New(obs)),
		core.WithSessionTimeout(4*time.Second), core.WithConnectTimeout(500*time.Millisecond))
	direct := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	states := listenB(t, c)
	old := c.Session()
	_, err := c.Create(ctx, "/eph", nil, core.Ephemeral())
	require.NoError(t, err)

	proxy.BlackHole(true)
	waitCountB(t, states, core.StateExpired, 1)
	proxy.BlackHole(false)
	waitStateB(t, c, core.StateConnected)
	require.NotEqual(t, old.ID(), c.Session().ID())

	id := fmt.Sprintf("0x%x", old.ID())
	require.Eventually(t, func() bool {
		for _, e := range logs.FilterMessage("zk: ended on the server the session the client gave up").All() {
			if e.ContextMap()["session"] == id {
				return true
			}
		}
		return false
	}, waitB, tickB, "the client did not end the session it gave up")
	// The server has ended the session: its ephemeral node is gone.
	ok, err := direct.Exists(ctx, "/eph")
	require.NoError(t, err)
	require.False(t, ok, "the given-up session's ephemeral node is still there")
}

// A client closed before it reaches a server again ends the session it
// gave up on the way out, with its own: when Close returns, the server
// holds neither, nor their ephemeral nodes.
func TestGivenUpSessionEndedByClose(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	c := newClientB(t, proxy.Addr(), core.WithChroot(root),
		core.WithSessionTimeout(4*time.Second), core.WithConnectTimeout(500*time.Millisecond))
	require.NoError(t, c.Start(ctxB(t, waitB)))
	direct := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	states := listenB(t, c)
	_, err := c.Create(ctx, "/eph", nil, core.Ephemeral())
	require.NoError(t, err)

	proxy.BlackHole(true)
	waitCountB(t, states, core.StateExpired, 1)
	proxy.Refuse(true) // no connection until Close
	proxy.BlackHole(false)
	proxy.CutAll()
	proxy.Refuse(false)
	require.NoError(t, c.Close())
	ok, err := direct.Exists(ctx, "/eph")
	require.NoError(t, err)
	require.False(t, ok, "the given-up session's ephemeral node outlived Close")
}
