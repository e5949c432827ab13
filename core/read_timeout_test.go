package core_test

import (
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
