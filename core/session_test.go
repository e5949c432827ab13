package core_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// drainToNotWatchingB reads a persistent watcher's events up to its final
// one, which must end it with cause, and checks that the channel then
// closes. Node events before the end are allowed: the expiry itself deletes
// the session's ephemeral nodes.
func drainToNotWatchingB(t testing.TB, ch <-chan core.Event, cause error) {
	t.Helper()
	for {
		ev := recvB(t, ch)
		if ev.Type != core.EventNotWatching {
			continue
		}
		require.ErrorIs(t, ev.Err, cause)
		requireClosedB(t, ch)
		return
	}
}

// requireSessionEndedB checks that sess has ended with cause.
func requireSessionEndedB(t testing.TB, sess *core.Session, cause error) {
	t.Helper()
	select {
	case <-sess.Done():
	case <-time.After(waitB):
		t.Fatal("Session().Done() not closed")
	}
	require.ErrorIs(t, sess.Err(), cause)
}

// expiryWatchesB leaves one-shot watches of every kind and persistent
// watchers on nodes the expiry does not touch.
type expiryWatchesB struct {
	exists, data, children <-chan core.Event
	persistent, recursive  *core.Watcher
}

func armExpiryWatchesB(t *testing.T, c *core.Client) expiryWatchesB {
	t.Helper()
	ctx := ctxB(t, waitB)
	var (
		w   expiryWatchesB
		err error
	)
	_, err = c.Create(ctx, "/data", []byte("d"))
	require.NoError(t, err)
	_, w.exists, err = c.ExistsW(ctx, "/missing")
	require.NoError(t, err)
	_, _, w.data, err = c.GetW(ctx, "/data")
	require.NoError(t, err)
	_, _, w.children, err = c.GetChildrenW(ctx, "/data")
	require.NoError(t, err)
	w.persistent, err = c.AddWatch(ctx, "/data", core.WatchPersistent)
	require.NoError(t, err)
	w.recursive, err = c.AddWatch(ctx, "/", core.WatchPersistentRecursive)
	require.NoError(t, err)
	return w
}

func (w expiryWatchesB) requireEnded(t *testing.T) {
	t.Helper()
	wantNotWatchingB(t, w.exists, core.ErrSessionExpired)
	wantNotWatchingB(t, w.data, core.ErrSessionExpired)
	wantNotWatchingB(t, w.children, core.ErrSessionExpired)
	wantNotWatchingB(t, w.persistent.Events(), core.ErrSessionExpired)
	drainToNotWatchingB(t, w.recursive.Events(), core.ErrSessionExpired)
}

// requireNewSessionB checks that c carries on after an expiry with a new
// session in which operations work.
func requireNewSessionB(t *testing.T, c *core.Client, old *core.Session) *core.Session {
	t.Helper()
	ctx := ctxB(t, waitB)
	sess, err := c.WaitSession(ctx)
	require.NoError(t, err)
	require.NotEqual(t, old.ID(), sess.ID(), "a new session")
	require.Same(t, sess, c.Session())
	require.NoError(t, sess.Err())

	ok, err := c.Exists(ctx, "/eph")
	require.NoError(t, err)
	require.False(t, ok, "the old session's ephemeral node is gone")
	p, err := c.Create(ctx, "/eph", []byte("again"), core.Ephemeral())
	require.NoError(t, err)
	require.Equal(t, "/eph", p)
	st, err := c.ExistsStat(ctx, "/eph")
	require.NoError(t, err)
	require.Equal(t, sess.ID(), st.EphemeralOwner)
	data, err := c.GetData(ctx, "/data")
	require.NoError(t, err)
	require.Equal(t, []byte("d"), data)
	return sess
}

// TestSessionExpiryForced expires the session on the server
// (zktest.ExpireSession): the client reports it exactly once, the
// ephemeral node is gone, every outstanding watch ends with
// ErrSessionExpired, the old Session ends, and a new session serves.
func TestSessionExpiryForced(t *testing.T) {
	// The client reaches the server through a proxy that refuses it while
	// the session is expired, so that it does not resume the session (and
	// close the expiring connection, as a server does on a resume) in the
	// middle of the expiry.
	srv := zktest.Shared(t)
	addr := srv.ConnString()
	proxy := zktest.StartProxy(t, srv.Addr())
	c := startClientB(t, proxy.Addr(), core.WithChroot(chrootB(t, addr)))
	ctx := ctxB(t, waitB)
	states := listenB(t, c)
	old := c.Session()
	require.NotNil(t, old)

	_, err := c.Create(ctx, "/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	watches := armExpiryWatchesB(t, c)
	bound, unbind := old.Bind(context.Background())
	defer unbind()
	require.NoError(t, bound.Err(), "the session lives")

	proxy.Refuse(true)
	require.NoError(t, zktest.ExpireSession(ctx, addr, old.ID(), old.Password()))
	waitCountB(t, states, core.StateSuspended, 1)
	proxy.Refuse(false)

	requireSessionEndedB(t, old, core.ErrSessionExpired)
	<-bound.Done()
	require.ErrorIs(t, context.Cause(bound), core.ErrSessionExpired, "a context bound to the session ends with it")
	watches.requireEnded(t)
	requireNewSessionB(t, c, old)
	want := []core.State{core.StateSuspended, core.StateExpired, core.StateConnecting, core.StateConnected}
	require.Eventually(t, func() bool { return len(states.snapshot()) >= len(want) }, waitB, tickB)
	require.Equal(t, want, states.snapshot(), "the expiry is reported once")
}

// TestSessionExpiryByDisconnection cuts the client off (the proxy swallows
// everything) for longer than a short session timeout: the client reports
// the expiry exactly once, ends its watches and session, the server drops
// the ephemeral node, and once the network heals the client carries on
// with a new session.
func TestSessionExpiryByDisconnection(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	c := startClientB(t, proxy.Addr(),
		core.WithChroot(root),
		core.WithSessionTimeout(1500*time.Millisecond),
		core.WithConnectTimeout(500*time.Millisecond))
	observer := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	states := listenB(t, c)
	old := c.Session()
	require.NotNil(t, old)

	_, err := c.Create(ctx, "/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	watches := armExpiryWatchesB(t, c)

	proxy.BlackHole(true)
	// Calls tied to the session, waiting for a connection or for a reply,
	// fail with it while the client is still cut off.
	waitCountB(t, states, core.StateSuspended, 1)
	tied := core.WithSession(ctx, old)
	_, err = c.GetData(tied, "/eph")
	require.ErrorIs(t, err, core.ErrSessionExpired, "a call waiting for a connection")
	require.NoError(t, ctx.Err())
	waitCountB(t, states, core.StateExpired, 1)
	_, err = c.Create(tied, "/late", nil)
	require.ErrorIs(t, err, core.ErrSessionExpired, "a call made after the session ended")
	requireSessionEndedB(t, old, core.ErrSessionExpired)
	watches.requireEnded(t)
	require.Eventually(t, func() bool {
		ok, err := observer.Exists(ctx, "/eph")
		return err == nil && !ok
	}, waitB, tickB, "the server expires the session and drops its ephemeral node")

	proxy.BlackHole(false)
	requireNewSessionB(t, c, old)
	waitCountB(t, states, core.StateConnected, 1)
	got := states.snapshot()
	require.Equal(t, 1, states.count(core.StateExpired), "transitions %v", got)
	require.Equal(t, core.StateSuspended, got[0], "transitions %v", got)
	require.Equal(t, core.StateConnected, got[len(got)-1], "transitions %v", got)
}

// TestStateListenersInOrder: two listeners, the first slow (and once
// stuck), see every transition of three connection cuts in order, and a
// stuck listener holds up neither the reconnect nor requests.
func TestStateListenersInOrder(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	c := newClientB(t, proxy.Addr(), core.WithChroot(root))

	var (
		slow, fast stateLog
		stuck      = make(chan struct{})
		released   = make(chan struct{})
	)
	first := true
	c.AddStateListener(func(s core.State) {
		if s == core.StateSuspended && first {
			first = false
			close(stuck)
			<-released
		}
		time.Sleep(20 * time.Millisecond)
		slow.record(s)
	})
	c.AddStateListener(fast.record)
	ctx := ctxB(t, waitB)
	require.NoError(t, c.Start(ctx))
	_, err := c.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)

	// First cut: the slow listener is stuck in the Suspended call, yet the
	// client reconnects and serves.
	proxy.CutAll()
	<-stuck
	waitStateB(t, c, core.StateConnected)
	data, err := c.GetData(ctx, "/n")
	require.NoError(t, err)
	require.Equal(t, []byte("v"), data)
	close(released)
	waitCountB(t, &fast, core.StateConnected, 2)

	for i := 3; i <= 4; i++ {
		proxy.CutAll()
		waitCountB(t, &fast, core.StateConnected, i)
	}
	want := []core.State{core.StateConnected}
	for range 3 {
		want = append(want, core.StateSuspended, core.StateConnected)
	}
	require.Eventually(t, func() bool { return len(slow.snapshot()) >= len(want) }, waitB, tickB)
	require.Equal(t, want, slow.snapshot())
	require.Equal(t, want, fast.snapshot())

	// Close delivers its transition before it returns.
	require.NoError(t, c.Close())
	want = append(want, core.StateClosed)
	require.Equal(t, want, slow.snapshot())
	require.Equal(t, want, fast.snapshot())
}

var zxidLine = regexp.MustCompile(`(?m)^Zxid: 0x([0-9a-fA-F]+)`)

// serverZxidB asks a server for its last zxid ("srvr").
func serverZxidB(t *testing.T, s *zktest.Server) int64 {
	t.Helper()
	out, err := s.FourLetter(ctxB(t, waitB), "srvr")
	require.NoError(t, err)
	m := zxidLine.FindStringSubmatch(out)
	require.NotNil(t, m, "srvr: %s", out)
	v, err := strconv.ParseUint(m[1], 16, 64)
	require.NoError(t, err)
	return int64(v)
}

// TestSessionClientAheadOfServer (SCENARIO 7): a client that has seen a
// newer zxid than server Y is refused by Y, does not get stuck on it, and
// resumes its session on X once X is back.
func TestSessionClientAheadOfServer(t *testing.T) {
	x := zktest.StartServer(t)
	y := zktest.StartServer(t)
	spy := newWireSpy()
	// Y is kept out until the client has a session and writes on X.
	spy.setRefuse(y.Addr(), true)
	c := startClientB(t, y.Addr()+","+x.Addr(),
		core.WithDialer(spy.dialer()),
		core.WithSessionTimeout(30*time.Second),
		core.WithConnectTimeout(2*time.Second))
	ctx := ctxB(t, 2*waitB)
	sess := c.Session()
	const n = 20
	for i := range n {
		_, err := c.Create(ctx, fmt.Sprintf("/n%02d", i), []byte(strconv.Itoa(i)))
		require.NoError(t, err)
	}
	require.Greater(t, c.LastZxid(), serverZxidB(t, y), "the client is ahead of Y")

	states := listenB(t, c)
	spy.setRefuse(y.Addr(), false)
	dialsY := spy.dialsTo(y.Addr())
	require.NoError(t, x.Stop())
	waitCountB(t, states, core.StateSuspended, 1)

	// While X is down, the client keeps trying Y, which refuses it.
	require.Eventually(t, func() bool { return spy.dialsTo(y.Addr()) >= dialsY+3 }, waitB, tickB)
	require.Eventually(t, func() bool {
		log, err := os.ReadFile(y.LogPath())
		return err == nil && strings.Contains(string(log), "Refusing session request")
	}, waitB, tickB, "Y refuses the client that is ahead of it")
	require.Zero(t, states.count(core.StateConnected), "connected while only Y runs: %v", states.snapshot())

	require.NoError(t, x.Restart())
	waitCountB(t, states, core.StateConnected, 1)
	require.Zero(t, states.count(core.StateExpired))
	require.Equal(t, sess.ID(), c.Session().ID(), "the session goes on")
	cons, err := x.FourLetter(ctx, "cons")
	require.NoError(t, err)
	require.Contains(t, cons, fmt.Sprintf("sid=0x%x", sess.ID()), "connected to X")
	for i := range n {
		data, err := c.GetData(ctx, fmt.Sprintf("/n%02d", i))
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(i), string(data))
	}
}

// A client whose session ends while it is ahead of every server it can
// reach (the only server lost its data: restored from an old backup, or
// rebuilt) makes a new session there. A new session has seen nothing, as
// a new handle of the Java client has not: asking for it with the ended
// session's zxid had the server refuse the client for ever.
func TestSessionNewAfterServerLostItsData(t *testing.T) {
	srv := zktest.StartServer(t)
	c := startClientB(t, srv.ConnString(),
		core.WithSessionTimeout(4*time.Second), core.WithConnectTimeout(time.Second))
	states := listenB(t, c)
	ctx := ctxB(t, waitB)
	for i := range 10 {
		_, err := c.Create(ctx, fmt.Sprintf("/n%d", i), nil)
		require.NoError(t, err)
	}
	old := c.Session()
	seen := c.LastZxid()

	require.NoError(t, srv.Stop())
	data := filepath.Join(srv.Dir(), "data")
	require.NoError(t, os.RemoveAll(data))
	require.NoError(t, os.MkdirAll(data, 0o755))
	require.NoError(t, srv.Restart())
	require.Less(t, serverZxidB(t, srv), seen, "the client is ahead of the server")

	requireSessionEndedB(t, old, core.ErrSessionExpired)
	fresh, err := c.WaitSession(ctx)
	require.NoError(t, err, "states %v", states.snapshot())
	require.NotEqual(t, old.ID(), fresh.ID())
	_, err = c.Create(ctx, "/after", nil)
	require.NoError(t, err)

	// The new session is resumed after a restart of the server.
	require.NoError(t, srv.Restart())
	_, err = c.Create(ctx, "/after-restart", nil)
	require.NoError(t, err)
	require.Same(t, fresh, c.Session())
}
