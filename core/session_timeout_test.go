package core_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// A server that comes back with a lower maximum session timeout grants the
// same session a shorter timeout on the next connection, and from then on
// expires the session by it. The client takes the new timeout: Session()
// reports it, and the client's own timer, which must give the session up
// before the server does, goes by it too.
func TestSessionTimeoutRenegotiated(t *testing.T) {
	const asked, granted = 30 * time.Second, 3 * time.Second
	srv := zktest.StartServer(t)
	c := startClientB(t, srv.ConnString(),
		core.WithSessionTimeout(asked), core.WithConnectTimeout(500*time.Millisecond))
	states := listenB(t, c)
	sess := c.Session()
	require.Equal(t, asked, sess.Timeout())

	srv.RestartWith(zktest.WithConfig("maxSessionTimeout", "3000"))
	// The client may reconnect once more to the old server while it shuts
	// down; it ends on the new one.
	require.Eventually(t, func() bool {
		return c.State() == core.StateConnected && sess.Timeout() == granted
	}, waitB, tickB, "the timeout the new connection negotiated: %v", sess.Timeout())
	require.Same(t, sess, c.Session(), "the session survives the restart")

	// Cut off for good: with the old timeout the client would hold on to
	// the session for 27 s, long after the server had let it go.
	require.NoError(t, srv.Stop())
	waitCountB(t, states, core.StateSuspended, 1)
	select {
	case <-sess.Done():
	case <-time.After(asked / 2):
		t.Fatalf("the session still lives %v after the client lost its server", asked/2)
	}
	require.ErrorIs(t, sess.Err(), core.ErrSessionExpired)
}
