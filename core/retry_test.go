package core_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"path"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// spyClientB starts a client on the shared server, under its own chroot,
// whose connections go through a wireSpy, with the given retry policy.
func spyClientB(t *testing.T, policy *core.RetryPolicy, opts ...core.Option) (*core.Client, *wireSpy) {
	t.Helper()
	spy := newWireSpy()
	opts = append([]core.Option{core.WithDialer(spy.dialer()), core.WithRetryPolicy(policy)}, opts...)
	c, _, _ := sharedClientB(t, opts...)
	return c, spy
}

// gaps returns the time between consecutive requests.
func gaps(reqs []spyReq) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(reqs); i++ {
		out = append(out, reqs[i].at.Sub(reqs[i-1].at))
	}
	return out
}

// TestRetryPolicyAttempts loses every attempt of a Get in flight and counts
// the attempts that reach the wire: each bounded policy makes exactly its
// promised number and then fails with ErrFailedRetry wrapping the
// connection loss; each pause is at least the lower end of the policy's
// jittered backoff.
func TestRetryPolicyAttempts(t *testing.T) {
	// jitterFloor is the least pause of the policies' ±50% jittered
	// exponential backoff before retry i.
	jitterFloor := func(base, maximum time.Duration) func(i int) time.Duration {
		return func(i int) time.Duration { return min(base<<i, maximum) / 2 }
	}
	noFloor := func(int) time.Duration { return 0 }
	cases := []struct {
		name     string
		policy   *core.RetryPolicy
		attempts int
		floor    func(i int) time.Duration
	}{
		{"NoRetry", core.NoRetry(), 1, noFloor},
		{"RetryOnce", core.RetryOnce(), 2, jitterFloor(50*time.Millisecond, time.Second)},
		{"RetryNTimes0", core.RetryNTimes(0), 1, noFloor},
		{"RetryNTimes3", core.RetryNTimes(3), 4, jitterFloor(50*time.Millisecond, time.Second)},
		{"NewRetryPolicyNilSleep", core.NewRetryPolicy(2, nil), 3, noFloor},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, spy := spyClientB(t, tc.policy)
			ctx := ctxB(t, waitB)
			_, err := c.Create(ctx, "/n", []byte("x"))
			require.NoError(t, err)

			spy.cut(opGetData, -1)
			_, err = c.GetData(ctx, "/n")
			require.Error(t, err)
			require.ErrorIs(t, err, core.ErrConnectionLoss)
			if tc.attempts > 1 {
				require.ErrorIs(t, err, core.ErrFailedRetry)
			}
			reqs := spy.requests(opGetData)
			require.Len(t, reqs, tc.attempts, "attempts on the wire")
			for i, g := range gaps(reqs) {
				assert.GreaterOrEqual(t, g, tc.floor(i), "pause before retry %d", i+1)
			}

			// The client is still usable once the losses stop.
			spy.cut(opGetData, 0)
			data, err := c.GetData(ctx, "/n")
			require.NoError(t, err)
			require.Equal(t, []byte("x"), data)
		})
	}
}

// TestRetryUnlimitedPolicies loses the first four attempts of a Get: the
// unlimited policies keep going and the fifth attempt succeeds, after
// pauses no shorter than promised.
func TestRetryUnlimitedPolicies(t *testing.T) {
	cases := []struct {
		name   string
		policy *core.RetryPolicy
		floor  func(i int) time.Duration
	}{
		{"RetryForever", core.RetryForever(), func(i int) time.Duration {
			return min(50*time.Millisecond<<i, time.Second) / 2
		}},
		{"RetryExponentialBackoff", core.RetryExponentialBackoff(20*time.Millisecond, 60*time.Millisecond), func(i int) time.Duration {
			return min(20*time.Millisecond<<i, 60*time.Millisecond) / 2
		}},
		{"NewRetryPolicyUnlimited", core.NewRetryPolicy(-1, func([]time.Time) time.Duration { return 30 * time.Millisecond }), func(int) time.Duration {
			return 30 * time.Millisecond
		}},
		{"RetryUntilElapsed", core.RetryUntilElapsed(time.Minute), func(i int) time.Duration {
			return min(50*time.Millisecond<<i, time.Second) / 2
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, spy := spyClientB(t, tc.policy)
			ctx := ctxB(t, waitB)
			_, err := c.Create(ctx, "/n", []byte("x"))
			require.NoError(t, err)

			spy.cut(opGetData, 4)
			data, err := c.GetData(ctx, "/n")
			require.NoError(t, err)
			require.Equal(t, []byte("x"), data)
			reqs := spy.requests(opGetData)
			require.Len(t, reqs, 5, "attempts on the wire")
			for i, g := range gaps(reqs) {
				assert.GreaterOrEqual(t, g, tc.floor(i), "pause before retry %d", i+1)
			}
		})
	}
}

// TestRetrySleepFunc checks NewRetryPolicy's contract with its SleepFunc:
// it gets the start times of all attempts so far, its pauses separate the
// attempts, and a negative pause ends the retries.
func TestRetrySleepFunc(t *testing.T) {
	t.Run("Pauses", func(t *testing.T) {
		pauses := []time.Duration{80 * time.Millisecond, 150 * time.Millisecond, 40 * time.Millisecond}
		var (
			mu    sync.Mutex
			calls [][]time.Time
		)
		policy := core.NewRetryPolicy(3, func(attempts []time.Time) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, append([]time.Time(nil), attempts...))
			return pauses[len(calls)-1]
		})
		c, spy := spyClientB(t, policy)
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/n", nil)
		require.NoError(t, err)

		spy.cut(opGetData, -1)
		_, err = c.GetData(ctx, "/n")
		require.ErrorIs(t, err, core.ErrFailedRetry)
		require.ErrorIs(t, err, core.ErrConnectionLoss)

		reqs := spy.requests(opGetData)
		require.Len(t, reqs, 4, "tryLimit 3 allows 4 attempts")
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, calls, 3, "one SleepFunc call before each retry")
		for i, got := range calls {
			require.Len(t, got, i+1, "call %d gets every attempt so far", i)
			if i > 0 {
				require.Equal(t, calls[i-1], got[:i], "call %d extends the previous one", i)
			}
			for k, at := range got {
				require.False(t, reqs[k].at.Before(at), "attempt %d reached the wire before it started", k)
				if k > 0 {
					require.True(t, at.After(got[k-1]), "attempt times increase")
				}
			}
		}
		for i, g := range gaps(reqs) {
			assert.GreaterOrEqual(t, g, pauses[i], "pause before retry %d", i+1)
		}
	})

	t.Run("NegativeEnds", func(t *testing.T) {
		calls := 0
		policy := core.NewRetryPolicy(-1, func(attempts []time.Time) time.Duration {
			calls++
			if len(attempts) >= 2 {
				return -1
			}
			return 10 * time.Millisecond
		})
		c, spy := spyClientB(t, policy)
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/n", nil)
		require.NoError(t, err)

		spy.cut(opGetData, -1)
		_, err = c.GetData(ctx, "/n")
		require.ErrorIs(t, err, core.ErrFailedRetry)
		require.ErrorIs(t, err, core.ErrConnectionLoss)
		require.Len(t, spy.requests(opGetData), 2)
		require.Equal(t, 2, calls)
	})
}

// TestRetryUntilElapsedStartsNoLateAttempt makes the reconnect after a lost
// attempt take longer than RetryUntilElapsed's budget: no second attempt may
// start, since it would start after the budget ran out.
func TestRetryUntilElapsedStartsNoLateAttempt(t *testing.T) {
	c, spy := spyClientB(t, core.RetryUntilElapsed(300*time.Millisecond))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)

	spy.setDialDelay(time.Second)
	spy.cut(opGetData, -1)
	_, err = c.GetData(ctx, "/n")
	require.ErrorIs(t, err, core.ErrFailedRetry)
	require.ErrorIs(t, err, core.ErrConnectionLoss)
	require.Len(t, spy.requests(opGetData), 1, "an attempt started after the budget")
}

// TestRetryNotAfterSequentialCreateLoss: a plain sequential create lost in
// flight may have made its node, so it is not retried, whatever the policy;
// an ephemeral create of a fixed name is retried and recognises its own
// node.
func TestRetryNotAfterSequentialCreateLoss(t *testing.T) {
	c, spy := spyClientB(t, core.RetryForever())
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/q", nil)
	require.NoError(t, err)

	creates := len(spy.requests(opCreate))
	spy.cut(opCreate, 1)
	_, err = c.Create(ctx, "/q/s-", nil, core.Sequential())
	require.ErrorIs(t, err, core.ErrConnectionLoss)
	require.NotErrorIs(t, err, core.ErrFailedRetry)
	require.Len(t, spy.requests(opCreate), creates+1, "one attempt only")

	children, err := c.GetChildren(ctx, "/q")
	require.NoError(t, err)
	require.LessOrEqual(t, len(children), 1, "at most the one node of the lost attempt: %v", children)

	spy.cut(opCreate, 1)
	p, err := c.Create(ctx, "/q/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	require.Equal(t, "/q/eph", p)
	require.Len(t, spy.requests(opCreate), creates+3, "the lost attempt and its retry")
	st, err := c.ExistsStat(ctx, "/q/eph")
	require.NoError(t, err)
	require.NotNil(t, st)
	require.Equal(t, c.Session().ID(), st.EphemeralOwner)
}

// TestRetryEphemeralCreateFindsOwnNode: an ephemeral create whose reply is
// lost is sent again, meets ErrNodeExists and asks whose the node is. The
// session's own node is the create's success, for CreateAndList too, and
// when the answer to that question is lost as well, the policy retries
// the question instead of reporting ErrNodeExists.
func TestRetryEphemeralCreateFindsOwnNode(t *testing.T) {
	c, spy := spyClientB(t, core.RetryForever())
	ctx := ctxB(t, waitB)
	requireOwn := func(t *testing.T, path string) {
		t.Helper()
		st, err := c.ExistsStat(ctx, path)
		require.NoError(t, err)
		require.NotNil(t, st)
		require.Equal(t, c.Session().ID(), st.EphemeralOwner)
	}

	t.Run("Create, its check lost too", func(t *testing.T) {
		checks := len(spy.requests(opExists))
		spy.cut(opCreate, 1)
		spy.cut(opExists, 1)
		p, err := c.Create(ctx, "/own", nil, core.Ephemeral())
		require.NoError(t, err)
		require.Equal(t, "/own", p)
		require.Len(t, spy.requests(opExists), checks+2, "the lost check and the one after it")
		requireOwn(t, "/own")
	})
	for name, checkLost := range map[string]bool{"listed": false, "listed2": true} {
		t.Run(fmt.Sprintf("CreateAndList, check lost %v", checkLost), func(t *testing.T) {
			spy.cut(opCreate, 1)
			if checkLost {
				spy.cut(opExists, 1)
			}
			p, children, err := c.CreateAndList(ctx, "/"+name, nil, "/", core.Ephemeral())
			require.NoError(t, err)
			require.Equal(t, "/"+name, p)
			require.Contains(t, children, name)
			requireOwn(t, "/"+name)
		})
	}
	t.Run("another session's node", func(t *testing.T) {
		other := startClientB(t, zktest.Shared(t).ConnString(), core.WithChroot(c.Chroot()))
		_, err := other.Create(ctx, "/theirs", nil, core.Ephemeral())
		require.NoError(t, err)
		spy.cut(opCreate, 1)
		_, err = c.Create(ctx, "/theirs", nil, core.Ephemeral())
		require.ErrorIs(t, err, core.ErrNodeExists)
	})
}

// proxyClientB starts a client on the shared server through a fault proxy
// (and a wireSpy to count requests), under its own chroot.
func proxyClientB(t *testing.T, opts ...core.Option) (*core.Client, *zktest.Proxy, *wireSpy) {
	t.Helper()
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	spy := newWireSpy()
	opts = append([]core.Option{core.WithChroot(root), core.WithDialer(spy.dialer())}, opts...)
	c := startClientB(t, proxy.Addr(), opts...)
	return c, proxy, spy
}

// TestRetryNoRetryInFlightLoss: with NoRetry, a request whose reply is lost
// on a dropped connection fails with ErrConnectionLoss, and the client
// reconnects for the next one.
func TestRetryNoRetryInFlightLoss(t *testing.T) {
	c, proxy, spy := proxyClientB(t, core.WithRetryPolicy(core.NoRetry()))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)

	proxy.DropNextReply()
	_, err = c.GetData(ctx, "/n")
	require.ErrorIs(t, err, core.ErrConnectionLoss)
	require.Len(t, spy.requests(opGetData), 1)
	// The server-side error the caller gets names the call, as every
	// other does, though the retry policy gave up on it.
	var ze *core.Error
	require.ErrorAs(t, err, &ze)
	require.Equal(t, "get", ze.Op)
	require.Equal(t, "/n", ze.Path)

	waitStateB(t, c, core.StateConnected)
	require.Eventually(t, func() bool {
		data, err := c.GetData(ctx, "/n")
		return err == nil && string(data) == "v"
	}, waitB, tickB)
}

// TestRetryWaitsForReconnect: while the client cannot reach a server, a
// retry waits for the reconnect instead of spending its attempts, so a
// RetryNTimes(1) call outlives an outage much longer than its pauses.
func TestRetryWaitsForReconnect(t *testing.T) {
	t.Run("LostInFlightThenRefused", func(t *testing.T) {
		c, proxy, spy := proxyClientB(t, core.WithRetryPolicy(core.RetryNTimes(1)))
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/n", []byte("v"))
		require.NoError(t, err)

		states := listenB(t, c)
		dials := len(spy.dialLog())
		proxy.Refuse(true)
		proxy.DropNextReply()
		done := make(chan error, 1)
		go func() {
			data, err := c.GetData(ctx, "/n")
			if err == nil && string(data) != "v" {
				err = errors.New("wrong data " + string(data))
			}
			done <- err
		}()
		// The reply is lost, then several reconnects are refused.
		waitCountB(t, states, core.StateSuspended, 1)
		require.Eventually(t, func() bool { return len(spy.dialLog()) >= dials+3 }, waitB, tickB)
		select {
		case err := <-done:
			t.Fatalf("the call ended during the outage: %v", err)
		default:
		}
		proxy.Refuse(false)
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(waitB):
			t.Fatal("the call did not finish after the outage")
		}
		require.Len(t, spy.requests(opGetData), 2, "the lost attempt and one retry")
	})

	t.Run("BlackHole", func(t *testing.T) {
		c, proxy, spy := proxyClientB(t,
			core.WithRetryPolicy(core.RetryNTimes(1)),
			core.WithConnectTimeout(300*time.Millisecond))
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/n", []byte("v"))
		require.NoError(t, err)

		states := listenB(t, c)
		dials := len(spy.dialLog())
		proxy.BlackHole(true)
		proxy.CutAll()
		waitCountB(t, states, core.StateSuspended, 1)
		done := make(chan error, 1)
		go func() {
			_, err := c.GetData(ctx, "/n")
			done <- err
		}()
		require.Eventually(t, func() bool { return len(spy.dialLog()) >= dials+3 }, waitB, tickB)
		proxy.BlackHole(false)
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(waitB):
			t.Fatal("the call did not finish after the outage")
		}
		require.Len(t, spy.requests(opGetData), 1, "no attempt spent while disconnected")
	})
}

// A loss that comes as the call's ctx ends is not retried, and the error
// matches the context's end as well as the loss. (Where the write falls to
// the writer goroutine, the cancel can come before the loss: the call then
// ends with ctx's error alone, so the check is made five times.)
func TestRetryLossAsCtxEnds(t *testing.T) {
	srv := zktest.Shared(t)
	var armed atomic.Pointer[context.CancelFunc]
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return &cancelOnWriteB{Conn: nc, armed: &armed}, nil
	}
	c := startA(t, srv.ConnString(), core.WithDialer(dial), core.WithChroot(chrootA(t, srv)))
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/n", []byte("x"))
	require.NoError(t, err)

	losses := 0
	for range 5 {
		callCtx, cancel := context.WithCancel(ctx)
		armed.Store(&cancel)
		_, err = c.GetData(callCtx, "/n")
		cancel()
		require.ErrorIs(t, err, context.Canceled)
		if errors.Is(err, core.ErrConnectionLoss) {
			losses++
		}
		// The client reconnects and serves the next call.
		data, err := c.GetData(ctx, "/n")
		require.NoError(t, err)
		assert.Equal(t, "x", string(data))
	}
	t.Logf("%d of 5 calls saw the loss before the cancel", losses)
}

// cancelOnWriteB is a connection whose next write, once armed, cancels the
// armed context and then fails, cutting the connection.
type cancelOnWriteB struct {
	net.Conn
	armed *atomic.Pointer[context.CancelFunc]
}

func (c *cancelOnWriteB) Write(p []byte) (int, error) {
	if cancel := c.armed.Swap(nil); cancel != nil {
		(*cancel)()
		_ = c.Conn.Close()
		return 0, errors.New("cut by the test")
	}
	return c.Conn.Write(p)
}

// A versioned set whose reply is lost is not sent again blindly: the
// retry first reads the node to learn whether the lost attempt went
// through. When that read is lost as well, the call goes on under the
// policy, looks again, sees its write, and succeeds without sending it
// again.
func TestRetryVersionedSetReadBackLost(t *testing.T) {
	c, spy := spyClientB(t, core.RetryForever())
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", []byte("v0"))
	require.NoError(t, err)

	spy.cut(opSetData, 1)
	spy.cut(opGetData, 1)
	st, err := c.Set(ctx, "/n", []byte("v1"), 0)
	require.NoError(t, err)
	assert.Equal(t, int32(1), st.Version)
	assert.Len(t, spy.requests(opSetData), 1, "the write, sent once: each retry looked at the node first")
	assert.Len(t, spy.requests(opGetData), 2, "the lost look, then the one that saw the write")

	data, st, err := c.Get(ctx, "/n")
	require.NoError(t, err)
	assert.Equal(t, "v1", string(data))
	assert.Equal(t, int32(1), st.Version, "written once")
}

// A setACL whose reply is lost is retried like a versioned set: the retry
// first reads the ACL back. The server does not store the ACL as sent: it
// drops repeated entries and turns an "auth" entry into one entry per
// identity of the session. The read back must recognise that form as this
// write, or a write that was made fails.
func TestRetrySetACLReadBackAsStored(t *testing.T) {
	c, spy := spyClientB(t, core.RetryForever())
	ctx := ctxB(t, waitB)
	require.NoError(t, c.AddAuth(ctx, "digest", []byte("alice:secret")))
	_, err := c.Create(ctx, "/n", nil) // caches ACL version 0
	require.NoError(t, err)

	spy.cut(opSetACL, 1)
	acl := []core.ACL{
		core.MakeACL("auth", "", core.PermAll),
		core.MakeACL("world", "anyone", core.PermRead),
		core.MakeACL("world", "anyone", core.PermRead),
	}
	st, err := c.SetACL(ctx, "/n", acl)
	require.NoError(t, err, "the first attempt went through")
	assert.Equal(t, int32(1), st.ACLVersion)
	assert.Len(t, spy.requests(opSetACL), 1, "the lost write alone: the retry looked first and saw it")

	got, _, err := c.GetACL(ctx, "/n")
	require.NoError(t, err)
	assert.Equal(t, []core.ACL{
		core.MakeACL("digest", core.DigestID("alice", "secret"), core.PermAll),
		core.MakeACL("world", "anyone", core.PermRead),
	}, got)
}

// A SetACL that drops the caller's own ADMIN permission, and whose reply
// is lost. At the cached version its retry looks at the ACL first (READ is
// kept) and sees the new one; forced, it sends the write again, which is
// refused with ErrNoAuth, and then reads the ACL back. Either way the call
// succeeds. Without ADMIN the caller reads digest entries with the
// password hash hidden ("alice:x"), which still counts as its own entry.
func TestRetrySetACLThatDropsOwnAdmin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		acl   []core.ACL
		opts  []core.WriteOption
		sends int // setACL requests
	}{
		{"auth, cached version", []core.ACL{core.MakeACL("auth", "", core.PermRead)}, nil, 1},
		{"auth, forced", []core.ACL{core.MakeACL("auth", "", core.PermRead)}, []core.WriteOption{core.Force()}, 2},
		{"digest, cached version", core.DigestACL("alice", "secret", core.PermRead), nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, spy := spyClientB(t, core.RetryForever())
			ctx := ctxB(t, waitB)
			require.NoError(t, c.AddAuth(ctx, "digest", []byte("alice:secret")))
			_, err := c.Create(ctx, "/n", nil, core.WithACL(core.CreatorAllACL...))
			require.NoError(t, err)

			spy.cut(opSetACL, 1)
			st, err := c.SetACL(ctx, "/n", tc.acl, tc.opts...)
			require.NoError(t, err, "the first attempt went through")
			assert.Equal(t, int32(1), st.ACLVersion)
			require.Len(t, spy.requests(opSetACL), tc.sends, "the lost write, and when forced a retry refused for want of ADMIN")

			got, _, err := c.GetACL(ctx, "/n")
			require.NoError(t, err)
			assert.Equal(t, []core.ACL{core.MakeACL("digest", "alice:x", core.PermRead)}, got,
				"alice's entry alone, with READ only, its hash hidden from a caller without ADMIN")
		})
	}
}

// A sequential create paired with a listing: the create's reply comes, the
// listing's is lost, and so is that of the listing sent again on the next
// connection. The node is made, so only a read is left, which the policy
// sends again until it succeeds, whatever the create's own retry rule.
func TestRetryListingAfterCreateLost(t *testing.T) {
	srv := zktest.Shared(t)
	cutter := &replyCutterB{}
	c := startA(t, srv.ConnString(), core.WithDialer(cutter.dial), core.WithChroot(chrootA(t, srv)),
		core.WithRetryPolicy(core.RetryForever()))
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/q", nil)
	require.NoError(t, err)

	cutter.deliver.Store(1) // the create's reply
	cutter.cuts.Store(2)    // the pair's listing, then the listing sent again
	created, _, children, err := c.CreateAndListStat(ctx, "/q/n-", nil, "/q", core.Ephemeral(), core.Sequential())
	require.NoError(t, err)
	assert.Zero(t, cutter.cuts.Load(), "both listings were cut")
	assert.Equal(t, []string{path.Base(created)}, children)
}

// replyCutterB's connections cut themselves at a reply: after deliver
// replies have come through (over all connections), each of the next cuts
// replies is dropped with its connection.
type replyCutterB struct {
	deliver, cuts atomic.Int32
}

func (rc *replyCutterB) dial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &cutConnB{Conn: nc, rc: rc}, nil
}

// cutConnB hands its reader one whole frame at a time, so that it can
// stop between two replies.
type cutConnB struct {
	net.Conn
	rc        *replyCutterB
	in, out   []byte // read and not yet framed; framed and not yet handed out
	handshake bool   // the connect response has been handed out
	dead      bool
}

func (c *cutConnB) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.dead {
			return 0, net.ErrClosed
		}
		if err := c.nextFrame(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// nextFrame reads one whole frame and lets it through, or cuts the
// connection at it.
func (c *cutConnB) nextFrame() error {
	for len(c.in) < 4 || len(c.in) < 4+int(binary.BigEndian.Uint32(c.in)) {
		buf := make([]byte, 4096)
		n, err := c.Conn.Read(buf)
		c.in = append(c.in, buf[:n]...)
		if err != nil {
			return err
		}
	}
	size := 4 + int(binary.BigEndian.Uint32(c.in))
	frame := append([]byte(nil), c.in[:size]...)
	c.in = c.in[size:]
	switch {
	case !c.handshake:
		c.handshake = true
	case c.rc.cuts.Load() == 0:
	case c.rc.deliver.Load() > 0:
		c.rc.deliver.Add(-1)
	default:
		c.rc.cuts.Add(-1)
		c.dead = true
		return c.Conn.Close()
	}
	c.out = frame
	return nil
}
