package core_test

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// replyHold is a client dialer whose connection can hold back what the
// server sends. While held, the client reads nothing; on release it reads
// everything that came meanwhile in one read, as if it had come in one
// packet, so the client handles those replies back to back. It also
// records the opcode of every request the client writes, so a test knows
// a request is on its way before it sends the next.
type replyHold struct {
	mu     sync.Mutex
	cond   *sync.Cond
	held   bool
	conn   *heldConn // the newest connection
	writes []int32
}

func newReplyHold() *replyHold {
	h := &replyHold{}
	h.cond = sync.NewCond(&h.mu)
	return h
}

// dialer returns the core.Dialer to give the client.
func (h *replyHold) dialer() core.Dialer {
	return wrapDialer(func(nc net.Conn) net.Conn {
		c := &heldConn{Conn: nc, h: h}
		h.mu.Lock()
		h.conn = c
		h.mu.Unlock()
		go c.pump()
		return c
	})
}

// hold makes the client read nothing more until release.
func (h *replyHold) hold() {
	h.mu.Lock()
	h.held = true
	h.mu.Unlock()
}

// release hands the client everything held back.
func (h *replyHold) release() {
	h.mu.Lock()
	h.held = false
	h.cond.Broadcast()
	h.mu.Unlock()
}

// cut closes the newest connection on the client's side: what the server
// sent and the client has not read is lost with it.
func (h *replyHold) cut() {
	h.mu.Lock()
	c := h.conn
	h.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// waitWritten waits until the client has written n requests with opcode op.
func (h *replyHold) waitWritten(t testing.TB, op int32, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		got := 0
		for _, w := range h.writes {
			if w == op {
				got++
			}
		}
		return got >= n
	}, waitB, time.Millisecond, "waiting for %d requests of opcode %d", n, op)
}

// waitHeldReplies waits until n replies to numbered requests are held
// back: watch events and pings do not count.
func (h *replyHold) waitHeldReplies(t testing.TB, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.conn != nil && h.conn.heldRepliesLocked() >= n
	}, waitB, time.Millisecond, "waiting for %d replies", n)
}

// heldConn is the client's connection through a replyHold. A goroutine
// reads the server into buf, so the client's reads wait on the hold and
// never on the socket.
type heldConn struct {
	net.Conn
	h *replyHold

	// Guarded by h.mu.
	buf      []byte // from the server, not yet read by the client
	err      error  // how reading the server ended
	closed   bool
	deadline time.Time
	timer    *time.Timer

	wmu       sync.Mutex
	carry     []byte // a partial frame written
	handshake bool   // the connect request has been written
}

func (c *heldConn) pump() {
	b := make([]byte, 64<<10)
	for {
		n, err := c.Conn.Read(b)
		c.h.mu.Lock()
		c.buf = append(c.buf, b[:n]...)
		if err != nil {
			c.err = err
		}
		c.h.cond.Broadcast()
		c.h.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (c *heldConn) Read(p []byte) (int, error) {
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		switch {
		case c.closed:
			return 0, net.ErrClosed
		case len(c.buf) > 0 && !h.held:
			n := copy(p, c.buf)
			c.buf = c.buf[n:]
			return n, nil
		case c.err != nil && len(c.buf) == 0:
			return 0, c.err
		case !c.deadline.IsZero() && !time.Now().Before(c.deadline):
			return 0, os.ErrDeadlineExceeded
		}
		h.cond.Wait()
	}
}

// heldRepliesLocked counts the whole frames in buf with an xid of a
// numbered request.
func (c *heldConn) heldRepliesLocked() int {
	n := 0
	for b := c.buf; len(b) >= 8; {
		size := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+size {
			break
		}
		if int32(binary.BigEndian.Uint32(b[4:])) >= 0 {
			n++
		}
		b = b[4+size:]
	}
	return n
}

func (c *heldConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	c.carry = append(c.carry, b...)
	for len(c.carry) >= 4 {
		size := int(binary.BigEndian.Uint32(c.carry))
		if len(c.carry) < 4+size {
			break
		}
		body := c.carry[4 : 4+size]
		if c.handshake && len(body) >= 8 && int32(binary.BigEndian.Uint32(body)) >= 0 {
			c.h.mu.Lock()
			c.h.writes = append(c.h.writes, int32(binary.BigEndian.Uint32(body[4:])))
			c.h.mu.Unlock()
		}
		c.handshake = true
		c.carry = c.carry[4+size:]
	}
	c.wmu.Unlock()
	return c.Conn.Write(b)
}

func (c *heldConn) Close() error {
	c.h.mu.Lock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.h.cond.Broadcast()
	c.h.mu.Unlock()
	return c.Conn.Close()
}

func (c *heldConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

// SetReadDeadline applies to the client's reads, which wait on the hold;
// the goroutine that reads the server has none.
func (c *heldConn) SetReadDeadline(t time.Time) error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.deadline = t
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if !t.IsZero() {
		c.timer = time.AfterFunc(time.Until(t), func() {
			c.h.mu.Lock()
			c.h.cond.Broadcast()
			c.h.mu.Unlock()
		})
	}
	return nil
}

// startHeldClient starts a client, under a chroot of its own, whose
// replies a replyHold can hold back, creates node with data, and returns
// them with a context that ends with the test.
func startHeldClient(t *testing.T, node string, data []byte) (*core.Client, *replyHold, context.Context) {
	t.Helper()
	srv := zktest.Shared(t)
	root := chrootB(t, srv.ConnString())
	hold := newReplyHold()
	c := startClientB(t, srv.Addr(), core.WithChroot(root), core.WithDialer(hold.dialer()))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, node, data)
	require.NoError(t, err)
	return c, hold, ctx
}

// requireAllEnd takes n errors from ended, each of which must match
// target, and fails the test if ctx ends first: then calls still wait.
func requireAllEnd(t *testing.T, ctx context.Context, ended <-chan error, n int, target error) {
	t.Helper()
	for i := range n {
		select {
		case err := <-ended:
			require.ErrorIs(t, err, target, "call %d", i)
		case <-ctx.Done():
			t.Fatalf("%d of %d calls still wait for their replies", n-i, n)
		}
	}
}
