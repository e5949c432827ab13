package core

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core/proto"
)

// Ending a session elsewhere tries the server it is given first, then the
// others, each with a share of the time: a silent server does not keep
// the ones after it from being tried.
func TestUnitCloseSessionWithOrderAndShares(t *testing.T) {
	var (
		mu     sync.Mutex
		dialed []string
	)
	const silent = "127.0.0.1:2"
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		if addr == silent {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, errors.New("connection refused")
	}
	c, err := NewClient("127.0.0.1:1,"+silent+",127.0.0.1:3", WithDialer(dial))
	require.NoError(t, err)
	first := c.servers[2]
	for range 12 {
		mu.Lock()
		dialed = nil
		mu.Unlock()
		err := c.closeSessionWith(proto.ConnectRequest{SessionID: 1}, time.Now().Add(90*time.Millisecond), first)
		require.Error(t, err)
		require.NotErrorIs(t, err, ErrSessionExpired)
		mu.Lock()
		got := append([]string(nil), dialed...)
		mu.Unlock()
		require.Len(t, got, 3, "every server is tried: %v", got)
		require.Equal(t, first.String(), got[0], "the server given goes first")
	}
}
