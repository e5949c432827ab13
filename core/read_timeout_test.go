package core_test

import (
	"github.com/zkit-go/zkit/zktest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// TestReadTimeoutBoundBySession: a read timeout longer than the session
// timeout does not let an idle session expire. The client pings within the
// negotiated session timeout, so after an idle spell of several session
// timeouts it still has the same session and its ephemeral node.
func TestReadTimeoutBoundBySession(t *testing.T) {
	c, _, _ := sharedA(t, core.WithSessionTimeout(2*time.Second), core.WithReadTimeout(30*time.Second))
	ctx := ctxA(t)
	sess := c.Session()
	_, err := c.Create(ctx, "/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	states := listenB(t, c)

	// Idle: no call, no watch.
	time.Sleep(3 * sess.Timeout())

	require.True(t, c.Session() == sess, "the client keeps the session it started with")
	require.NoError(t, sess.Err())
	st, err := c.ExistsStat(ctx, "/eph")
	require.NoError(t, err)
	require.NotNil(t, st, "the ephemeral node is still there")
	require.Equal(t, sess.ID(), st.EphemeralOwner)
	require.Zero(t, states.count(core.StateSuspended), "the connection never failed: %v", states.snapshot())
}

// TestReadTimeoutFailsRequestsWithErrTimeout: a request in flight when the
// server goes silent for the read timeout fails with an error that matches
// both ErrConnectionLoss and ErrTimeout, names its operation and path, and
// says why in its text; after the silence ends the client serves calls on
// the same session.
func TestReadTimeoutFailsRequestsWithErrTimeout(t *testing.T) {
	srv := zktest.Shared(t)
	px := zktest.StartProxy(t, srv.Addr())
	c := startA(t, px.Addr()+chrootA(t, srv),
		core.WithSessionTimeout(6*time.Second),
		core.WithReadTimeout(500*time.Millisecond),
		core.WithRetryPolicy(core.NoRetry()))
	ctx := ctxA(t)
	sess := c.Session()
	_, err := c.Create(ctx, "/n", []byte("x"))
	require.NoError(t, err)

	px.BlackHole(true)
	_, _, err = c.Get(ctx, "/n")
	px.BlackHole(false)

	requireErrA(t, err, core.ErrConnectionLoss, "get", "/n")
	require.ErrorIs(t, err, core.ErrTimeout, "the connection was dropped for the server's silence")
	require.Contains(t, err.Error(), "read timeout")

	data, _, err := c.Get(ctx, "/n")
	require.NoError(t, err)
	require.Equal(t, "x", string(data))
	require.True(t, c.Session() == sess, "the session survived the silence")
}

// TestConnectionLossWithoutTimeoutIsNotErrTimeout: a request in flight on
// a connection the server side cuts fails with ErrConnectionLoss alone.
func TestConnectionLossWithoutTimeoutIsNotErrTimeout(t *testing.T) {
	srv := zktest.Shared(t)
	px := zktest.StartProxy(t, srv.Addr())
	c := startA(t, px.Addr()+chrootA(t, srv), core.WithRetryPolicy(core.NoRetry()))
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)

	px.BlackHoleToClient(true) // the request reaches the server; its reply does not come back
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Get(ctx, "/n")
		errc <- err
	}()
	require.Eventually(t, func() bool { return px.Swallowed() > 0 }, 5*time.Second, time.Millisecond)
	px.CutAll()
	px.BlackHoleToClient(false)
	err = <-errc
	requireErrA(t, err, core.ErrConnectionLoss, "get", "/n")
	require.NotErrorIs(t, err, core.ErrTimeout)
}
