//go:build unix

// These tests stop JVMs with SIGSTOP, which only Unix systems have.

package zktest

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestServerCloseWhileInUse closes a server while other goroutines use
// it, which the race detector checks, and checks that the server's address
// outlives Close.
func TestServerCloseWhileInUse(t *testing.T) {
	s, err := NewServer(t.Context(), WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	stop := make(chan struct{})
	var users sync.WaitGroup
	var started sync.WaitGroup
	for range 3 {
		started.Add(1)
		users.Go(func() {
			once := sync.OnceFunc(started.Done)
			defer once()
			for {
				if got := s.Addr(); got != addr {
					t.Errorf("Addr = %q, want %q", got, addr)
					return
				}
				_ = s.ConnString()
				_ = s.SecureAddr()
				_, _ = s.Mode()
				_, _ = s.FourLetter(t.Context(), "ruok")
				once()
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	started.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	users.Wait()

	if got := s.Addr(); got != addr {
		t.Errorf("Addr after Close = %q, want %q", got, addr)
	}
	ft := &fakeTB{TB: t}
	s.tb = ft
	ft.run(func() { s.Restart() })
	if want := "zktest: restart " + addr + ": " + ErrClosed.Error(); ft.fatal != want {
		t.Errorf("Restart after Close failed the test with %q, want %q", ft.fatal, want)
	}
}

// freeze stops the server's JVM with SIGSTOP, as a long GC pause would, until
// the test ends.
func freeze(t *testing.T, s *Server) {
	t.Helper()
	s.mu.Lock()
	pid := s.proc.cmd.Process.Pid
	s.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
}

// TestEnsembleFrozenMember checks that WaitLeader and SessionServer return
// when their context ends, that SessionServer passes over the member, and
// that Leader does not wait for it, while a member takes connections but
// never answers.
func TestEnsembleFrozenMember(t *testing.T) {
	e := StartEnsemble(t, 3)
	leader, err := e.Leader()
	if err != nil {
		t.Fatal(err)
	}
	// The first server that follows, which the leader (usually the last,
	// of the highest id) comes after.
	frozen := e.Servers()[0]
	if frozen == leader {
		frozen = e.Servers()[1]
	}
	freeze(t, frozen)

	// within runs call with a context that has no deadline, and cancels
	// that context, failing the test, if call has not returned after limit.
	within := func(what string, limit time.Duration, call func(ctx context.Context)) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			call(ctx)
		}()
		select {
		case <-done:
		case <-time.After(limit):
			t.Errorf("%s still waited after %v", what, limit)
			cancel()
			<-done
		}
	}
	within("WaitLeader with a 1 s context", 5*time.Second, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := e.WaitLeader(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitLeader: %v, want context.DeadlineExceeded", err)
		}
	})
	within("SessionServer with a 1 s context", 5*time.Second, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := e.SessionServer(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SessionServer: %v, want context.DeadlineExceeded", err)
		}
	})
	within("Leader", 5*time.Second, func(context.Context) {
		if l, err := e.Leader(); l != leader {
			t.Errorf("Leader = %v, %v; want server %d", l, err, leader.ID())
		}
	})
	within("SessionServer without a deadline", probeTimeout+10*time.Second, func(ctx context.Context) {
		if _, err := e.SessionServer(ctx, 1); !errors.Is(err, ErrSessionNotFound) {
			t.Errorf("SessionServer: %v, want ErrSessionNotFound", err)
		}
	})
}

// TestWaitLeaderDoneContext checks that WaitLeader with a context that has
// ended returns its error rather than a leader.
func TestWaitLeaderDoneContext(t *testing.T) {
	e := StartEnsemble(t, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if l, err := e.WaitLeader(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitLeader = %v, %v; want context.Canceled", l, err)
	}
}

// TestProxyCloseFromPingHook closes the proxy from an OnNextPingReply
// hook, which runs on one of the goroutines Close waits for: Close must
// return, end the connection, and a later Close must wait for the rest.
func TestProxyCloseFromPingHook(t *testing.T) {
	b := startBackend(t)
	// Not StartProxy: were Close from the hook to hang, so would its
	// Close at the end of the test.
	p, err := NewProxy(b.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := dialProxy(t, p)
	roundTrip(t, c, 1, "before")

	closed := make(chan error, 1)
	p.OnNextPingReply(func() { closed <- p.Close() })
	if _, err := c.Write(frame(request(xidPing, 11, ""))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close from the hook: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close from the hook has not returned after 10 s")
	}
	wantClosed(t, c)
	if n := p.Conns(); n != 0 {
		t.Errorf("%d connections after Close", n)
	}
	// The hook has yet to return, after sending on closed; once it has, a
	// later Close waits for its goroutine.
	for deadline := time.Now().Add(10 * time.Second); ; {
		p.mu.Lock()
		hooking := p.hooking
		p.mu.Unlock()
		if hooking == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hook has not returned after 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	p.mu.Lock()
	running := p.running
	p.mu.Unlock()
	if running != 0 {
		t.Errorf("%d goroutines run after the second Close", running)
	}
}

// TestProxyCloseTwice checks that Close is idempotent.
func TestProxyCloseTwice(t *testing.T) {
	_, p, _ := proxiedConn(t)
	for i := range 3 {
		if err := p.Close(); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
}
