package core_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// TestCommitCancelledInFlight: a Commit whose ctx ends right after the
// multi request is written reports ctx's error, never a result, although
// the server applies the transaction and its reply comes in later. The
// late reply is left alone (the race detector watches the response it is
// decoded into), and the client goes on working.
func TestCommitCancelledInFlight(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootA(t, srv)
	var onMulti atomic.Pointer[context.CancelFunc]
	dial := wrapDialer(func(nc net.Conn) net.Conn {
		return &cancelOnWriteConn{Conn: nc, op: proto.OpMulti, cancel: &onMulti}
	})
	c := startA(t, proxy.Addr(), core.WithChroot(root), core.WithDialer(dial))
	// The reply comes well after the call has returned.
	proxy.SetLatency(20 * time.Millisecond)

	for i := range 10 {
		ctx, cancel := context.WithCancel(ctxA(t))
		onMulti.Store(&cancel)
		res, err := c.BeginTransaction().Create(fmt.Sprintf("/n%d", i), nil).Commit(ctx)
		onMulti.Store(nil)
		cancel()
		require.ErrorIs(t, err, context.Canceled, "attempt %d", i)
		require.Nil(t, res, "attempt %d", i)
		require.True(t, strings.HasPrefix(err.Error(), "commit"), "%q names the operation", err)
		// Leave the client alone while the late reply comes in.
		time.Sleep(80 * time.Millisecond)
	}

	proxy.SetLatency(0)
	ctx := ctxA(t)
	res, err := c.BeginTransaction().Create("/after", []byte("x")).Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"/after"}, res.Created)
	data, err := c.GetData(ctx, "/after")
	require.NoError(t, err)
	require.Equal(t, []byte("x"), data)
}

// cancelOnWriteConn calls the stored cancel function right after it
// writes a request with opcode op to the server, so that the call is
// cancelled while its request is in flight.
type cancelOnWriteConn struct {
	net.Conn
	op        int32
	cancel    *atomic.Pointer[context.CancelFunc]
	handshake bool // the connect request, which has no opcode, is written
}

func (c *cancelOnWriteConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if !c.handshake {
		c.handshake = true
		return n, err
	}
	// The client writes whole frames: length, xid, opcode, body.
	for rest := b; len(rest) >= 12; {
		size := int(binary.BigEndian.Uint32(rest))
		if int32(binary.BigEndian.Uint32(rest[8:])) == c.op {
			if cancel := c.cancel.Load(); cancel != nil {
				(*cancel)()
			}
		}
		if size+4 > len(rest) {
			break
		}
		rest = rest[4+size:]
	}
	return n, err
}
