package core_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// SCENARIOS 13: 1,000 goroutines issue mixed requests at once on one
// client, and each gets its own, right, reply.
func TestConcurrencyThousandGoroutines(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	dirChildren := []string{"c0", "c1", "c2", "c3", "c4"}
	for _, p := range []string{"/own", "/seq", "/dir"} {
		_, err := c.Create(ctx, p, nil)
		require.NoError(t, err)
	}
	for _, name := range dirChildren {
		_, err := c.Create(ctx, "/dir/"+name, nil)
		require.NoError(t, err)
	}
	for k := range 10 {
		_, err := c.Create(ctx, fmt.Sprintf("/fixed-%d", k), fmt.Appendf(nil, "fixed-%d", k))
		require.NoError(t, err)
	}

	const n = 1000
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		ok      atomic.Int32
		created = make([]string, n)
		seqs    = make([]string, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			if checkMixedA(t, ctx, c, i, created, seqs) {
				ok.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, int32(n), ok.Load(), "every goroutine got its own right replies")

	// The server holds exactly what the goroutines made.
	own, err := c.GetChildren(ctx, "/own")
	require.NoError(t, err)
	var wantOwn []string
	for _, p := range created {
		if p != "" {
			wantOwn = append(wantOwn, p[len("/own/"):])
		}
	}
	assert.ElementsMatch(t, wantOwn, own)
	seq, err := c.GetChildren(ctx, "/seq")
	require.NoError(t, err)
	var wantSeq []string
	for _, p := range seqs {
		if p != "" {
			wantSeq = append(wantSeq, p[len("/seq/"):])
		}
	}
	assert.ElementsMatch(t, wantSeq, seq)
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(seq))), len(seq), "sequence numbers are distinct")
}

// checkMixedA makes goroutine i's requests and checks every reply. It
// reports whether all were right; it uses assert, which is safe off the
// test's goroutine.
func checkMixedA(t *testing.T, ctx context.Context, c *core.Client, i int, created, seqs []string) bool {
	mine := strconv.Itoa(i)
	switch i % 6 {
	case 0: // create, then read back
		p, err := c.Create(ctx, "/own/n-"+mine, []byte(mine))
		if !assert.NoError(t, err) || !assert.Equal(t, "/own/n-"+mine, p) {
			return false
		}
		created[i] = p
		data, st, err := c.Get(ctx, p)
		return assert.NoError(t, err) && assert.Equal(t, mine, string(data)) && assert.Zero(t, st.Version)
	case 1: // read a shared node
		k := strconv.Itoa(i % 10)
		data, err := c.GetData(ctx, "/fixed-"+k)
		return assert.NoError(t, err) && assert.Equal(t, "fixed-"+k, string(data))
	case 2: // a missing node
		st, err := c.ExistsStat(ctx, "/missing-"+mine)
		return assert.NoError(t, err) && assert.Nil(t, st)
	case 3: // list, and fail on a missing node
		children, err := c.GetChildren(ctx, "/dir")
		if !assert.NoError(t, err) || !assert.ElementsMatch(t, []string{"c0", "c1", "c2", "c3", "c4"}, children) {
			return false
		}
		_, err = c.GetChildren(ctx, "/missing-"+mine)
		return assert.ErrorIs(t, err, core.ErrNoNode) && assert.Contains(t, err.Error(), "/missing-"+mine)
	case 4: // create, set at a version, read back
		p, err := c.Create(ctx, "/own/s-"+mine, []byte("a"))
		if !assert.NoError(t, err) {
			return false
		}
		created[i] = p
		st, err := c.SetData(ctx, p, []byte("b-"+mine), core.WithVersion(0))
		if !assert.NoError(t, err) || !assert.Equal(t, int32(1), st.Version) || !assert.Equal(t, int32(len("b-"+mine)), st.DataLength) {
			return false
		}
		data, err := c.GetData(ctx, p)
		return assert.NoError(t, err) && assert.Equal(t, "b-"+mine, string(data))
	default: // ephemeral sequential, read back by the name the server chose
		p, err := c.Create(ctx, "/seq/e-", []byte(mine), core.Ephemeral(), core.Sequential())
		if !assert.NoError(t, err) || !assert.Regexp(t, `^/seq/e-\d{10}$`, p) {
			return false
		}
		seqs[i] = p
		data, err := c.GetData(ctx, p)
		return assert.NoError(t, err) && assert.Equal(t, mine, string(data))
	}
}

// SCENARIOS 4: a call whose ctx is cancelled while its request is in
// flight returns with ctx's error without waiting for the reply; the late
// reply is dropped, and the next requests on the same connection get their
// own replies.
func TestConcurrencyCancelInFlight(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootA(t, srv)
	c := startA(t, proxy.Addr(), core.WithChroot(root))
	ctx := ctxA(t)
	for _, name := range []string{"a", "b", "c"} {
		_, err := c.Create(ctx, "/"+name, []byte(name))
		require.NoError(t, err)
	}
	sid := c.Session().ID()
	var transitions atomic.Int32
	remove := c.AddStateListener(func(core.State) { transitions.Add(1) })
	defer remove()

	// Every byte now takes 500 ms each way, so a reply comes a second after
	// its request at the earliest.
	proxy.SetLatency(500 * time.Millisecond)
	before := core.NextXid(c)
	callCtx, cancel := context.WithCancel(ctx)
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := c.GetData(callCtx, "/a")
		done <- result{data, err}
	}()
	require.Eventually(t, func() bool { return core.NextXid(c) != before }, 10*time.Second, time.Millisecond,
		"the request is queued")
	cancel()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("the cancelled call did not return")
	}
	require.ErrorIs(t, r.err, context.Canceled, "the call returned before its reply could arrive")
	assert.Nil(t, r.data)
	assert.Contains(t, r.err.Error(), "get /a")

	// The reply to /a is still on its way; the next calls, made at once,
	// get their own replies.
	var wg sync.WaitGroup
	for _, name := range []string{"b", "c", "b", "c"} {
		wg.Go(func() {
			data, err := c.GetData(ctx, "/"+name)
			assert.NoError(t, err)
			assert.Equal(t, name, string(data))
		})
	}
	wg.Wait()
	proxy.SetLatency(0)
	for _, name := range []string{"a", "b", "c"} {
		data, err := c.GetData(ctx, "/"+name)
		require.NoError(t, err)
		assert.Equal(t, name, string(data))
	}
	assert.Equal(t, sid, c.Session().ID())
	assert.Zero(t, transitions.Load(), "the connection never dropped")
	assert.Equal(t, 1, proxy.Conns())
}

// A cancelled write still happens on the server, since its request left;
// the caller is told only that it stopped waiting.
func TestConcurrencyCancelledWriteStillApplies(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootA(t, srv)
	c := startA(t, proxy.Addr(), core.WithChroot(root))
	ctx := ctxA(t)

	proxy.SetLatency(300 * time.Millisecond)
	before := core.NextXid(c)
	callCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.Create(callCtx, "/made", []byte("x"))
		done <- err
	}()
	require.Eventually(t, func() bool { return core.NextXid(c) != before }, 10*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	// A read queued behind the create sees it: the server answers in order.
	data, err := c.GetData(ctx, "/made")
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
}

// SCENARIOS 5: the request id wraps past 2^31-1 to small positive ids and
// every reply still reaches its caller.
func TestConcurrencyXidWrap(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)
	const n = 20
	for i := range n {
		_, err := c.Create(ctx, fmt.Sprintf("/n-%d", i), []byte(strconv.Itoa(i)))
		require.NoError(t, err)
	}
	sid := c.Session().ID()
	var transitions atomic.Int32
	remove := c.AddStateListener(func(core.State) { transitions.Add(1) })
	defer remove()

	t.Run("one after another", func(t *testing.T) {
		require.True(t, core.SetXid(c, math.MaxInt32-5))
		require.Equal(t, int32(math.MaxInt32-4), core.NextXid(c))
		for i := range n {
			data, err := c.GetData(ctx, fmt.Sprintf("/n-%d", i))
			require.NoError(t, err, "request %d", i)
			require.Equal(t, strconv.Itoa(i), string(data), "request %d", i)
		}
		// Five ids up to 2^31-1, then 1 to 15.
		assert.Equal(t, int32(16), core.NextXid(c))
	})
	t.Run("concurrently", func(t *testing.T) {
		require.True(t, core.SetXid(c, math.MaxInt32-50))
		var wg sync.WaitGroup
		for i := range 5 * n {
			wg.Go(func() {
				k := i % n
				data, err := c.GetData(ctx, fmt.Sprintf("/n-%d", k))
				assert.NoError(t, err)
				assert.Equal(t, strconv.Itoa(k), string(data))
				_, err = c.Create(ctx, fmt.Sprintf("/w-%d", i), nil)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		next := core.NextXid(c)
		assert.Equal(t, int32(2*5*n-50+1), next, "200 ids: 50 before the wrap, 150 after")
	})
	children, err := c.GetChildren(ctx, "/")
	require.NoError(t, err)
	assert.Len(t, children, n+5*n)
	assert.Equal(t, sid, c.Session().ID())
	assert.Zero(t, transitions.Load(), "the connection never dropped")
}

// SCENARIO 4, without a clock: a call cancelled in flight returns while
// its reply, already sent by the server, is held back from the client, so
// it cannot have waited for it. Once released, the late reply is dropped
// and the next call, made meanwhile, gets its own.
func TestConcurrencyCancelReturnsBeforeReply(t *testing.T) {
	c, hold, ctx := startHeldClient(t, "/a", []byte("a"))

	hold.hold()
	callCtx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() {
		_, err := c.GetData(callCtx, "/a")
		cancelled <- err
	}()
	hold.waitWritten(t, proto.OpGetData, 1)
	hold.waitHeldReplies(t, 1)
	cancel()
	requireAllEnd(t, ctx, cancelled, 1, context.Canceled)

	type reply struct {
		data []byte
		err  error
	}
	next := make(chan reply, 1)
	go func() {
		data, err := c.GetData(ctx, "/a")
		next <- reply{data, err}
	}()
	hold.waitWritten(t, proto.OpGetData, 2)
	hold.release()
	r := <-next
	require.NoError(t, r.err)
	assert.Equal(t, "a", string(r.data))
}
