package core_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// While the server stays out of reach, the client keeps trying at least
// every tenth of the session timeout, however long its backoff has grown:
// with a 2 s session, never more than 200 ms (and the attempt itself)
// apart, where the backoff alone grows to 2 s within five seconds.
func TestReconnectPacedBySessionTimeout(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	spy := newWireSpy()
	c := startClientB(t, proxy.Addr(), core.WithDialer(spy.dialer()),
		core.WithSessionTimeout(2*time.Second), core.WithConnectTimeout(500*time.Millisecond))
	states := listenB(t, c)

	cut := len(spy.dialTimes())
	proxy.Refuse(true)
	proxy.CutAll()
	time.Sleep(6 * time.Second)
	proxy.Refuse(false)
	waitCountB(t, states, core.StateConnected, 1)

	attempts := spy.dialTimes()[cut:]
	require.Greater(t, len(attempts), 10, "attempts while refused")
	var longest time.Duration
	for i := 1; i < len(attempts); i++ {
		longest = max(longest, attempts[i].Sub(attempts[i-1]))
	}
	require.Less(t, longest, time.Second, "the longest pause between attempts (%d attempts)", len(attempts))
}
