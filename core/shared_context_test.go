package core_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// Many calls in flight with one context, which then ends: every one of
// them returns with its error while the replies are still held back.
// Calls with other contexts, in flight at the same time, are not touched
// and get their replies once released.
func TestSharedContextCancelInFlight(t *testing.T) {
	c, hold, ctx := startHeldClient(t, "/a", []byte("a"))

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
	cancel()
	requireAllEnd(t, ctx, cancelled, shared, context.Canceled)
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
}

// Two requests pipelined per call (CreateAndList), from several calls
// with one context: the context ends while all replies are held, and
// every call returns with its error.
func TestSharedContextCancelPipelinedPairs(t *testing.T) {
	c, hold, ctx := startHeldClient(t, "/q", nil)

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

	cancel()
	requireAllEnd(t, ctx, cancelled, calls, context.Canceled)
	hold.release()
	// The creates were sent, so the server made every node.
	children, err := c.GetChildren(ctx, "/q")
	require.NoError(t, err)
	assert.Len(t, children, calls)
}

// Many calls tied to one session (WithSession), as a lock's are: when
// Close ends the session they all return with ErrClosed while their
// replies are still held back.
func TestSharedSessionEndsTiedCalls(t *testing.T) {
	c, hold, ctx := startHeldClient(t, "/a", []byte("a"))

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

	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	requireAllEnd(t, ctx, ended, calls, core.ErrClosed)
	hold.release()
	require.NoError(t, <-closed)
}
