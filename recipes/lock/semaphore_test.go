package lock_test

import (
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
)

var curatorLease = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-lease-\d{10}$`)

// SCENARIO 26: ten contenders on separate sessions never hold more than
// three leases at once.
func TestSemaphoreBound(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	const maxLeases, contenders, rounds = 3, 10, 4
	var inside, peak, entries atomic.Int64
	errs := make(chan error, contenders*rounds)
	var wg sync.WaitGroup
	for _, cc := range startClients(t, srv.ConnString(), contenders) {
		s := lock.NewSemaphore(cc, path, maxLeases)
		wg.Go(func() {
			for range rounds {
				lease, err := s.Acquire(ctx)
				if err != nil {
					errs <- err
					return
				}
				n := inside.Add(1)
				if n > maxLeases {
					errs <- fmt.Errorf("%d holders", n)
				}
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				entries.Add(1)
				time.Sleep(5 * time.Millisecond) // stay inside a while
				inside.Add(-1)
				if err := lease.Release(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := entries.Load(); n != contenders*rounds {
		t.Errorf("%d leases taken, want %d", n, contenders*rounds)
	}
	t.Logf("at most %d holders at once", peak.Load())
	if kids := listChildren(t, c, path+"/leases"); len(kids) != 0 {
		t.Errorf("leases left: %v", kids)
	}
}

// SCENARIO 26: a holder whose session dies leaves no orphan lease, and a
// waiter takes its place.
func TestSemaphoreSessionDeath(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	const maxLeases = 3
	cs := startClients(t, srv.ConnString(), maxLeases+1)
	leases := takeLeases(t, cs[:maxLeases], path, maxLeases)
	for _, k := range listChildren(t, c, path+"/leases") {
		if !curatorLease.MatchString(k) {
			t.Errorf("lease %q is not in Curator's format", k)
		}
	}
	got := make(chan *lock.Lease, 1)
	go func() {
		l, err := lock.NewSemaphore(cs[maxLeases], path, maxLeases).Acquire(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	eventually(t, "the waiter's lease node", func() bool { return len(listChildren(t, c, path+"/leases")) == maxLeases+1 })
	liveLost := leases[1].Lost()
	select {
	case <-got:
		t.Fatal("a fourth lease was granted")
	default:
	}

	dead := sessionID(t, cs[0])
	expire(t, srv.ConnString(), cs[0])
	recv(t, leases[0].Lost(), "the dead holder's Lost")
	l := recv(t, got, "the waiter's lease")
	if l == nil {
		t.FailNow()
	}
	own := owners(t, c, path+"/leases")
	if len(own) != maxLeases {
		t.Errorf("%d leases, want %d", len(own), maxLeases)
	}
	for name, s := range own {
		if s == dead {
			t.Errorf("lease %s of the dead session is still there", name)
		}
	}
	if isClosed(liveLost) {
		t.Error("a live holder's Lost is closed")
	}
	for _, l := range append(leases, l) {
		if err := l.Release(ctx); err != nil {
			t.Error(err)
		}
	}
	if err := l.Release(ctx); !errors.Is(err, lock.ErrNotLocked) {
		t.Errorf("second Release: %v, want ErrNotLocked", err)
	}
}

// SCENARIO 26: a waiter whose session dies while it waits for room fails
// with ErrLockLost and leaves no lease, neither of its old session nor of
// the new one its client makes.
func TestSemaphoreWaiterSessionDies(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	const maxLeases = 2
	cs := startClients(t, srv.ConnString(), maxLeases+1)
	leases := takeLeases(t, cs[:maxLeases], path, maxLeases)
	waiter := cs[maxLeases]
	done := make(chan error, 1)
	go func() {
		_, err := lock.NewSemaphore(waiter, path, maxLeases).Acquire(ctx)
		done <- err
	}()
	eventually(t, "the waiter's lease node", func() bool { return len(listChildren(t, c, path+"/leases")) == maxLeases+1 })

	old := sessionID(t, waiter)
	expire(t, srv.ConnString(), waiter)
	err := recv(t, done, "the waiter's Acquire")
	if !errors.Is(err, lock.ErrLockLost) || !errors.Is(err, core.ErrSessionExpired) {
		t.Fatalf("Acquire: %v, want ErrLockLost and ErrSessionExpired", err)
	}
	eventually(t, "the waiter's new session", func() bool {
		s := waiter.Session()
		return s != nil && s.ID() != old && s.Err() == nil
	})
	renewed := sessionID(t, waiter)
	for _, dir := range []string{path + "/leases", path + "/locks"} {
		for name, owner := range owners(t, c, dir) {
			if owner == old || owner == renewed {
				t.Errorf("%s/%s belongs to the waiter's session 0x%x", dir, name, owner)
			}
		}
	}
	if n := len(listChildren(t, c, path+"/leases")); n != maxLeases {
		t.Errorf("%d leases, want the %d holders'", n, maxLeases)
	}
	for _, l := range leases {
		if err := l.Release(ctx); err != nil {
			t.Error(err)
		}
	}
}

func TestSemaphoreNoLeases(t *testing.T) {
	_, c, path := sharedSetup(t)
	if _, err := lock.NewSemaphore(c, path, 0).Acquire(testCtx(t)); !errors.Is(err, core.ErrInvalidArgument) {
		t.Fatalf("Acquire with no leases: %v, want ErrInvalidArgument", err)
	}
}

// takeLeases takes one lease of the semaphore on path through each client.
func takeLeases(t *testing.T, clients []*core.Client, path string, maxLeases int) []*lock.Lease {
	t.Helper()
	var leases []*lock.Lease
	for _, c := range clients {
		l, err := lock.NewSemaphore(c, path, maxLeases).Acquire(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		leases = append(leases, l)
	}
	return leases
}
