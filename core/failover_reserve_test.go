package core_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// The client's own expiry counts from a touch the ensemble's leader has
// heard of for sure, which may be a quarter of the session timeout older
// than the newest (see WithSessionTimeout). A server that goes silent
// just after it answered a request made a little under a tenth of the
// timeout after a ping leaves that expiry close to the read timeout: the
// connection must end early enough that the client resumes its session
// on another server first. Several rounds, as the ping's timing varies.
func TestSilentServerLeavesTimeToFailOver(t *testing.T) {
	srv := zktest.Shared(t)
	ctx := ctxB(t, waitB)
	const timeout = 2 * time.Second
	for round := range 4 {
		silent := zktest.StartProxy(t, srv.Addr())
		spare := zktest.StartProxy(t, srv.Addr())
		spare.Refuse(true)
		c := startClientB(t, silent.Addr()+","+spare.Addr(), core.WithSessionTimeout(timeout))
		states := listenB(t, c)
		id := c.Session().ID()

		pinged := make(chan time.Time, 1)
		silent.OnNextPingReply(func() { pinged <- time.Now() })
		at := awaitR(t, ctx, pinged, "a ping")
		time.Sleep(time.Until(at.Add(timeout * 95 / 1000)))
		_, err := c.Exists(ctx, "/")
		require.NoError(t, err)
		silent.Refuse(true)
		silent.BlackHole(true)
		spare.Refuse(false)

		waitCountB(t, states, core.StateConnected, 1)
		require.Zero(t, states.count(core.StateExpired), "round %d: the client gave its session up while a server was there: %v", round, states.snapshot())
		require.Equal(t, id, c.Session().ID(), "round %d", round)
		require.NoError(t, c.Close())
	}
}
