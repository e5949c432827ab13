package core_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestReadOnlyMode (SCENARIO 11): with two of three servers stopped, a
// client that allows read-only mode connects read-only; reads work and
// writes fail with ErrNotReadOnly. Once the quorum is back, it moves to a
// read-write server and writes work again.
//
// ZooKeeper 3.8 serves read-only only sessions local to the read-only
// server. With local sessions disabled, its default, a read-only server
// answers every new session with a NotReadOnly error instead of a connect
// response, and it refuses to resume a global session. So this ensemble
// enables local sessions (and their upgrade to global ones, which an
// ephemeral node needs), and a client that had a read-write session gets
// to read-only mode once that session has expired.
func TestReadOnlyMode(t *testing.T) {
	e := zktest.StartEnsemble(t, 3,
		zktest.WithConfig("localSessionsEnabled", "true"),
		zktest.WithConfig("localSessionsUpgradingEnabled", "true"))
	root := chrootB(t, e.ConnString())
	ctx := ctxB(t, 3*waitB)
	setup := startClientB(t, e.ConnString(), core.WithChroot(root))
	_, err := setup.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)
	_, err = setup.Create(ctx, "/n/kid", nil)
	require.NoError(t, err)
	require.NoError(t, setup.Close())

	// A client with a read-write session, before the quorum goes.
	existing := startClientB(t, e.ConnString(),
		core.WithChroot(root),
		core.WithAllowReadOnly(true),
		core.WithSessionTimeout(3*time.Second))
	existingStates := listenB(t, existing)
	require.Equal(t, core.StateConnected, existing.State())

	servers := e.Servers()
	stopped := servers[:2]
	for _, s := range stopped {
		require.NoError(t, s.Stop())
	}
	restarted := false
	defer func() {
		if !restarted {
			for _, s := range stopped {
				restartB(t, e, s)
			}
		}
	}()
	require.Eventually(t, func() bool {
		mode, err := servers[2].Mode()
		return err == nil && mode == zktest.ModeReadOnly
	}, waitB, 50*time.Millisecond, "the last server serves read-only")

	// A new client connects read-only straight away; one that does not
	// allow it gets no connection.
	fresh := startClientB(t, e.ConnString(), core.WithChroot(root), core.WithAllowReadOnly(true))
	require.Equal(t, core.StateConnectedReadOnly, fresh.State())
	strict := newClientB(t, e.ConnString(), core.WithChroot(root))
	strictCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	require.Error(t, strict.Start(strictCtx), "connected without a quorum")

	// The existing client connects read-only once its session is gone.
	waitCountB(t, existingStates, core.StateConnectedReadOnly, 1)
	got := existingStates.snapshot()
	expired := slices.Index(got, core.StateExpired)
	require.GreaterOrEqual(t, expired, 0, "transitions %v", got)
	require.Less(t, expired, slices.Index(got, core.StateConnectedReadOnly), "transitions %v", got)

	for name, c := range map[string]*core.Client{"fresh": fresh, "existing": existing} {
		data, err := c.GetData(ctx, "/n")
		require.NoError(t, err, name)
		require.Equal(t, []byte("v"), data, name)
		kids, err := c.GetChildren(ctx, "/n")
		require.NoError(t, err, name)
		require.Equal(t, []string{"kid"}, kids, name)

		_, err = c.Create(ctx, "/w-"+name, nil)
		require.ErrorIs(t, err, core.ErrNotReadOnly, name)
		_, err = c.SetData(ctx, "/n", []byte("x"), core.Force())
		require.ErrorIs(t, err, core.ErrNotReadOnly, name)
		require.ErrorIs(t, c.Delete(ctx, "/n/kid"), core.ErrNotReadOnly, name)
	}

	// Watches set while read-only carry over to the read-write session.
	readOnly := fresh.Session()
	_, _, dataWatch, err := fresh.GetW(ctx, "/n")
	require.NoError(t, err)
	watcher, err := fresh.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)

	freshStates := listenB(t, fresh)
	for _, s := range stopped {
		require.NoError(t, s.Restart())
	}
	_, err = e.WaitLeader(ctx)
	require.NoError(t, err)
	restarted = true

	for name, c := range map[string]*core.Client{"fresh": fresh, "existing": existing} {
		states := freshStates
		if name == "existing" {
			states = existingStates
		}
		waitCountB(t, states, core.StateConnected, 1)
		p, err := c.Create(ctx, "/w-"+name, []byte(name))
		require.NoError(t, err, name)
		require.Equal(t, "/w-"+name, p)
		data, err := c.GetData(ctx, p)
		require.NoError(t, err, name)
		require.Equal(t, []byte(name), data, name)
		sess, err := c.WaitSession(ctx)
		require.NoError(t, err, name)
		_, err = c.Create(ctx, "/eph-"+name, nil, core.Ephemeral())
		require.NoError(t, err, name)
		st, err := c.ExistsStat(ctx, "/eph-"+name)
		require.NoError(t, err, name)
		require.Equal(t, sess.ID(), st.EphemeralOwner, name)
	}

	requireSessionEndedB(t, readOnly, core.ErrSessionExpired)
	require.NotSame(t, readOnly, fresh.Session())
	_, err = fresh.SetData(ctx, "/n", []byte("w"), core.Force())
	require.NoError(t, err)
	wantEventB(t, dataWatch, core.EventNodeDataChanged, "/n")
	wantEventB(t, watcher.Events(), core.EventNodeDataChanged, "/n")
	require.Zero(t, freshStates.count(core.StateExpired), "transitions %v", freshStates.snapshot())
}
