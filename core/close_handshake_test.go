package core_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// Close lands while the server's answer to the connect request is on its
// way. By then the server has made a session that only the answer names.
// Close must end that session on the server, not leave it to time out.
// The answer comes as Close begins, or once Close has stopped the client's
// goroutines and the handshake is in its grace.
func TestCloseDuringHandshakeEndsNewSession(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{
		{"as Close begins", 0},
		// Well inside the grace of 1.5 s (half of a read timeout of 4 s,
		// two thirds of the 6 s session timeout).
		{"in the grace", 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := zktest.Shared(t)
			ctx := ctxA(t)
			c, held, started, answer := startHeldA(t, srv)
			var resp proto.ConnectResponse
			d := proto.NewDecoder(answer)
			resp.Decode(d)
			require.NoError(t, d.Err())
			require.Positive(t, resp.TimeoutMs, "the server made a session")

			closed := make(chan error, 1)
			go func() { closed <- c.Close() }()
			waitClosingA(t, c)
			time.Sleep(tc.delay)
			close(held.release)
			require.NoError(t, <-closed)
			require.ErrorIs(t, <-started, core.ErrClosed)

			err := zktest.ExpireSession(ctx, srv.ConnString(), resp.SessionID, resp.Passwd)
			require.ErrorIs(t, err, zktest.ErrNoSession, "the session the interrupted handshake made is gone when Close returns")
		})
	}
}

// An answer that never comes does not keep Close waiting past its grace.
func TestCloseDuringHandshakeWithoutAnswer(t *testing.T) {
	c, held, started, _ := startHeldA(t, zktest.Shared(t))
	require.NoError(t, c.Close())
	require.ErrorIs(t, <-started, core.ErrClosed)
	assert.True(t, held.wasClosed(), "Close closed the connection whose answer it did not wait for")
	close(held.release)
}

// startHeldA starts a client of srv, with a 6 s session timeout, whose
// first connection holds the server's answer to the connect request. It
// returns once the answer has come: the client, the holder, the channel
// that gets Start's result, and the answer's frame.
func startHeldA(t *testing.T, srv *zktest.Server) (*core.Client, *heldAnswer, <-chan error, []byte) {
	t.Helper()
	ctx := ctxA(t)
	held := &heldAnswer{arrived: make(chan []byte, 1), release: make(chan struct{})}
	c, err := core.NewClient(srv.ConnString(), core.WithSessionTimeout(6*time.Second),
		core.WithDialer(wrapDialer(held.wrap)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	started := make(chan error, 1)
	go func() { started <- c.Start(ctx) }()
	select {
	case answer := <-held.arrived:
		return c, held, started, answer
	case <-ctx.Done():
		t.Fatal("the connect request got no answer")
		return nil, nil, nil, nil
	}
}

// waitClosingA waits until c refuses calls because Close has begun.
func waitClosingA(t testing.TB, c *core.Client) {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := c.Exists(ctx, "/")
		cancel()
		if errors.Is(err, core.ErrClosed) {
			return
		}
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
}

// heldAnswer wraps the first connection a client dials: it reads the
// server's answer to the connect request, hands it to the test on arrived,
// and gives it to the client only once release is closed. Reads after it
// pass through. Closing the connection ends a held read, unless
// afterClose is set: the held read then still waits for release and
// returns the answer, as a read whose data came just before the close.
type heldAnswer struct {
	arrived    chan []byte
	release    chan struct{}
	afterClose bool

	mu     sync.Mutex
	conns  int
	closes []*answerHeldConn
}

func (h *heldAnswer) wrap(nc net.Conn) net.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns++
	if h.conns > 1 {
		return nc
	}
	hc := &answerHeldConn{Conn: nc, h: h, done: make(chan struct{})}
	h.closes = append(h.closes, hc)
	return hc
}

func (h *heldAnswer) wasClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hc := range h.closes {
		select {
		case <-hc.done:
		default:
			return false
		}
	}
	return len(h.closes) > 0
}

type answerHeldConn struct {
	net.Conn
	h         *heldAnswer
	pending   []byte // the held answer, until the client has read it
	read      bool   // the answer has been read from the server
	done      chan struct{}
	closeOnce sync.Once
}

func (c *answerHeldConn) Read(p []byte) (int, error) {
	if !c.read {
		c.read = true
		var size [4]byte
		if _, err := io.ReadFull(c.Conn, size[:]); err != nil {
			return 0, err
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(c.Conn, body); err != nil {
			return 0, err
		}
		c.h.arrived <- body
		select {
		case <-c.h.release:
		case <-c.done:
			if !c.h.afterClose {
				return 0, net.ErrClosed
			}
			<-c.h.release
		}
		c.pending = append(size[:], body...)
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *answerHeldConn) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return c.Conn.Close()
}
