package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// A request whose frame is lost on the way, on a connection that stays up
// (the proxy's black hole swallows it whole and then forwards again), is
// not left waiting while the idle connection's pings are answered: the
// first ping answered before it tells the client it was lost, the client
// reconnects, and the retry policy sends the read again. Without that, the
// call waits for its ctx, as the pings keep the read timeout from firing.
func TestLostRequestFrameFoundByPing(t *testing.T) {
	const sessionTimeout = 9 * time.Second // a ping each 0.9 s when idle
	c, proxy, spy := proxyClientB(t, core.WithSessionTimeout(sessionTimeout))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)
	states := listenB(t, c)
	sess := c.Session()

	proxy.BlackHole(true)
	swallowed := proxy.Swallowed()
	callCtx, cancel := context.WithTimeout(ctx, 3*sessionTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		data, err := c.GetData(callCtx, "/n")
		if err == nil && string(data) != "v" {
			t.Errorf("GetData = %q, want v", data)
		}
		done <- err
	}()
	require.Eventually(t, func() bool {
		return len(spy.requests(opGetData)) == 1 && proxy.Swallowed() > swallowed
	}, waitB, tickB)
	proxy.BlackHole(false) // the request is gone; the pings that follow pass

	select {
	case err := <-done:
		require.NoError(t, err, "the lost read should be found by a ping and sent again")
	case <-callCtx.Done():
		t.Fatal("the call still waits for the lost request's reply")
	}
	require.Len(t, spy.requests(opGetData), 2, "the lost read and its retry")
	require.GreaterOrEqual(t, states.count(core.StateSuspended), 1, "the connection was ended")
	require.Equal(t, sess.ID(), c.Session().ID(), "the session lives on")
}
