package core

import (
	"bufio"
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

// Sessions the client gives up by its own timer one after another, with
// no connection between them able to end the first, are all remembered
// (up to maxGivenUp, the newest kept): Close tries to end each on the
// server, so none is left to time out there while another took its place.
func TestUnitGivenUpSessionsAllTriedByClose(t *testing.T) {
	var (
		mu    sync.Mutex
		tried []int64
	)
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			frame, err := proto.ReadFrame(bufio.NewReader(server), nil, 4096)
			if err != nil {
				return
			}
			var req proto.ConnectRequest
			req.Decode(proto.NewDecoder(frame))
			mu.Lock()
			tried = append(tried, req.SessionID)
			mu.Unlock()
		}()
		return client, nil
	}
	c, err := NewClient("127.0.0.1:1", WithDialer(dial))
	require.NoError(t, err)
	const made = maxGivenUp + 2
	for id := int64(1); id <= made; id++ {
		c.mu.Lock()
		c.sess = newSession(id, []byte("secret"), 10*time.Second)
		c.seenRW = true
		c.mu.Unlock()
		require.True(t, c.expire("test", true))
	}
	c.closeSessionAnew(time.Now().Add(5*time.Second), false)
	mu.Lock()
	defer mu.Unlock()
	var want []int64
	for id := int64(made - maxGivenUp + 1); id <= made; id++ {
		want = append(want, id)
	}
	require.Equal(t, want, tried, "the sessions Close tried to end")
}
