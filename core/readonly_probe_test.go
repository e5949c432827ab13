package core_test

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestCloseEndsReadWriteProbe: Close ends a probe for a read-write server
// that is in progress, instead of waiting for the probe to time out. The
// test's dialer marks the real server's connect reply as a read-only
// server's, so the client probes the other server of its list; dials to
// that one hang until their ctx ends, and Close must be what ends it.
func TestCloseEndsReadWriteProbe(t *testing.T) {
	srv := zktest.Shared(t)
	const hanging = "127.0.0.1:1"
	var (
		c        *core.Client
		mu       sync.Mutex
		probeErr error
		probing  = make(chan struct{})
		once     sync.Once
	)
	readOnly := wrapDialer(func(nc net.Conn) net.Conn { return &readOnlyHandshakeConn{Conn: nc} })
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		if address != hanging {
			return readOnly(ctx, network, address)
		}
		// While the client is connected, a dial is a probe.
		probe := c.State() == core.StateConnectedReadOnly
		if probe {
			once.Do(func() { close(probing) })
		}
		<-ctx.Done()
		if probe {
			mu.Lock()
			probeErr = ctx.Err()
			mu.Unlock()
		}
		return nil, ctx.Err()
	}
	c, err := core.NewClient(srv.Addr()+","+hanging,
		core.WithAllowReadOnly(true), core.WithDialer(dial), core.WithConnectTimeout(500*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := ctxA(t)
	require.NoError(t, c.Start(ctx))
	require.Equal(t, core.StateConnectedReadOnly, c.State())

	select {
	case <-probing:
	case <-ctx.Done():
		t.Fatal("no probe started")
	}
	require.NoError(t, c.Close())
	mu.Lock()
	defer mu.Unlock()
	require.ErrorIs(t, probeErr, context.Canceled, "Close cancelled the probe")
}

// readOnlyHandshakeConn sets the last byte of the server's first frame,
// the connect reply's readOnly flag, as a server without quorum would.
type readOnlyHandshakeConn struct {
	net.Conn
	pos  int // bytes of the first frame read so far
	head [4]byte
	done bool
}

func (c *readOnlyHandshakeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for i := 0; i < n && !c.done; i++ {
		if c.pos < len(c.head) {
			c.head[c.pos] = p[i]
		} else if c.pos == len(c.head)-1+int(binary.BigEndian.Uint32(c.head[:])) {
			p[i] = 1
			c.done = true
		}
		c.pos++
	}
	return n, err
}
