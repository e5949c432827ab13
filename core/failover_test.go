package core_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestEnsembleFailover runs the failover tests on one ensemble of three,
// to spare the machine: each subtest leaves every server running.
func TestEnsembleFailover(t *testing.T) {
	e := zktest.StartEnsemble(t, 3)
	t.Run("SessionMovesOnKill", func(t *testing.T) { testSessionMovesOnKill(t, e) })
	t.Run("WatchesAcrossKill", func(t *testing.T) { testWatchesAcrossKill(t, e) })
	t.Run("WritesAcrossKills", func(t *testing.T) { testWritesAcrossKills(t, e) })
}

// testWritesAcrossKills: eight workers (see faultWorker) write while the
// server that holds the client's session is killed twice, then the
// leader, each brought back before the next kill. No acknowledged write
// is lost, none is doubled, and every failed one was applied at most once.
func testWritesAcrossKills(t *testing.T, e *zktest.Ensemble) {
	root := chrootB(t, e.ConnString())
	c := startClientB(t, e.ConnString(), core.WithChroot(root), core.WithSessionTimeout(10*time.Second))
	sess := c.Session().ID()
	finish := startFaultWorkers(t, c, 8)
	var killed []string
	for round := range 3 {
		time.Sleep(300 * time.Millisecond) // let writes flow
		srv := sessionServerB(t, e, c)
		if round == 2 {
			leader, err := e.Leader()
			require.NoError(t, err)
			srv = leader
		}
		killed = append(killed, srv.Addr())
		require.NoError(t, srv.Kill())
		time.Sleep(500 * time.Millisecond) // writes go on against the others
		restartB(t, e, srv)
	}
	ws := finish()
	if t.Failed() {
		return
	}
	ctx := ctxB(t, waitB)
	ok, failed := verifyFaultWorkers(ctx, t, ws)
	require.Equal(t, sess, c.Session().ID(), "the session survived")
	t.Logf("killed %v: %d writes acknowledged, %d failed", killed, ok, failed)
}

// sessionServerB finds the server that holds c's session.
func sessionServerB(t *testing.T, e *zktest.Ensemble, c *core.Client) *zktest.Server {
	t.Helper()
	var srv *zktest.Server
	require.Eventually(t, func() bool {
		s, err := e.SessionServer(ctxB(t, waitB), c.Session().ID())
		srv = s
		return err == nil
	}, waitB, 50*time.Millisecond, "no server holds the session")
	return srv
}

// othersB lists the addresses of the ensemble's servers other than srv.
func othersB(e *zktest.Ensemble, srv *zktest.Server) string {
	var addrs []string
	for _, s := range e.Servers() {
		if s != srv {
			addrs = append(addrs, s.Addr())
		}
	}
	return strings.Join(addrs, ",")
}

// restartB brings a stopped server back and waits for the quorum to settle,
// so that the next subtest finds the ensemble whole.
func restartB(t *testing.T, e *zktest.Ensemble, srv *zktest.Server) {
	t.Helper()
	require.NoError(t, srv.Restart())
	_, err := e.WaitLeader(ctxB(t, waitB))
	require.NoError(t, err)
}

// testSessionMovesOnKill (SCENARIO 6): killing the server a client is
// connected to moves the client to another server with the same session;
// its ephemeral node survives and no acknowledged write is lost.
func testSessionMovesOnKill(t *testing.T, e *zktest.Ensemble) {
	root := chrootB(t, e.ConnString())
	c := startClientB(t, e.ConnString(), core.WithChroot(root), core.WithSessionTimeout(20*time.Second))
	ctx := ctxB(t, 2*waitB)
	sess := c.Session()
	_, err := c.Create(ctx, "/eph", []byte("alive"), core.Ephemeral())
	require.NoError(t, err)
	const n = 50
	for i := range n {
		_, err := c.Create(ctx, fmt.Sprintf("/w%03d", i), []byte(strconv.Itoa(i)))
		require.NoError(t, err)
	}

	// Writes keep going while the server dies: every one the client
	// acknowledges must be there afterwards.
	states := listenB(t, c)
	stopWriting := make(chan struct{})
	acked := make(chan []string, 1)
	var ackedSoFar atomic.Int32
	go func() {
		var done []string
		for i := 0; ; i++ {
			select {
			case <-stopWriting:
				acked <- done
				return
			default:
			}
			p := fmt.Sprintf("/x%05d", i)
			if _, err := c.Create(ctx, p, []byte(p)); err == nil {
				done = append(done, p)
				ackedSoFar.Add(1)
			}
		}
	}()
	require.Eventually(t, func() bool { return ackedSoFar.Load() >= 5 }, waitB, tickB, "the writer is under way")
	srv := sessionServerB(t, e, c)
	require.NoError(t, srv.Kill())
	defer restartB(t, e, srv)

	waitCountB(t, states, core.StateSuspended, 1)
	waitCountB(t, states, core.StateConnected, 1)
	_, err = c.Create(ctx, "/reconnected", nil)
	require.NoError(t, err)
	close(stopWriting)
	writes := <-acked
	require.Zero(t, states.count(core.StateExpired))
	require.Equal(t, sess.ID(), c.Session().ID(), "the same session")
	require.NoError(t, sess.Err())
	moved := sessionServerB(t, e, c)
	require.NotSame(t, srv, moved)

	for i := range n {
		data, err := c.GetData(ctx, fmt.Sprintf("/w%03d", i))
		require.NoError(t, err, "write %d", i)
		require.Equal(t, strconv.Itoa(i), string(data))
	}
	kids, err := c.GetChildren(ctx, "/")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(kids), n+2+len(writes))

	// Another session, on the surviving servers, sees the ephemeral node
	// still owned by the session, and every acknowledged write.
	observer := startClientB(t, othersB(e, srv), core.WithChroot(root))
	st, err := observer.ExistsStat(ctx, "/eph")
	require.NoError(t, err)
	require.NotNil(t, st, "the ephemeral node survived")
	require.Equal(t, sess.ID(), st.EphemeralOwner)
	require.NotEmpty(t, writes)
	for _, p := range writes {
		data, err := observer.GetData(ctx, p)
		require.NoError(t, err, "acknowledged write %s", p)
		require.Equal(t, p, string(data))
	}

	_, err = c.Create(ctx, "/after", nil)
	require.NoError(t, err, "writes go on")
}

// testWatchesAcrossKill: watches of every kind fire for changes made while
// the client's server is killed and the client moves to another server.
func testWatchesAcrossKill(t *testing.T, e *zktest.Ensemble) {
	root := chrootB(t, e.ConnString())
	c := startClientB(t, e.ConnString(), core.WithChroot(root), core.WithSessionTimeout(20*time.Second))
	ctx := ctxB(t, 2*waitB)
	w := armAwayWatchesB(t, c)
	pw, err := c.AddWatch(ctx, "/data", core.WatchPersistent)
	require.NoError(t, err)
	defer pw.Close()

	srv := sessionServerB(t, e, c)
	// The changes come from a client of the other servers, so that none of
	// them is lost in flight with the killed server.
	other := startClientB(t, othersB(e, srv), core.WithChroot(root))
	_, err = other.Exists(ctx, "/")
	require.NoError(t, err)
	sess := c.Session()

	require.NoError(t, srv.Kill())
	defer restartB(t, e, srv)
	changeAwayB(t, other)

	w.requireFired(t)
	wantEventB(t, pw.Events(), core.EventNodeDataChanged, "/data")
	require.Equal(t, sess.ID(), c.Session().ID())

	// The persistent watch goes on on the new server.
	_, err = other.SetData(ctx, "/data", []byte("again"))
	require.NoError(t, err)
	wantEventB(t, pw.Events(), core.EventNodeDataChanged, "/data")
}
