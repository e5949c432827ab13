package core_test

// The "ensemble failover" variant of TestWatchModel: its rounds run on an
// ensemble of three, and the killer kills the server the watching client is
// connected to, again and again, so that the client fails over to another
// server with its session and its watches.

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/zktest"
)

// runFailoverRounds runs the rounds of the variant on one ensemble, started
// once for them all: a start costs seconds.
func runFailoverRounds(t *testing.T, seed int64, rounds int) {
	e := startModelEnsemble(t)
	admin := startClientB(t, e.ConnString())
	for i := range rounds {
		s := seed + int64(i)
		t.Logf("round %d: seed %d (replay with %s=%d)", i, s, modelSeedEnv, s)
		root := fmt.Sprintf("/model-%d", i)
		_, err := admin.Create(ctxB(t, waitB), root, nil)
		require.NoError(t, err)
		runModelRound(t, root, s, modelEnv{servers: e.ConnString(), ensemble: e})
		if t.Failed() {
			return
		}
	}
}

// startModelEnsemble is zktest.StartEnsemble(t, 3) but for one thing: the
// test is not bound to the servers, so that their Kill and Restart, which
// the killer calls from its own goroutine, return an error rather than
// fail the test from a goroutine other than the test's, which testing
// does not allow.
func startModelEnsemble(t *testing.T) *zktest.Ensemble {
	t.Helper()
	e, err := zktest.NewEnsemble(t.Context(), 3, zktest.WithDir(t.TempDir()))
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range e.Servers() {
				t.Logf("last lines of %s:\n%s", s.LogPath(), s.LogTail(40))
			}
		}
		if err := e.Close(); err != nil {
			t.Errorf("closing the ensemble: %v", err)
		}
	})
	return e
}

// killer kills the server the watching client is connected to now and
// then, while it is connected, and restarts it after a short pause. One
// server at most is down at a time, so the other two keep a quorum and the
// session lives on; each kill waits for the ensemble to be whole again,
// and when the killer returns every server runs.
func (r *modelRound) killer(rng *rand.Rand) {
	kills, leaders := 0, 0
	defer func() {
		r.t.Logf("killed the watching client's server %d times, %d of them the leader", kills, leaders)
	}()
	for r.nextFault(rng) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv, err := r.env.ensemble.SessionServer(ctx, r.session.ID())
		if err != nil {
			cancel()
			continue
		}
		// Every change finished before the barrier started has reached the
		// client when it returns, before the kill.
		start := r.log.now()
		err = r.barrier(ctx)
		cancel()
		if err != nil {
			continue
		}
		r.monitor.willCut(start)
		if mode, err := srv.Mode(); err == nil && mode == zktest.ModeLeader {
			leaders++
		}
		if err := srv.Kill(); err != nil {
			r.t.Errorf("killing %s: %v", srv.Addr(), err)
			return
		}
		kills++
		time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
		if !r.restart(srv) {
			return
		}
	}
}

// restart brings srv back and waits for the ensemble to settle on a leader,
// reporting whether it did.
func (r *modelRound) restart(srv *zktest.Server) bool {
	if err := srv.Restart(); err != nil {
		r.t.Errorf("restarting %s: %v", srv.Addr(), err)
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitB)
	defer cancel()
	if _, err := r.env.ensemble.WaitLeader(ctx); err != nil {
		r.t.Errorf("after restarting %s: %v", srv.Addr(), err)
		return false
	}
	return true
}
