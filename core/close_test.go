package core_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// SCENARIOS 2: clients can be started and closed one after another; each
// has its own session and leaves nothing behind.
func TestCloseStartCloseCycles(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	other := rootA(t, srv)
	ctx := ctxA(t)
	_, err := other.Create(ctx, root, nil)
	require.NoError(t, err)

	seen := map[int64]bool{}
	for i := range 5 {
		c, err := core.NewClient(srv.ConnString(), core.WithChroot(root))
		require.NoError(t, err)
		require.NoError(t, c.Start(ctx), "cycle %d", i)
		sid := c.Session().ID()
		assert.False(t, seen[sid], "a new session each time")
		seen[sid] = true
		p, err := c.Create(ctx, "/cycle-"+strconv.Itoa(i), nil, core.Ephemeral())
		require.NoError(t, err)
		require.NoError(t, c.Close(), "cycle %d", i)
		ok, err := other.Exists(ctx, root+p)
		require.NoError(t, err)
		assert.False(t, ok, "cycle %d left its ephemeral node", i)
	}
	children, err := other.GetChildren(ctx, root)
	require.NoError(t, err)
	assert.Empty(t, children)
}

func TestCloseWithoutStart(t *testing.T) {
	c, err := core.NewClient(zktest.Shared(t).ConnString())
	require.NoError(t, err)
	closed := make(chan core.State, 8)
	c.AddStateListener(func(s core.State) { closed <- s })
	require.NoError(t, c.Close())
	assert.Equal(t, core.StateClosed, c.State())
	assert.Equal(t, core.StateClosed, <-closed)
	assert.Nil(t, c.Session(), "no session was ever made")
	require.NoError(t, c.Close(), "twice")
	assert.Equal(t, core.StateClosed, c.State())
}

// SCENARIOS 2: Close is idempotent and safe from many goroutines at once.
func TestCloseTwice(t *testing.T) {
	c, _, _ := sharedA(t)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	assert.Equal(t, core.StateClosed, c.State())

	// Every Close returns only when the client is closed in full, not
	// just the one that does the work.
	d, _, _ := sharedA(t)
	sess := d.Session()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			assert.NoError(t, d.Close())
			assert.Equal(t, core.StateClosed, d.State())
			select {
			case <-sess.Done():
			default:
				t.Error("Close returned with the session still live")
			}
		})
	}
	wg.Wait()
}

// SCENARIOS 2: Close ends the session on the server, so its ephemeral
// nodes are gone as soon as Close returns, not a session timeout later.
func TestCloseRemovesEphemeralsAtOnce(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	other := rootA(t, srv)
	ctx := ctxA(t)
	// A long session timeout: only Close can remove the nodes in time.
	c := startA(t, srv.ConnString(), core.WithChroot(root), core.WithSessionTimeout(30*time.Second))
	sid := c.Session().ID()

	var paths []string
	for _, p := range []string{"/e", "/dir/e", "/dir/seq-"} {
		created, err := c.Create(ctx, p, nil, core.Ephemeral(), core.WithParents(), core.Sequential())
		require.NoError(t, err)
		paths = append(paths, created)
	}
	require.Len(t, ephemeralsA(t, srv, sid), 3)

	require.NoError(t, c.Close())
	for _, p := range paths {
		ok, err := other.Exists(ctx, root+p)
		require.NoError(t, err)
		assert.False(t, ok, "%s is gone when Close returns", p)
	}
	children, err := other.GetChildren(ctx, root+"/dir")
	require.NoError(t, err)
	assert.Empty(t, children)
	assert.Empty(t, ephemeralsA(t, srv, sid), "the server holds no ephemeral node of the session")
	requireConnDroppedA(t, srv, fmt.Sprintf("sid=0x%x,", uint64(sid)))
}

// requireConnDroppedA waits until the server no longer lists a connection
// of the session sid names ("sid=0x…,"). The server closes a connection
// after it has sent the reply to its closeSession, so the reply can reach
// the client first.
func requireConnDroppedA(t *testing.T, srv *zktest.Server, sid string) {
	t.Helper()
	assert.Eventually(t, func() bool {
		out, err := srv.FourLetter(t.Context(), "cons")
		return err == nil && !strings.Contains(out, sid)
	}, waitB, 50*time.Millisecond, "the server still lists the connection of the ended session (%s)", sid)
}

// Close ends the session on the server even when it finds the client
// between connections, or stopped after an authentication failure, or
// when the connection drops with its closeSession request: it connects
// once more to do so, so the ephemeral nodes go at once here too.
func TestCloseWithoutConnectionEndsSession(t *testing.T) {
	srv := zktest.Shared(t)
	other := rootA(t, srv)
	ctx := ctxA(t)
	start := func(t *testing.T, opts ...core.Option) (*core.Client, string, string) {
		root := chrootA(t, srv)
		// A long session timeout: only Close can remove the node in time.
		opts = append(opts, core.WithChroot(root), core.WithSessionTimeout(30*time.Second))
		c := startA(t, srv.ConnString(), opts...)
		p, err := c.Create(ctx, "/e", nil, core.Ephemeral())
		require.NoError(t, err)
		return c, root + p, fmt.Sprintf("sid=0x%x,", uint64(c.Session().ID()))
	}
	requireEnded := func(t *testing.T, node, sid string) {
		ok, err := other.Exists(ctx, node)
		require.NoError(t, err)
		assert.False(t, ok, "the ephemeral node is gone when Close returns")
		requireConnDroppedA(t, srv, sid)
	}

	t.Run("Reconnecting", func(t *testing.T) {
		spy := newWireSpy()
		c, node, sid := start(t, core.WithDialer(spy.dialer()))
		server := spy.dialLog()[0]
		spy.setRefuse(server, true)
		spy.cut(proto.OpExists, 1)
		lost := make(chan error, 1)
		go func() {
			// Cut in flight, its retry waits for a connection until Close.
			_, err := c.Exists(ctx, "/e")
			lost <- err
		}()
		waitStateB(t, c, core.StateSuspended)
		spy.setRefuse(server, false)
		require.NoError(t, c.Close())
		require.ErrorIs(t, <-lost, core.ErrClosed)
		requireEnded(t, node, sid)
		assert.Len(t, spy.requests(proto.OpCloseSession), 1)
	})
	t.Run("CloseSessionLost", func(t *testing.T) {
		spy := newWireSpy()
		c, node, sid := start(t, core.WithDialer(spy.dialer()))
		// The closeSession request never reaches the server, and its
		// connection drops.
		spy.setSwallow(true)
		spy.cut(proto.OpCloseSession, 1)
		require.NoError(t, c.Close())
		requireEnded(t, node, sid)
		assert.Len(t, spy.requests(proto.OpCloseSession), 2)
	})
	t.Run("AuthFailed", func(t *testing.T) {
		c, node, sid := start(t)
		require.ErrorIs(t, c.AddAuth(ctx, "no-such-scheme", []byte("x")), core.ErrAuthFailed)
		require.NoError(t, c.Close())
		requireEnded(t, node, sid)
	})
}

// Close ends the session object and the state: Done is closed, Err says
// why, and listeners see Closed last.
func TestCloseEndsSessionAndState(t *testing.T) {
	c, _, _ := sharedA(t)
	sess := c.Session()
	require.NotNil(t, sess)
	require.NoError(t, sess.Err())
	select {
	case <-sess.Done():
		t.Fatal("a live session is done")
	default:
	}
	var (
		mu     sync.Mutex
		states []core.State
	)
	c.AddStateListener(func(s core.State) {
		mu.Lock()
		defer mu.Unlock()
		states = append(states, s)
	})

	require.NoError(t, c.Close())
	assert.Equal(t, core.StateClosed, c.State())
	select {
	case <-sess.Done():
	default:
		t.Fatal("Session().Done() is not closed after Close")
	}
	require.ErrorIs(t, sess.Err(), core.ErrClosed)
	// Close waits for the listeners.
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, states)
	assert.Equal(t, core.StateClosed, states[len(states)-1])
}

// A call in flight when Close is called still gets its reply: the server
// answers it before the closeSession request queued behind it.
func TestCloseLetsCallsInFlightFinish(t *testing.T) {
	c := slowClientA(t)
	ctx := ctxA(t)
	before := core.NextXid(c)
	done := make(chan error, 1)
	go func() {
		data, err := c.GetData(ctx, "/n")
		if err == nil && string(data) != "n" {
			err = fmt.Errorf("got %q", data)
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return core.NextXid(c) != before }, 10*time.Second, time.Millisecond)
	require.NoError(t, c.Close())
	require.NoError(t, <-done)
}

// A call made while Close waits for the reply to closeSession is not sent
// behind it, where the server would answer it as one of an unknown
// session: it fails with ErrClosed, whatever the retry policy.
func TestCloseRefusesCallsBehindCloseSession(t *testing.T) {
	for _, policy := range []*core.RetryPolicy{core.RetryForever(), core.NoRetry()} {
		// The reply to closeSession takes 400 ms or more to come back.
		c := slowClientA(t, core.WithRetryPolicy(policy))
		ctx := ctxA(t)
		before := core.NextXid(c)
		closed := make(chan error, 1)
		go func() { closed <- c.Close() }()
		require.Eventually(t, func() bool { return core.NextXid(c) != before }, 10*time.Second, time.Millisecond,
			"closeSession queued")
		_, err := c.GetData(ctx, "/n")
		require.ErrorIs(t, err, core.ErrClosed)
		require.NotErrorIs(t, err, core.ErrSessionExpired)
		require.NoError(t, <-closed)
	}
}

// Close wakes the calls that wait for a connection; they fail with
// ErrClosed.
func TestCloseWakesWaitingCalls(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootA(t, srv)
	c := startA(t, proxy.Addr(), core.WithChroot(root))
	ctx := ctxA(t)

	suspended := make(chan struct{})
	var once sync.Once
	c.AddStateListener(func(s core.State) {
		if s == core.StateSuspended {
			once.Do(func() { close(suspended) })
		}
	})
	proxy.Refuse(true)
	proxy.CutAll()
	select {
	case <-suspended:
	case <-ctx.Done():
		t.Fatal("the client did not notice the cut")
	}

	const n = 5
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := c.GetData(ctx, "/n-"+strconv.Itoa(i))
			errs <- err
		}()
	}
	require.NoError(t, c.Close())
	for range n {
		err := <-errs
		require.ErrorIs(t, err, core.ErrClosed)
		assert.True(t, strings.HasPrefix(err.Error(), "get /n-"), err.Error())
	}
	require.NoError(t, ctx.Err(), "they did not wait for their ctx")
}

// slowClientA starts a client under its own chroot, holding the node "/n"
// (data "n"), behind a proxy that delays each direction by 200 ms.
func slowClientA(t *testing.T, opts ...core.Option) *core.Client {
	t.Helper()
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootA(t, srv)
	c := startA(t, proxy.Addr(), append([]core.Option{core.WithChroot(root)}, opts...)...)
	_, err := c.Create(ctxA(t), "/n", []byte("n"))
	require.NoError(t, err)
	proxy.SetLatency(200 * time.Millisecond)
	return c
}
