package main

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
)

// go-zookeeper's Lock and zkit's Mutex contend on one path against a real
// server: the hand-off goes both ways, and contenders of both libraries
// looping on one lock never hold it together. (Curator and kazoo are
// checked in recipes/lock; go-zookeeper lives here, in the module that may
// name it.)

var goZookeeperName = regexp.MustCompile(`^_c_[0-9a-f]{32}-lock-\d{10}$`)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func zkitClient(t *testing.T, servers string) *core.Client {
	t.Helper()
	c, err := core.NewClient(servers)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func peerConn(t *testing.T, servers string) *zk.Conn {
	t.Helper()
	c, err := driver{}.Connect(testCtx(t), servers, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*client).conn
}

// inBackground runs f in a goroutine and returns its outcome's channel.
func inBackground(f func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return done
}

func recv(t *testing.T, done <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-testCtx(t).Done():
		t.Fatalf("gave up waiting for %s", what)
	}
	return nil
}

func pending(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned (%v) while it should wait", what, err)
	default:
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
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

func children(t *testing.T, c *core.Client, dir string) []string {
	t.Helper()
	kids, err := c.GetChildren(testCtx(t), dir)
	if err != nil && !errors.Is(err, core.ErrNoNode) {
		t.Fatal(err)
	}
	slices.SortFunc(kids, func(a, b string) int { return compareSeq(a[len(a)-10:], b[len(b)-10:]) })
	return kids
}

func compareSeq(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// watchedBy reports whether session watches path on srv.
func watchedBy(t *testing.T, srv *zktest.Server, session int64, path string) bool {
	t.Helper()
	w, err := srv.Watches(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(w[session], path)
}

func TestInteropGoZookeeperLock(t *testing.T) {
	srv := zktest.Shared(t)
	path := zktest.UniquePath(t)
	ctx := testCtx(t)
	c := zkitClient(t, srv.ConnString())

	// go-zookeeper holds; zkit waits, watching its node.
	peer := zk.NewLock(peerConn(t, srv.ConnString()), path, openACL)
	if err := peer.Lock(); err != nil {
		t.Fatal(err)
	}
	m := lock.NewMutex(c, path)
	if err := m.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock under go-zookeeper's hold: %v, want ErrLocked", err)
	}
	done := inBackground(func() error { return m.Lock(ctx) })
	eventually(t, "zkit's node", func() bool { return len(children(t, c, path)) == 2 })
	q := children(t, c, path)
	if !goZookeeperName.MatchString(q[0]) {
		t.Errorf("go-zookeeper's node %q", q[0])
	}
	eventually(t, "zkit's watch", func() bool { return watchedBy(t, srv, c.Session().ID(), path+"/"+q[0]) })
	pending(t, done, "zkit's Lock under go-zookeeper's hold")
	if err := peer.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done, "zkit's Lock"); err != nil {
		t.Fatal(err)
	}

	// zkit holds; go-zookeeper waits.
	peerConn2 := peerConn(t, srv.ConnString())
	waiter := zk.NewLock(peerConn2, path, openACL)
	peerIn := inBackground(waiter.Lock)
	eventually(t, "go-zookeeper's node", func() bool { return len(children(t, c, path)) == 2 })
	eventually(t, "go-zookeeper's watch", func() bool {
		return watchedBy(t, srv, peerConn2.SessionID(), path+"/"+children(t, c, path)[0])
	})
	pending(t, peerIn, "go-zookeeper's Lock under zkit's hold")
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, peerIn, "go-zookeeper's Lock"); err != nil {
		t.Fatal(err)
	}
	if err := waiter.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// Two go-zookeeper and two zkit contenders looping on one lock never hold
// it together: each holder creates an ephemeral guard node, which fails if
// another holder's is there. A starter holds the lock until all four are
// queued, go-zookeeper's first, so the lock passes from go-zookeeper to
// zkit at least once; the test checks that it did.
func TestInteropGoZookeeperExclusion(t *testing.T) {
	const rounds = 25
	srv := zktest.Shared(t)
	path := zktest.UniquePath(t)
	guard, last := path+"-guard", path+"-last"
	ctx := testCtx(t)
	c := zkitClient(t, srv.ConnString())
	if _, err := c.Create(ctx, last, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), last, core.Force()) })
	starter := lock.NewMutex(c, path)
	if err := starter.Lock(ctx); err != nil {
		t.Fatal(err)
	}

	var (
		wg                   sync.WaitGroup
		mu                   sync.Mutex
		violations, handOffs int
	)
	count := func(exists, missing, handOff bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range []bool{exists, missing} {
			if b {
				violations++
			}
		}
		if handOff {
			handOffs++
		}
	}
	for range 2 {
		conn := peerConn(t, srv.ConnString())
		l := zk.NewLock(conn, path, openACL)
		wg.Go(func() {
			// A failed round closes the session, so a lock it holds goes.
			for range rounds {
				if err := l.Lock(); err != nil {
					t.Error(err)
					conn.Close()
					return
				}
				_, err := conn.Create(guard, nil, zk.FlagEphemeral, openACL)
				_, serr := conn.Set(last, []byte("go-zookeeper"), -1)
				time.Sleep(time.Millisecond)
				derr := conn.Delete(guard, -1)
				count(errors.Is(err, zk.ErrNodeExists), errors.Is(derr, zk.ErrNoNode), false)
				if err := errors.Join(serr, l.Unlock()); err != nil {
					t.Error(err)
					conn.Close()
					return
				}
			}
		})
	}
	eventually(t, "go-zookeeper's nodes", func() bool { return len(children(t, c, path)) == 3 })
	for range 2 {
		zc := zkitClient(t, srv.ConnString())
		m := lock.NewMutex(zc, path)
		wg.Go(func() {
			for range rounds {
				if err := m.Lock(ctx); err != nil {
					t.Error(err)
					_ = zc.Close()
					return
				}
				_, err := zc.Create(ctx, guard, nil, core.Ephemeral())
				prev, gerr := zc.GetData(ctx, last)
				_, serr := zc.Set(ctx, last, []byte("zkit"), -1)
				time.Sleep(time.Millisecond)
				derr := zc.Delete(ctx, guard, core.Force())
				count(errors.Is(err, core.ErrNodeExists), errors.Is(derr, core.ErrNoNode), string(prev) == "go-zookeeper")
				if err := errors.Join(gerr, serr, m.Unlock(ctx)); err != nil {
					t.Error(err)
					_ = zc.Close()
					return
				}
			}
		})
	}
	eventually(t, "zkit's nodes", func() bool { return len(children(t, c, path)) == 5 })
	if err := starter.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if violations > 0 {
		t.Fatalf("%d guard violations: two contenders held the lock at once", violations)
	}
	if handOffs == 0 {
		t.Fatal("the lock never passed from go-zookeeper to zkit: the loops did not contend")
	}
	t.Logf("%d hand-offs from go-zookeeper to zkit in %d zkit rounds", handOffs, 2*rounds)
}
