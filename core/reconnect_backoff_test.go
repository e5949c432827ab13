package core_test

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestReconnectBacksOffAfterShortConnections: when every connection ends
// right after its handshake, the client does not reconnect in a tight
// loop. A connection that served only a moment counts as a failed attempt,
// and the client backs off between attempts, so over two seconds it dials
// only a few times (a tight loop dials hundreds of times).
func TestReconnectBacksOffAfterShortConnections(t *testing.T) {
	srv := zktest.Shared(t)
	var dials atomic.Int32
	wrapped := wrapDialer(func(nc net.Conn) net.Conn { return &endAfterHandshakeConn{Conn: nc} })
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		dials.Add(1)
		return wrapped(ctx, network, address)
	}
	c := startA(t, srv.ConnString(), core.WithDialer(dial))

	before := dials.Load()
	time.Sleep(2 * time.Second)
	n := dials.Load() - before
	require.Less(t, n, int32(20), "connection attempts in two seconds")
	require.NoError(t, c.Close())
}

// endAfterHandshakeConn lets the server's reply to the connect request
// through, in the first read, and then ends the connection.
type endAfterHandshakeConn struct {
	net.Conn
	reads atomic.Int32
}

func (c *endAfterHandshakeConn) Read(p []byte) (int, error) {
	if c.reads.Add(1) > 1 {
		_ = c.Conn.Close()
		return 0, io.EOF
	}
	return c.Conn.Read(p)
}
