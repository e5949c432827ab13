package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// readOnlySurvivor stops all but the last of e's three servers and returns
// that one once it serves read-only.
func readOnlySurvivor(t *testing.T, e *zktest.Ensemble) *zktest.Server {
	t.Helper()
	servers := e.Servers()
	for _, s := range servers[:2] {
		require.NoError(t, s.Stop())
	}
	survivor := servers[2]
	require.Eventually(t, func() bool {
		mode, err := survivor.Mode()
		return err == nil && mode == zktest.ModeReadOnly
	}, waitB, 50*time.Millisecond, "the last server serves read-only")
	return survivor
}

// TestReadOnlyServerWithoutLocalSessionsRefusesWithNotReadOnly: a
// read-only server whose ensemble runs without local sessions cannot make
// a new session, and answers the connect request with a bare NotReadOnly
// reply header. Start fails with ErrNotReadOnly and says why, not with a
// marshalling error.
func TestReadOnlyServerWithoutLocalSessionsRefusesWithNotReadOnly(t *testing.T) {
	e := zktest.StartEnsemble(t, 3)
	survivor := readOnlySurvivor(t, e)

	c := newClientB(t, survivor.Addr(), core.WithAllowReadOnly(true))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := c.Start(ctx)
	require.ErrorIs(t, err, core.ErrNotReadOnly)
	require.NotErrorIs(t, err, core.ErrMarshallingError)
	require.Contains(t, err.Error(), "localSessionsEnabled")
}

// TestStartNamesARefusalAmongUnreachableServers: with the read-only
// server that refuses new sessions listed among servers that are down,
// Start's error still matches ErrNotReadOnly, whichever server its last
// attempt went to.
func TestStartNamesARefusalAmongUnreachableServers(t *testing.T) {
	e := zktest.StartEnsemble(t, 3)
	readOnlySurvivor(t, e)

	c := newClientB(t, e.ConnString()+",127.0.0.1:1,127.0.0.1:2", core.WithAllowReadOnly(true))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := c.Start(ctx)
	require.ErrorIs(t, err, core.ErrNotReadOnly)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
