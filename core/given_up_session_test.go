package core_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const (
	givenUpEnded   = "zk: ended on the server the session the client gave up"
	givenUpExpired = "zk: the session the client gave up had expired on the server"
)

// givenUpB is a client behind a proxy whose session the server keeps
// while the client gives it up: the way to the client is cut, so the
// client hears nothing and expires the session by its own timer, while
// its pings and connect requests still reach the server.
type givenUpB struct {
	proxy  *zktest.Proxy
	c      *core.Client
	direct *core.Client // the same chroot, straight to the server
	logs   *observer.ObservedLogs
	states *stateLog
	old    *core.Session
	refuse atomic.Bool // the client's dials fail while set
	// failEnd makes the next dial to end a session fail: one with more
	// than a second to go, where a connection attempt has 500 ms.
	failEnd atomic.Bool
}

func startGivenUpB(t *testing.T) *givenUpB {
	t.Helper()
	srv := zktest.Shared(t)
	g := &givenUpB{proxy: zktest.StartProxy(t, srv.Addr())}
	root := chrootB(t, srv.ConnString())
	obs, logs := observer.New(zap.InfoLevel)
	g.logs = logs
	var d net.Dialer
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if g.refuse.Load() {
			return nil, errors.New("refused by the test")
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) > time.Second && g.failEnd.CompareAndSwap(true, false) {
			return nil, errors.New("refused by the test")
		}
		return d.DialContext(ctx, network, addr)
	}
	g.c = startClientB(t, g.proxy.Addr(), core.WithChroot(root), core.WithLogger(zap.New(obs)), core.WithDialer(dial),
		core.WithSessionTimeout(4*time.Second), core.WithConnectTimeout(500*time.Millisecond))
	g.direct = startClientB(t, srv.ConnString(), core.WithChroot(root))
	g.states = listenB(t, g.c)
	g.old = g.c.Session()
	_, err := g.c.Create(ctxB(t, waitB), "/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	return g
}

// giveUp cuts the way to the client until the client has expired its
// session, and turns the hole off again.
func (g *givenUpB) giveUp(t *testing.T) {
	t.Helper()
	g.proxy.BlackHoleToClient(true)
	waitCountB(t, g.states, core.StateExpired, 1)
	g.proxy.BlackHoleToClient(false)
	g.proxy.CutAll() // the connections whose answers were swallowed
}

// requireNodeGone checks that the ended session's ephemeral node is gone.
func (g *givenUpB) requireNodeGone(t *testing.T, ctx context.Context, msg string) {
	t.Helper()
	ok, err := g.direct.Exists(ctx, "/eph")
	require.NoError(t, err)
	require.False(t, ok, msg)
}

func (g *givenUpB) logged(msg string) bool {
	id := fmt.Sprintf("0x%x", g.old.ID())
	for _, e := range g.logs.FilterMessage(msg).All() {
		if e.ContextMap()["session"] == id {
			return true
		}
	}
	return false
}

// A session the client expired by its own timer may live on at the server
// for a while: the rest of its timeout, or a whole new one after a leader
// election. Its ephemeral nodes would stand in the way of the new
// session's, a lock's say. Once the client reaches a server again, it ends
// the session it gave up there, and its ephemeral nodes go.
func TestGivenUpSessionEndedOnServer(t *testing.T) {
	g := startGivenUpB(t)
	ctx := ctxB(t, waitB)
	g.giveUp(t)
	waitStateB(t, g.c, core.StateConnected)
	require.NotEqual(t, g.old.ID(), g.c.Session().ID())

	require.Eventually(t, func() bool { return g.logged(givenUpEnded) || g.logged(givenUpExpired) },
		waitB, tickB, "the client did not end the session it gave up")
	require.True(t, g.logged(givenUpEnded), "the server expired the session first: the test shows nothing")
	g.requireNodeGone(t, ctx, "the given-up session's ephemeral node is still there")
}

// A client closed before it reaches a server again ends the session it
// gave up on the way out: when Close returns, the server no longer holds
// it, nor its ephemeral nodes.
func TestGivenUpSessionEndedByClose(t *testing.T) {
	g := startGivenUpB(t)
	ctx := ctxB(t, waitB)
	g.refuse.Store(true) // once the session is given up, no connection until Close
	g.giveUp(t)
	g.refuse.Store(false) // Close's own connection goes through
	require.NoError(t, g.c.Close())

	require.False(t, g.logged(givenUpEnded) || g.logged(givenUpExpired), "a connection, not Close, ended it")
	g.requireNodeGone(t, ctx, "the given-up session's ephemeral node outlived Close")
}

// When the first try to end the given-up session fails, the session stays
// given up, and the next connection tries again.
func TestGivenUpSessionTriedAgain(t *testing.T) {
	g := startGivenUpB(t)
	ctx := ctxB(t, waitB)
	g.proxy.BlackHoleToClient(true)
	waitCountB(t, g.states, core.StateExpired, 1)
	g.refuse.Store(true)
	g.proxy.BlackHoleToClient(false)
	g.proxy.CutAll()
	g.failEnd.Store(true) // the reconnect goes through; ending the session does not
	g.refuse.Store(false)
	require.Eventually(t, func() bool {
		return len(g.logs.FilterMessage("zk: could not end the session on the server; it ends when it times out").All()) > 0
	}, waitB, tickB, "the first try to end the given-up session did not fail")
	require.False(t, g.logged(givenUpEnded))

	g.proxy.CutAll() // the next connection tries again
	require.Eventually(t, func() bool { return g.logged(givenUpEnded) }, waitB, tickB,
		"the next connection did not end the session given up")
	g.requireNodeGone(t, ctx, "the given-up session's ephemeral node is still there")
}
