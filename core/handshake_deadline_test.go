package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// The connection attempt's deadline passes just as the server's answer to
// the connect request comes: the handshake has the answer, which names a
// new session, but the attempt has run out of time. The client ends that
// session on the server at once, while it connects again with a new one,
// rather than leave it to live on for its timeout (40 s here).
func TestHandshakePastDeadlineEndsNewSession(t *testing.T) {
	srv := zktest.Shared(t)
	ctx := ctxA(t)
	held := &heldAnswer{arrived: make(chan []byte, 1), release: make(chan struct{}), afterClose: true}
	c, err := core.NewClient(srv.ConnString(), core.WithSessionTimeout(40*time.Second),
		core.WithConnectTimeout(time.Second), core.WithDialer(wrapDialer(held.wrap)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	started := make(chan error, 1)
	go func() { started <- c.Start(ctx) }()

	var answer []byte
	select {
	case answer = <-held.arrived:
	case <-ctx.Done():
		t.Fatal("the connect request got no answer")
	}
	var resp proto.ConnectResponse
	d := proto.NewDecoder(answer)
	resp.Decode(d)
	require.NoError(t, d.Err())
	require.Positive(t, resp.TimeoutMs, "the server made a session")
	require.True(t, sessionOnServer(t, srv, resp.SessionID), "the answer's session, before the deadline")

	// The deadline closes the connection; the answer then reaches the
	// handshake, too late.
	require.Eventually(t, held.wasClosed, 10*time.Second, 10*time.Millisecond, "the attempt's deadline closed the connection")
	close(held.release)
	require.NoError(t, <-started)
	require.NotEqual(t, resp.SessionID, c.Session().ID(), "the client went on with a session of its own")

	// Well before the session could time out (40 s).
	giveUp := time.Now().Add(10 * time.Second)
	for sessionOnServer(t, srv, resp.SessionID) {
		if time.Now().After(giveUp) {
			t.Fatalf("the late answer's session 0x%x is still on the server 10 s after the client went on", resp.SessionID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sessionOnServer reports whether srv's session tracker still holds the
// session id, as its "dump" command lists it. Asking changes nothing.
func sessionOnServer(t *testing.T, srv *zktest.Server, id int64) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	dump, err := srv.FourLetter(ctx, "dump")
	require.NoError(t, err)
	tracker, _, found := strings.Cut(dump, "ephemeral nodes dump:")
	require.True(t, found, "dump's sections: %q", dump)
	return strings.Contains(tracker, fmt.Sprintf("0x%x\n", uint64(id)))
}

// Start against a server that takes the connection and never answers,
// giving up before the attempt's own deadline: its error names the
// server of the attempt still under way, as it would name the failure of
// an attempt that had ended.
func TestStartNamesTheAttemptUnderWay(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	proxy.BlackHole(true) // accepts, and never reaches the server
	c := newClientB(t, proxy.Addr(), core.WithConnectTimeout(10*time.Second))
	ctx, cancel := context.WithTimeout(ctxA(t), 500*time.Millisecond)
	defer cancel()
	err := c.Start(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "the connection attempt to "+proxy.Addr()+" had not ended")
}

// Start whose ctx ends while the handshake waits for a server that never
// answers returns then: the handshake does not get the grace that Close
// gives one, 1.5 s here, for an answer whose session it would then end
// (fxmodule's start error depends on this; see fxmodule.Module). The bound
// below is that grace, less a margin for a slow machine.
func TestStartReturnsWhenCtxEndsDuringHandshake(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	proxy.BlackHole(true)
	c := newClientB(t, proxy.Addr(), core.WithConnectTimeout(10*time.Second), core.WithSessionTimeout(30*time.Second))
	ctx, cancel := context.WithTimeout(ctxA(t), 300*time.Millisecond)
	defer cancel()
	err := c.Start(ctx)
	late := time.Since(deadlineOf(t, ctx))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, late, time.Second, "Start returned only after the handshake's grace ran out")
	require.Equal(t, core.StateClosed, c.State())
}

func deadlineOf(t *testing.T, ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	require.True(t, ok)
	return d
}
