package core_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// A client with no watch and nothing in flight lets each caller read its
// own reply: sequential calls are answered without the reader goroutine.
func TestReadTurnCallerReadsOwnReply(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	c, ctx := ownReadClient(t, srv, root)
	before := core.OwnReads(c)
	// On a loaded machine a reply can take longer than a caller reads
	// (2 ms), and the next 64 calls then leave theirs to the reader
	// goroutine; the rest are the callers' own. So the calls go on until
	// 20 were, or 2,000 calls have been made.
	for calls := 0; calls < 2000 && core.OwnReads(c)-before < 20; calls++ {
		data, err := c.GetData(ctx, "/n")
		require.NoError(t, err)
		require.Equal(t, "v", string(data))
	}
	assert.GreaterOrEqual(t, core.OwnReads(c)-before, int64(20))

	// With a watch set, events may come at any time: the reader goroutine
	// keeps the turn, and the event arrives while nobody calls.
	_, _, events, err := c.GetW(ctx, "/n")
	require.NoError(t, err)
	other := startA(t, srv.ConnString(), core.WithChroot(root))
	_, err = other.Set(ctx, "/n", []byte("w"), -1)
	require.NoError(t, err)
	select {
	case ev := <-events:
		assert.Equal(t, core.EventNodeDataChanged, ev.Type)
	case <-ctx.Done():
		t.Fatal("no event")
	}
}

// ownReadClient starts a client under root with a node /n holding "v",
// its slow own reads forgotten, so that its next callers read their own
// replies.
func ownReadClient(t *testing.T, srv *zktest.Server, root string) (*core.Client, context.Context) {
	t.Helper()
	c := startA(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)
	core.ForgetSlowOwnReads(c)
	return c, ctx
}

// Replies slower than a caller's own read, large ones among them, reach
// their callers through the reader goroutine, whole and in order, and a
// cancelled call still returns at once.
func TestReadTurnSlowRepliesHandedOver(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootA(t, srv)
	c := startA(t, proxy.Addr(), core.WithChroot(root))
	ctx := ctxA(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 60_000) // 960 kB, many TCP segments
	_, err := c.Create(ctx, "/big", big)
	require.NoError(t, err)
	_, err = c.Create(ctx, "/small", []byte("s"))
	require.NoError(t, err)

	proxy.SetLatency(20 * time.Millisecond)
	core.ForgetSlowOwnReads(c)
	slowBefore := core.SlowOwnReads(c)
	for range 3 {
		data, err := c.GetData(ctx, "/big")
		require.NoError(t, err)
		require.True(t, bytes.Equal(big, data), "a large reply came back damaged")
		data, err = c.GetData(ctx, "/small")
		require.NoError(t, err)
		require.Equal(t, "s", string(data))
	}
	// After one reply too slow to wait for, the next calls leave theirs to
	// the reader goroutine instead of waiting out the same timeout.
	assert.LessOrEqual(t, core.SlowOwnReads(c)-slowBefore, int64(1))

	proxy.SetLatency(time.Second)
	callCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.GetData(callCtx, "/small")
		done <- err
	}()
	time.Sleep(time.Millisecond) // while the caller may still be reading
	cancel()
	select {
	case err := <-done:
		// Its reply needs two seconds: Canceled means it did not wait.
		require.ErrorIs(t, err, context.Canceled)
	case <-ctx.Done():
		t.Fatal("the cancelled call did not return")
	}
	proxy.SetLatency(0)
	data, err := c.GetData(ctx, "/small")
	require.NoError(t, err)
	assert.Equal(t, "s", string(data))
}

// noReadDeadline is a connection that takes no read deadline, as some
// custom dialers' connections do.
type noReadDeadline struct{ net.Conn }

func (noReadDeadline) SetReadDeadline(time.Time) error {
	return errors.New("read deadlines unsupported")
}

// A connection that takes no read deadline leaves every reply to the
// reader goroutine, so that a caller never blocks in a read its ctx cannot
// end; calls work as ever.
func TestReadTurnWithoutReadDeadlines(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	var d net.Dialer
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return noReadDeadline{nc}, nil
	}
	c := startA(t, srv.ConnString(), core.WithChroot(root), core.WithDialer(dial))
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)
	for range 20 {
		data, err := c.GetData(ctx, "/n")
		require.NoError(t, err)
		require.Equal(t, "v", string(data))
	}
	assert.Zero(t, core.OwnReads(c))
}

// tcpWrapper embeds the standard TCP connection, as a custom dialer's
// wrapper may, so it offers SyscallConn too.
type tcpWrapper struct{ *net.TCPConn }

// On Linux, with more than one proc, a caller reading its own reply over
// a plain TCP connection waits for it in a blocking poll of its own
// thread; over a connection a
// custom dialer wrapped, it waits in the network poller, so the wrapper's
// Read sees every byte. The replies are right either way.
func TestReadTurnBlockingPoll(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	ctx := ctxA(t)
	plain := startA(t, srv.ConnString(), core.WithChroot(root))
	var d net.Dialer
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return tcpWrapper{nc.(*net.TCPConn)}, nil
	}
	wrapped := startA(t, srv.ConnString(), core.WithChroot(root), core.WithDialer(dial))
	_, err := plain.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)

	polls := runtime.GOOS == "linux" && runtime.GOMAXPROCS(0) > 1
	// On a loaded machine a reply can take longer than a caller reads
	// (2 ms), and the next 64 calls then leave theirs to the reader
	// goroutine. So each client's calls go on until the count the test
	// looks for has moved, or 2,000 calls have been made.
	counted := map[*core.Client]func() int64{
		plain:   func() int64 { return core.OwnReads(plain) },
		wrapped: func() int64 { return core.OwnReads(wrapped) },
	}
	if polls {
		counted[plain] = func() int64 { return core.PolledOwnReads(plain) }
	}
	for _, c := range []*core.Client{plain, wrapped} {
		core.ForgetSlowOwnReads(c)
		for calls := 0; calls < 100 || (calls < 2000 && counted[c]() == 0); calls++ {
			data, err := c.GetData(ctx, "/n")
			require.NoError(t, err)
			require.Equal(t, "v", string(data))
		}
	}
	if polls {
		assert.Positive(t, core.PolledOwnReads(plain))
	} else {
		assert.Zero(t, core.PolledOwnReads(plain), "one proc, or not Linux: no blocking waits")
	}
	assert.Positive(t, core.OwnReads(wrapped), "callers read their own replies through the wrapper")
	assert.Zero(t, core.PolledOwnReads(wrapped))
}

// A caller that waited for its reply in the network poller leaves the
// connection a read deadline that soon passes; the next caller, waiting in
// a blocking poll, clears it and reads its own reply, instead of failing
// at once on the old deadline.
func TestReadTurnPollAfterNetworkPoller(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOMAXPROCS(0) < 2 {
		t.Skip("blocking waits need Linux and two procs")
	}
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	ctx := ctxA(t)
	c := startA(t, srv.ConnString(), core.WithChroot(root))
	_, err := c.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)
	// The reply must come within a caller's 2 ms, and the turn must still
	// be parked (5 ms): on a loaded machine an attempt may miss either, so
	// a few are allowed; with the old deadline left in place, none can
	// succeed.
	succeeded := false
	for attempt := 0; attempt < 20 && !succeeded; attempt++ {
		core.ForgetSlowOwnReads(c)
		own, polled := core.OwnReads(c), core.PolledOwnReads(c)
		release := core.HoldReadSlots()
		_, err := c.GetData(ctx, "/n")
		release()
		require.NoError(t, err)
		if core.OwnReads(c) != own+1 || core.PolledOwnReads(c) != polled {
			continue // not read by its caller in the network poller
		}
		time.Sleep(3 * time.Millisecond) // that read's 2 ms deadline passes
		own, polled = core.OwnReads(c), core.PolledOwnReads(c)
		data, err := c.GetData(ctx, "/n")
		require.NoError(t, err)
		require.Equal(t, "v", string(data))
		succeeded = core.OwnReads(c) == own+1 && core.PolledOwnReads(c) == polled+1
	}
	assert.True(t, succeeded, "no caller read its own reply in a blocking poll after one in the network poller")
}
