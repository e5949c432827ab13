package lock_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/recipes/lock"
)

// SCENARIO 23: contenders on separate sessions take turns; never two
// inside; fencing tokens grow with every acquisition.
func TestMutexExclusion(t *testing.T) {
	srv, _, path := sharedSetup(t)
	const contenders, rounds = 8, 6
	cs := startClients(t, srv.ConnString(), contenders)
	ctx := testCtx(t)

	var inside, entries, lastToken atomic.Int64
	errs := make(chan error, contenders)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			m := lock.NewMutex(c, path, lock.WithID(fmt.Appendf(nil, "worker-%d", i)))
			for range rounds {
				if err := m.Lock(ctx); err != nil {
					errs <- err
					return
				}
				if n := inside.Add(1); n != 1 {
					errs <- fmt.Errorf("%d contenders inside", n)
				}
				entries.Add(1)
				time.Sleep(time.Millisecond) // stay inside a while
				tok := m.Token()
				if prev := lastToken.Load(); tok <= prev {
					errs <- fmt.Errorf("token %d after %d", tok, prev)
				}
				lastToken.Store(tok)
				inside.Add(-1)
				if err := m.Unlock(ctx); err != nil {
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
	if got := entries.Load(); got != contenders*rounds {
		t.Errorf("%d entries, want %d", got, contenders*rounds)
	}
}

// SCENARIO 23: the queue is herd-free: each waiter holds one watch, on
// its predecessor when that is the only node before it and otherwise on
// the node before its predecessor (so that it lists the queue while its
// predecessor holds the lock, and its predecessor's release hands the lock
// over with no read). No node is watched by more than two waiters, no one
// watches the directory, and the lock passes down the queue in order.
func TestMutexWaitersWatchOneNodeEach(t *testing.T) {
	srv, c, path := sharedSetup(t)
	const waiters = 8
	ctx := testCtx(t)
	holder := lockedMutex(t, c, path)

	cs := startClients(t, srv.ConnString(), waiters)
	session := map[int64]int{} // session -> waiter
	var order atomic.Int64
	got := make([]chan result, waiters)
	for i, wc := range cs {
		session[sessionID(t, wc)] = i
		got[i] = make(chan result, 1)
		m := lock.NewMutex(wc, path)
		go func() {
			err := m.Lock(ctx)
			r := result{err: err, seq: order.Add(1)}
			if err == nil {
				err = m.Unlock(ctx)
			}
			if r.err == nil {
				r.err = err
			}
			got[i] <- r
		}()
		// Queue the waiters one by one, so the test knows their order.
		eventually(t, "the waiter's node", func() bool { return len(listChildren(t, c, path)) == i+2 })
	}

	q := queue(t, c, path)
	own := owners(t, c, path)
	eventually(t, "every waiter's watch", func() bool {
		w := watches(t, srv)
		for s := range session {
			if len(w[s]) == 0 {
				return false
			}
		}
		return true
	})
	w := watches(t, srv)
	watchers := map[string]int{}
	for i := 1; i < len(q); i++ {
		s := own[q[i]]
		want := []string{path + "/" + q[max(i-2, 0)]}
		if !slices.Equal(w[s], want) {
			t.Errorf("waiter %d (node %s) watches %v, want %v", session[s], q[i], w[s], want)
		}
		for _, p := range w[s] {
			watchers[p]++
		}
	}
	for p, n := range watchers {
		if n > 2 {
			t.Errorf("%d waiters watch %s, want at most 2", n, p)
		}
	}
	for s, paths := range w {
		if slices.Contains(paths, path) {
			t.Errorf("session 0x%x watches the lock directory", s)
		}
	}

	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(q); i++ {
		r := recv(t, got[session[own[q[i]]]], "a waiter's turn")
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.seq != int64(i) {
			t.Errorf("waiter at queue position %d got the lock %dth", i, r.seq)
		}
	}
}

// SCENARIO 23: waiters that give up between the holder and a waiter,
// whether the waiter watches them or not, never let it in early: it waits
// for the holder, then for the waiter left before it.
func TestMutexWaiterOutlivesGivingUpNeighbours(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	holder := lockedMutex(t, c, path)
	cs := startClients(t, srv.ConnString(), 4)
	// Three waiters before the one under test; the last two give up.
	ms := make([]*lock.Mutex, 3)
	cancels := make([]context.CancelFunc, 3)
	quit := make([]chan error, 3)
	for i := range ms {
		wctx, cancel := context.WithCancel(ctx)
		ms[i], cancels[i], quit[i] = lock.NewMutex(cs[i], path), cancel, make(chan error, 1)
		go func() { quit[i] <- ms[i].Lock(wctx) }()
		eventually(t, "the waiter's node", func() bool { return len(listChildren(t, c, path)) == i+2 })
	}
	last := lock.NewMutex(cs[3], path)
	done := make(chan error, 1)
	go func() { done <- last.Lock(ctx) }()
	eventually(t, "the last waiter's node", func() bool { return len(listChildren(t, c, path)) == 5 })
	stillWaiting := func(when string) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("the last waiter returned (%v) %s", err, when)
		case <-time.After(50 * time.Millisecond):
		}
	}

	// Its predecessor first (a node it does not watch), then the node it
	// watches.
	for _, i := range []int{2, 1} {
		cancels[i]()
		if err := recv(t, quit[i], "a waiter to give up"); !errors.Is(err, context.Canceled) {
			t.Fatalf("waiter %d: %v, want context.Canceled", i, err)
		}
		eventually(t, "the waiter's node to go", func() bool { return len(listChildren(t, c, path)) == 2+i })
		stillWaiting("while the holder holds")
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, quit[0], "the first waiter's turn"); err != nil {
		t.Fatal(err)
	}
	stillWaiting("while the first waiter holds")
	if err := ms[0].Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done, "the last waiter's turn"); err != nil {
		t.Fatal(err)
	}
	if err := last.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	cancels[0]()
}

// SCENARIO 23: TryLock fails at once while the lock is held, and leaves no
// node behind.
func TestMutexTryLock(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	other := startClient(t, srv.ConnString())
	a, b := lock.NewMutex(c, path), lock.NewMutex(other, path)
	if err := a.TryLock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock on a held lock: %v, want ErrLocked", err)
	}
	if n := nodesOf(t, c, path, sessionID(t, other)); len(n) != 0 {
		t.Errorf("a failed TryLock left %v", n)
	}
	if err := a.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.TryLock(ctx); err != nil {
		t.Fatalf("TryLock on a free lock: %v", err)
	}
	if err := b.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// SCENARIO 23: a waiter that gives up, whenever its ctx ends (even with
// its create in flight), leaves no node.
func TestMutexGiveUpLeavesNoNode(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	holder := lockedMutex(t, c, path)
	wc := startClient(t, srv.ConnString())
	waiter := lock.NewMutex(wc, path)
	sess := sessionID(t, wc)

	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- waiter.Lock(cctx) }()
		eventually(t, "the waiter's node", func() bool { return len(nodesOf(t, c, path, sess)) == 1 })
		cancel()
		if err := recv(t, done, "Lock to give up"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock: %v, want context.Canceled", err)
		}
		if n := nodesOf(t, c, path, sess); len(n) != 0 {
			t.Errorf("the waiter left %v", n)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		// Deadlines that end before, during and after the create.
		for i := range 25 {
			dctx, cancel := context.WithTimeout(ctx, time.Duration(i)*200*time.Microsecond)
			err := waiter.Lock(dctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Lock: %v, want context.DeadlineExceeded", err)
			}
			if n := nodesOf(t, c, path, sess); len(n) != 0 {
				t.Fatalf("deadline %d: the waiter left %v", i, n)
			}
		}
	})
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// SCENARIO 23: Lock twice is refused, Unlock without the lock too, and the
// object is reusable after Unlock.
func TestMutexReuse(t *testing.T) {
	_, c, path := sharedSetup(t)
	ctx := testCtx(t)
	m := lock.NewMutex(c, path)
	if err := m.Unlock(ctx); !errors.Is(err, lock.ErrNotLocked) {
		t.Fatalf("Unlock before Lock: %v, want ErrNotLocked", err)
	}
	var last int64
	for round := range 3 {
		if err := m.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		// Watching from the start: Unlock's own delete must not count as
		// a loss.
		lost := m.Lost()
		if err := m.Lock(ctx); !errors.Is(err, lock.ErrAlreadyLocked) {
			t.Fatalf("second Lock: %v, want ErrAlreadyLocked", err)
		}
		if err := m.TryLock(ctx); !errors.Is(err, lock.ErrAlreadyLocked) {
			t.Fatalf("TryLock while held: %v, want ErrAlreadyLocked", err)
		}
		tok := m.Token()
		if tok <= last {
			t.Errorf("round %d: token %d after %d", round, tok, last)
		}
		last = tok
		if err := m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := m.Unlock(ctx); !errors.Is(err, lock.ErrNotLocked) {
			t.Fatalf("second Unlock: %v, want ErrNotLocked", err)
		}
		if m.Token() != 0 {
			t.Error("Token after Unlock is not 0")
		}
		if isClosed(lost) {
			t.Errorf("round %d: Unlock closed Lost", round)
		}
	}
}

var (
	curatorName = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-lock-\d{10}$`)
	kazooName   = regexp.MustCompile(`^[0-9a-f]{32}__lock__\d{10}$`)
)

// Node names follow Curator's format, or kazoo's with WithKazooLayout, and
// the lock directory is a container that goes once empty.
func TestMutexNodeNames(t *testing.T) {
	_, c, path := sharedSetup(t)
	ctx := testCtx(t)
	for _, tt := range []struct {
		name string
		opts []lock.Option
		want *regexp.Regexp
	}{
		{"curator", nil, curatorName},
		{"kazoo", []lock.Option{lock.WithKazooLayout()}, kazooName},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := path + "/" + tt.name + "/lock"
			m := lock.NewMutex(c, dir, tt.opts...)
			if err := m.Lock(ctx); err != nil {
				t.Fatal(err)
			}
			kids := listChildren(t, c, dir)
			if len(kids) != 1 || !tt.want.MatchString(kids[0]) {
				t.Errorf("children %q, want one matching %s", kids, tt.want)
			}
			if err := m.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the empty container to go", func() bool {
				ok, err := c.Exists(ctx, dir)
				return err == nil && !ok
			})
		})
	}
}

// Nodes made by other libraries are contenders: go-zookeeper's
// "_c_<hex32>-lock-<seq>" and kazoo's "<hex32>__lock__<seq>"; other
// children are ignored.
func TestMutexForeignContenders(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	foreign := startClient(t, srv.ConnString())
	if _, err := c.Create(ctx, path, nil, core.WithParents()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, path+"/readme", []byte("not a contender")); err != nil {
		t.Fatal(err)
	}
	m := lock.NewMutex(c, path, lock.WithID([]byte("zkit")))
	if err := m.TryLock(ctx); err != nil {
		t.Fatalf("TryLock with only an unrelated child: %v", err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{
		"_c_0123456789abcdef0123456789abcdef-lock-", // go-zookeeper
		"0123456789abcdef0123456789abcdef__lock__",  // kazoo
	} {
		t.Run(name, func(t *testing.T) {
			node, err := foreign.Create(ctx, path+"/"+name, []byte("foreign"), core.Ephemeral(), core.Sequential())
			if err != nil {
				t.Fatal(err)
			}
			if err := m.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
				t.Fatalf("TryLock behind a foreign node: %v, want ErrLocked", err)
			}
			done := make(chan error, 1)
			go func() { done <- m.Lock(ctx) }()
			eventually(t, "the lock's node", func() bool { return len(listChildren(t, c, path)) == 3 })
			// Once Lock watches the foreign node it has listed the queue
			// and decided to wait: only then does "still waiting" mean
			// something.
			eventually(t, "the lock's watch on the foreign node", func() bool {
				return slices.Contains(watches(t, srv)[sessionID(t, c)], node)
			})
			ids, err := m.Participants(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"foreign", "zkit"}; !slices.Equal(ids, want) {
				t.Errorf("Participants = %q, want %q", ids, want)
			}
			select {
			case err := <-done:
				t.Fatalf("Lock returned (%v) while a foreign node held the lock", err)
			default:
			}
			if err := foreign.Delete(ctx, node, core.Force()); err != nil {
				t.Fatal(err)
			}
			if err := recv(t, done, "Lock after the foreign node went"); err != nil {
				t.Fatal(err)
			}
			if err := m.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Participants lists ids, or node names without one, in queue order.
func TestMutexParticipants(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	other := startClient(t, srv.ConnString())
	if ids, err := lock.NewMutex(c, path).Participants(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("Participants of a missing lock = %q, %v", ids, err)
	}
	first := lock.NewMutex(c, path, lock.WithID([]byte("first")))
	second := lock.NewMutex(other, path)
	if err := first.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Lock(ctx) }()
	eventually(t, "the second node", func() bool { return len(listChildren(t, c, path)) == 2 })
	ids, err := second.Participants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != "first" || !curatorName.MatchString(ids[1]) {
		t.Errorf("Participants = %q, want [first <node name>]", ids)
	}
	if err := first.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done, "the second Lock"); err != nil {
		t.Fatal(err)
	}
	if err := second.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// A caller that retries Lock with short timeouts, against a holder that
// keeps the lock, reuses the watch its last given-up wait set on the
// holder's node: the client keeps a one-shot watch until its node
// changes, so one watch per attempt would pile up for as long as the
// holder holds. The attempts read the holder's node once, not once each,
// and the reused watch still brings the hand-off.
func TestMutexRetriesReuseTheirWatch(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	holder := lockedMutex(t, c, path)
	ops := &opRecorder{}
	m := lock.NewMutex(startClient(t, srv.ConnString(), core.WithDialer(ops.dial)), path)

	const attempts = 20
	for range attempts {
		attempt, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		err := m.Lock(attempt)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock against a holder: %v, want context.DeadlineExceeded", err)
		}
	}
	reads := 0
	for _, op := range ops.since(0) {
		if op == proto.OpGetData {
			reads++
		}
	}
	// A read still in flight when an attempt's time runs out sets a watch
	// no later attempt can take; a few such are allowed.
	if reads > attempts/4 {
		t.Errorf("%d attempts read the holder's node %d times, want at most %d", attempts, reads, attempts/4)
	}

	got := make(chan error, 1)
	go func() { got <- m.Lock(ctx) }()
	eventually(t, "the waiter's node", func() bool { return len(listChildren(t, c, path)) == 2 })
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, got, "Lock after the holder's release"); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
