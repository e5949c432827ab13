package lock_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
)

// testCtx bounds a test's calls; a hang fails the test instead of the
// whole binary.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// startClient starts a client, closed when the test ends.
func startClient(t testing.TB, servers string, opts ...core.Option) *core.Client {
	t.Helper()
	c, err := core.NewClient(servers, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startClients starts n clients, each with a session of its own.
func startClients(t testing.TB, servers string, n int, opts ...core.Option) []*core.Client {
	t.Helper()
	cs := make([]*core.Client, n)
	for i := range cs {
		cs[i] = startClient(t, servers, opts...)
	}
	return cs
}

// sharedSetup returns the shared server, a client of it and a path of the
// test's own.
func sharedSetup(t testing.TB) (*zktest.Server, *core.Client, string) {
	t.Helper()
	srv := zktest.Shared(t)
	return srv, startClient(t, srv.ConnString()), zktest.UniquePath(t)
}

// lockedMutex returns a Mutex on path that holds the lock.
func lockedMutex(t testing.TB, c *core.Client, path string) *lock.Mutex {
	t.Helper()
	m := lock.NewMutex(c, path)
	if err := m.Lock(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return m
}

// sessionID returns the client's current session id.
func sessionID(t testing.TB, c *core.Client) int64 {
	t.Helper()
	s := c.Session()
	if s == nil {
		t.Fatal("client has no session")
	}
	return s.ID()
}

// expire expires the client's current session on the server.
//
// The client reconnects as soon as ExpireSession's connection takes the
// session over, and its reconnection can take the session back before the
// close is sent (ExpireSession then fails with EOF); expire tries again
// until the session is gone.
func expire(t testing.TB, servers string, c *core.Client) {
	t.Helper()
	s := c.Session()
	if s == nil {
		t.Fatal("client has no session")
	}
	ctx := testCtx(t)
	for attempt := 1; ; attempt++ {
		err := zktest.ExpireSession(ctx, servers, s.ID(), s.Password())
		if err == nil || (attempt > 1 && errors.Is(err, zktest.ErrNoSession)) {
			return
		}
		if ctx.Err() != nil || errors.Is(err, zktest.ErrNoSession) {
			t.Fatal(err)
		}
		t.Logf("expire session 0x%x, attempt %d: %v", s.ID(), attempt, err)
	}
}

// listChildren lists dir's children; a missing dir has none.
func listChildren(t testing.TB, c *core.Client, dir string) []string {
	t.Helper()
	kids, err := c.GetChildren(testCtx(t), dir)
	if errors.Is(err, core.ErrNoNode) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(kids)
	return kids
}

// queue returns dir's children in order of their sequence numbers (no
// test path comes near the 2^31 wrap).
func queue(t testing.TB, c *core.Client, dir string) []string {
	t.Helper()
	kids := listChildren(t, c, dir)
	slices.SortFunc(kids, func(a, b string) int { return seqOf(t, a) - seqOf(t, b) })
	return kids
}

func seqOf(t testing.TB, name string) int {
	t.Helper()
	n, err := strconv.Atoi(name[len(name)-10:])
	if err != nil {
		t.Fatalf("node %q has no sequence number", name)
	}
	return n
}

// owners maps each child of dir to its ephemeral owner.
func owners(t testing.TB, c *core.Client, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, k := range listChildren(t, c, dir) {
		st, err := c.ExistsStat(testCtx(t), dir+"/"+k)
		if err != nil {
			t.Fatal(err)
		}
		if st != nil {
			out[k] = st.EphemeralOwner
		}
	}
	return out
}

// nodesOf returns the children of dir that session owns.
func nodesOf(t testing.TB, c *core.Client, dir string, session int64) []string {
	t.Helper()
	var out []string
	for name, owner := range owners(t, c, dir) {
		if owner == session {
			out = append(out, name)
		}
	}
	return out
}

// eventually polls cond until it holds, failing the test when the test's
// context ends first. It asserts a state, never a duration.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx := testCtx(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// recv waits for ch to close or deliver, failing the test when the test's
// context ends first.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-testCtx(t).Done():
		t.Fatalf("gave up waiting for %s", what)
	}
	var zero T
	return zero
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// watches returns the paths each session watches on srv.
func watches(t testing.TB, srv *zktest.Server) map[int64][]string {
	t.Helper()
	w, err := srv.Watches(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// result carries a blocking call's outcome back to the test.
type result struct {
	err error
	seq int64
}
