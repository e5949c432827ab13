package core_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// In an ensemble only the leader expires sessions, and a follower passes
// the touches of its clients' requests and pings on to the leader only
// when the leader next pings it, every half tick. A follower that dies
// right after it answered a ping never passes that one on, and the leader
// counts the session's timeout from an older touch. The client, which
// then reaches no server, must still give its session up before the
// leader expires it and another client sees its ephemeral node go.
func TestLocalExpiryBeforeLeaderWhenFollowerDiesAfterPing(t *testing.T) {
	ctx := ctxB(t, waitB)
	leader, follower := leaderAndFollowerB(t, ctx, zktest.StartEnsemble(t, 3))
	px := zktest.StartProxy(t, follower.Addr())
	c := startClientB(t, px.Addr(), core.WithSessionTimeout(4*time.Second)) // reaches the follower only
	other := startClientB(t, leader.Addr())
	_, err := c.Create(ctx, "/held", nil, core.Ephemeral())
	require.NoError(t, err)
	_, _, deleted, err := other.GetW(ctx, "/held")
	require.NoError(t, err)

	var givenUpAt atomic.Int64
	sess := c.Session()
	stop := sess.OnEnd(func() { givenUpAt.Store(time.Now().UnixNano()) })
	defer stop()
	killed := make(chan struct{})
	px.OnNextPingReply(func() {
		px.Refuse(true)
		_ = follower.Kill()
		close(killed)
	})
	awaitR(t, ctx, killed, "the kill at a ping reply")
	ev := awaitR(t, ctx, deleted, "the node's deletion")
	deletedAt := time.Now().UnixNano()
	require.Equal(t, core.EventNodeDeleted, ev.Type)
	require.ErrorIs(t, sess.Err(), core.ErrSessionExpired)
	require.NotZero(t, givenUpAt.Load(), "the leader expired the session before the client gave it up")
	require.Less(t, givenUpAt.Load(), deletedAt)
}
