package core_test

import (
	"context"
	"net"
	"sync"
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
	var (
		mu    sync.Mutex
		dials []time.Time
	)
	dialer := func(ctx context.Context, network, address string) (net.Conn, error) {
		mu.Lock()
		dials = append(dials, time.Now())
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	c := startClientB(t, proxy.Addr(), core.WithDialer(dialer),
		core.WithSessionTimeout(2*time.Second), core.WithConnectTimeout(500*time.Millisecond))
	states := listenB(t, c)

	mu.Lock()
	cut := len(dials)
	mu.Unlock()
	proxy.Refuse(true)
	proxy.CutAll()
	time.Sleep(6 * time.Second)
	proxy.Refuse(false)
	waitCountB(t, states, core.StateConnected, 1)

	mu.Lock()
	attempts := append([]time.Time(nil), dials[cut:]...)
	mu.Unlock()
	require.Greater(t, len(attempts), 10, "attempts while refused")
	var longest time.Duration
	for i := 1; i < len(attempts); i++ {
		longest = max(longest, attempts[i].Sub(attempts[i-1]))
	}
	require.Less(t, longest, time.Second, "the longest pause between attempts (%d attempts)", len(attempts))
}
