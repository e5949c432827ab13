package core_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// Many calls in flight with one context, which then ends: a goroutine of
// the connection watches that context for them (ctx_watch.go), and every
// one of them returns with its error while the replies are still held
// back. Calls with other contexts, in flight at the same time, are not
// touched and get their replies once released.
func TestSharedContextCancelInFlight(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootB(t, srv.ConnString())
	hold := newReplyHold()
	c := startClientB(t, srv.Addr(), core.WithChroot(root), core.WithDialer(hold.dialer()))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/a", []byte("a"))
	require.NoError(t, err)

	hold.hold()
	const shared, others = 32, 8
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cancelled := make(chan error, shared)
	for range shared {
		go func() {
			_, err := c.GetData(callCtx, "/a")
			cancelled <- err
		}()
	}
	type reply struct {
		data []byte
		err  error
	}
	answered := make(chan reply, others)
	for range others {
		go func() {
			own, cancelOwn := context.WithCancel(ctx)
			defer cancelOwn()
			data, err := c.GetData(own, "/a")
			answered <- reply{data, err}
		}()
	}
	hold.waitWritten(t, proto.OpGetData, shared+others)
	hold.waitHeldReplies(t, shared+others)
	started, running, counted := core.SharedContexts(c)
	require.Equal(t, int64(1), started, "one watcher for the shared context")
	require.Equal(t, int64(1), running)
	require.Equal(t, 1+others, counted, "the shared context and each of the others")

	cancel()
	for i := range shared {
		select {
		case err := <-cancelled:
			require.ErrorIs(t, err, context.Canceled, "call %d", i)
		case <-ctx.Done():
			t.Fatalf("%d of %d calls with the cancelled context still wait for their replies", shared-i, shared)
		}
	}
	require.Eventually(t, func() bool {
		_, running, _ := core.SharedContexts(c)
		return running == 0
	}, waitB, time.Millisecond, "the watcher ends once its context has")
	select {
	case r := <-answered:
		t.Fatalf("a call with its own context returned before its reply was released: %v", r.err)
	default:
	}

	hold.release()
	for range others {
		r := <-answered
		require.NoError(t, r.err)
		assert.Equal(t, "a", string(r.data))
	}
	data, _, err := c.Get(ctx, "/a")
	require.NoError(t, err)
	assert.Equal(t, "a", string(data))
	require.Eventually(t, func() bool {
		_, _, counted := core.SharedContexts(c)
		return counted == 0
	}, waitB, time.Millisecond, "nothing is counted once every reply is in")
}

// A shared context that never ends: its watcher runs while the calls are
// out and ends when the last one is answered, and every call gets its
// own reply.
func TestSharedContextWatcherEndsWithItsCalls(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootB(t, srv.ConnString())
	c := startClientB(t, srv.Addr(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	const workers, calls = 64, 20
	for w := range workers {
		_, err := c.Create(ctx, fmt.Sprintf("/n-%d", w), nil)
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			path := fmt.Sprintf("/n-%d", w)
			for i := range calls {
				mine := fmt.Sprintf("%d-%d", w, i)
				_, err := c.Set(callCtx, path, []byte(mine), -1)
				if !assert.NoError(t, err) {
					return
				}
				data, _, err := c.Get(callCtx, path)
				if !assert.NoError(t, err) || !assert.Equal(t, mine, string(data)) {
					return
				}
			}
		})
	}
	wg.Wait()
	started, running, counted := core.SharedContexts(c)
	assert.Positive(t, started, "64 goroutines with one context share a watcher")
	assert.Zero(t, running, "no watcher outlives the calls it watched")
	assert.Zero(t, counted)
}

// Two requests pipelined per call (CreateAndList), from several calls
// with one context: the context ends while all replies are held, and
// every call returns with its error.
func TestSharedContextCancelPipelinedPairs(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootB(t, srv.ConnString())
	hold := newReplyHold()
	c := startClientB(t, srv.Addr(), core.WithChroot(root), core.WithDialer(hold.dialer()))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/q", nil)
	require.NoError(t, err)

	hold.hold()
	const calls = 8
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cancelled := make(chan error, calls)
	for range calls {
		go func() {
			_, _, err := c.CreateAndList(callCtx, "/q/c-", nil, "/q", core.Sequential())
			cancelled <- err
		}()
	}
	hold.waitWritten(t, proto.OpGetChildren, calls)
	hold.waitHeldReplies(t, 2*calls)
	started, _, _ := core.SharedContexts(c)
	require.Equal(t, int64(1), started)

	cancel()
	for i := range calls {
		select {
		case err := <-cancelled:
			require.ErrorIs(t, err, context.Canceled, "call %d", i)
		case <-ctx.Done():
			t.Fatalf("%d of %d calls with the cancelled context still wait", calls-i, calls)
		}
	}
	hold.release()
	// The creates were sent, so the server made every node.
	children, err := c.GetChildren(ctx, "/q")
	require.NoError(t, err)
	assert.Len(t, children, calls)
}

// Many calls tied to one session (WithSession), as a lock's are: a
// goroutine of the connection watches the session for them, and when
// Close ends the session they all return with ErrClosed while their
// replies are still held back.
func TestSharedSessionEndsTiedCalls(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootB(t, srv.ConnString())
	hold := newReplyHold()
	c := startClientB(t, srv.Addr(), core.WithChroot(root), core.WithDialer(hold.dialer()))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/a", []byte("a"))
	require.NoError(t, err)

	hold.hold()
	const calls = 16
	// A context that never ends: only the session is shared.
	tied := core.WithSession(context.Background(), c.Session())
	ended := make(chan error, calls)
	for range calls {
		go func() {
			_, err := c.GetData(tied, "/a")
			ended <- err
		}()
	}
	hold.waitWritten(t, proto.OpGetData, calls)
	hold.waitHeldReplies(t, calls)
	started, running, _ := core.SharedContexts(c)
	require.Equal(t, int64(1), started, "one watcher for the session")
	require.Equal(t, int64(1), running)

	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	for i := range calls {
		select {
		case err := <-ended:
			require.ErrorIs(t, err, core.ErrClosed, "call %d", i)
		case <-ctx.Done():
			t.Fatalf("%d of %d calls tied to the ended session still wait", calls-i, calls)
		}
	}
	hold.release()
	require.NoError(t, <-closed)
}
