package lock_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
)

// Contenders of Curator and kazoo run in driver processes (see
// interop_driver_test.go); zkit's run here. Each test checks the hand-off
// both ways, that a waiter of either library watches the node it should,
// and, where it can, mutual exclusion under a mixed load.

// waitsOn waits until session holds a watch on node: a waiter that has
// listed the queue and found it must wait.
func waitsOn(t *testing.T, srv *zktest.Server, session int64, node string) {
	t.Helper()
	eventually(t, "a watch on "+node, func() bool { return slices.Contains(watches(t, srv)[session], node) })
}

// pendingCall fails the test if done has an outcome: the call should
// still wait.
func pendingCall(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned (%v) while it should wait", what, err)
	default:
	}
}

// lockInBackground runs m.Lock in a goroutine and returns its outcome's
// channel.
func lockInBackground(ctx context.Context, m *lock.Mutex) <-chan error {
	done := make(chan error, 1)
	go func() { done <- m.Lock(ctx) }()
	return done
}

// loopStats is what a zkit contender saw in its rounds.
type loopStats struct {
	violations int // guards another holder had created, or deleted
	handOffs   int // rounds whose previous holder was of the other library
}

// zkitLoop makes rounds of Lock, guard, Unlock, as the drivers' loop does,
// on a client of its own. It closes the client when it fails, so that a
// lock it may hold goes and the other contenders finish.
func zkitLoop(ctx context.Context, c *core.Client, m *lock.Mutex, rounds int, guard string) (st loopStats, err error) {
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	for range rounds {
		if err := m.Lock(ctx); err != nil {
			return st, err
		}
		err := guardedRound(ctx, c, guard, &st)
		if uerr := m.Unlock(ctx); err == nil {
			err = uerr
		}
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// guardedRound is the work of one holder: create the guard, record the
// library in guard+"-last", delete the guard.
func guardedRound(ctx context.Context, c *core.Client, guard string, st *loopStats) error {
	if _, err := c.Create(ctx, guard, nil, core.Ephemeral()); errors.Is(err, core.ErrNodeExists) {
		st.violations++
	} else if err != nil {
		return err
	}
	last, err := c.GetData(ctx, guard+"-last")
	if err != nil {
		return err
	}
	if len(last) > 0 && string(last) != "zkit" {
		st.handOffs++
	}
	if _, err := c.Set(ctx, guard+"-last", []byte("zkit"), -1); err != nil {
		return err
	}
	time.Sleep(time.Millisecond)
	if err := c.Delete(ctx, guard, core.Force()); errors.Is(err, core.ErrNoNode) {
		st.violations++
	} else if err != nil {
		return err
	}
	return nil
}

// mixedExclusion runs rounds of guarded critical sections from two zkit
// clients and two foreign participants at once, and fails the test if two
// ever held the lock together. A starter holds the lock until all four
// are queued, foreign ones first, so the lock passes from the other
// library to zkit at least once; the test checks that it did.
func mixedExclusion(t *testing.T, srv *zktest.Server, d *driver, kind, path string, opts ...lock.Option) {
	const rounds = 25
	ctx := testCtx(t)
	guard := path + "-guard"
	c := startClient(t, srv.ConnString())
	if _, err := c.Create(ctx, guard+"-last", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), guard+"-last", core.Force()) })
	starter := lock.NewMutex(c, path, opts...)
	if err := starter.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	foreign := []*participant{d.join(kind, path), d.join(kind, path)}
	for _, p := range foreign {
		p.loop(rounds, guard)
	}
	eventually(t, "the foreign contenders' nodes", func() bool { return len(listChildren(t, c, path)) == 3 })

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total loopStats
	)
	for _, c := range startClients(t, srv.ConnString(), 2) {
		m := lock.NewMutex(c, path, opts...)
		wg.Go(func() {
			st, err := zkitLoop(ctx, c, m, rounds, guard)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total.violations += st.violations
			total.handOffs += st.handOffs
			mu.Unlock()
		})
	}
	eventually(t, "zkit's contenders' nodes", func() bool { return len(listChildren(t, c, path)) == 5 })
	if err := starter.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, p := range foreign {
		total.violations += p.looped(rounds)
	}
	if total.violations > 0 {
		t.Fatalf("%d guard violations: two contenders held the lock at once", total.violations)
	}
	if total.handOffs == 0 {
		t.Fatalf("the lock never passed from %s to zkit: the loops did not contend", d.name)
	}
	t.Logf("%d hand-offs from %s to zkit in %d zkit rounds", total.handOffs, d.name, 2*rounds)
}

// Curator's InterProcessMutex and zkit's Mutex queue on one path in
// sequence order, each side waiting for the other, each waiter watching
// the node before it.
func TestInteropCuratorMutex(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	cur := startCurator(t, srv.ConnString())

	held := lockedMutex(t, c, path)
	j := cur.join("mutex", path)
	j.acquire()
	eventually(t, "Curator's node", func() bool { return len(listChildren(t, c, path)) == 2 })
	q := queue(t, c, path)
	if !curatorName.MatchString(q[1]) {
		t.Errorf("Curator's node %q", q[1])
	}
	waitsOn(t, srv, j.session, path+"/"+q[0])
	j.quiet("zkit holds the lock")
	if ids, err := held.Participants(ctx); err != nil || len(ids) != 2 {
		t.Errorf("Participants: %q, %v; want zkit's and Curator's", ids, err)
	}

	if err := held.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	j.expect("acquired")

	waiter := lock.NewMutex(startClient(t, srv.ConnString()), path)
	if err := waiter.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock under Curator's hold: %v, want ErrLocked", err)
	}
	done := lockInBackground(ctx, waiter)
	eventually(t, "zkit's node", func() bool { return len(listChildren(t, c, path)) == 2 })
	q = queue(t, c, path)
	waitsOn(t, srv, nodeOwner(t, c, path, q[1]), path+"/"+q[0])
	pendingCall(t, done, "zkit's Lock under Curator's hold")

	j.release()
	if err := recv(t, done, "zkit's Lock"); err != nil {
		t.Fatal(err)
	}
	if err := waiter.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// Two Curator and two zkit contenders looping on one mutex are never in
// together.
func TestInteropCuratorMutexExclusion(t *testing.T) {
	srv, _, path := sharedSetup(t)
	mixedExclusion(t, srv, startCurator(t, srv.ConnString()), "mutex", path)
}

// Curator's and zkit's read/write locks share readers, queue a writer of
// either library behind the readers before it, and hold back a reader of
// either library queued behind a waiting writer.
func TestInteropCuratorReadWriteLock(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	cur := startCurator(t, srv.ConnString())

	zkReader, zkWriter, lateReader := writerBetweenReaders(t, srv, c, cur, path, func(q []string) {
		if !curatorRead.MatchString(q[3]) || !curatorWrite.MatchString(q[2]) {
			t.Errorf("queue %q: want Curator's reader after zkit's writer", q)
		}
	})

	// A Curator writer waits for zkit's writer, and shuts zkit's readers out.
	curWriter := cur.join("write", path)
	curWriter.acquire()
	eventually(t, "Curator's writer node", func() bool { return len(listChildren(t, c, path)) == 3 })
	if err := zkWriter.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	lateReader.expect("acquired")
	lateReader.release()
	curWriter.expect("acquired")
	if err := zkReader.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("zkit reader under Curator's writer: %v, want ErrLocked", err)
	}
	readerIn := lockInBackground(ctx, zkReader)
	eventually(t, "zkit's reader node", func() bool { return len(listChildren(t, c, path)) == 2 })
	waitsOn(t, srv, sessionID(t, c), path+"/"+queue(t, c, path)[0])
	pendingCall(t, readerIn, "zkit's reader under Curator's writer")
	curWriter.release()
	if err := recv(t, readerIn, "zkit's reader"); err != nil {
		t.Fatal(err)
	}
	if err := zkReader.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// Curator's InterProcessSemaphoreV2 and zkit's Semaphore count each
// other's leases: at most two holders of either library.
func TestInteropCuratorSemaphore(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	cur := startCurator(t, srv.ConnString())
	leases := path + "/leases"

	first := cur.join("semaphore", path, "2")
	first.acquire()
	first.expect("acquired")
	zkLease, err := lock.NewSemaphore(c, path, 2).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A third holder of either library waits.
	second := cur.join("semaphore", path, "2")
	second.acquire()
	eventually(t, "Curator's third lease", func() bool { return len(listChildren(t, c, leases)) == 3 })
	for _, name := range listChildren(t, c, leases) {
		if !curatorLease.MatchString(name) {
			t.Errorf("lease %q is not in Curator's format", name)
		}
	}
	// (wchc does not list child watches, so Curator's cannot be seen; with
	// three leases listed it cannot get in whenever it lists.)
	second.quiet("two leases are held")

	if err := zkLease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	second.expect("acquired")

	otherClient := startClient(t, srv.ConnString())
	other := lock.NewSemaphore(otherClient, path, 2)
	type outcome struct {
		l   *lock.Lease
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		l, err := other.Acquire(ctx)
		got <- outcome{l, err}
	}()
	eventually(t, "zkit's third lease", func() bool { return len(listChildren(t, c, leases)) == 3 })
	eventually(t, "zkit's watch on the leases", func() bool {
		return otherClient.CheckWatches(ctx, leases, core.WatchChildren) == nil
	})
	select {
	case o := <-got:
		t.Fatalf("zkit's Acquire returned (%v) while two Curator leases are held", o.err)
	default:
	}
	first.release()
	o := recv(t, got, "zkit's lease")
	if o.err != nil {
		t.Fatal(o.err)
	}
	second.release()
	if err := o.l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// kazoo's Lock and zkit's Mutex in kazoo's layout queue on one path, each
// side waiting for the other.
func TestInteropKazooMutex(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	kz := startKazoo(t, srv.ConnString())

	holder := kz.join("mutex", path)
	holder.acquire()
	holder.expect("acquired")

	m := lock.NewMutex(c, path, lock.WithKazooLayout())
	if err := m.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock under kazoo's hold: %v, want ErrLocked", err)
	}
	done := lockInBackground(ctx, m)
	eventually(t, "zkit's node", func() bool { return len(listChildren(t, c, path)) == 2 })
	q := queue(t, c, path)
	for _, name := range q {
		if !kazooName.MatchString(name) {
			t.Errorf("node %q is not in kazoo's format", name)
		}
	}
	waitsOn(t, srv, sessionID(t, c), path+"/"+q[0])
	pendingCall(t, done, "zkit's Lock under kazoo's hold")

	holder.release()
	if err := recv(t, done, "zkit's Lock"); err != nil {
		t.Fatal(err)
	}

	waiter := kz.join("mutex", path)
	waiter.acquire()
	eventually(t, "kazoo's node", func() bool { return len(listChildren(t, c, path)) == 2 })
	waitsOn(t, srv, waiter.session, path+"/"+queue(t, c, path)[0])
	waiter.quiet("zkit holds the lock")
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	waiter.expect("acquired")
	waiter.release()
}

// Two kazoo and two zkit contenders looping on one lock in kazoo's layout
// are never in together.
func TestInteropKazooMutexExclusion(t *testing.T) {
	srv, _, path := sharedSetup(t)
	mixedExclusion(t, srv, startKazoo(t, srv.ConnString()), "mutex", path, lock.WithKazooLayout())
}

// kazoo's and zkit's read/write locks in kazoo's layout share readers and
// hold a reader back behind a waiting writer.
func TestInteropKazooReadWriteLock(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	kz := startKazoo(t, srv.ConnString())

	_, zkWriter, lateReader := writerBetweenReaders(t, srv, c, kz, path, nil, lock.WithKazooLayout())
	if err := zkWriter.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	lateReader.expect("acquired")
	lateReader.release()
}

// writerBetweenReaders plays the opening the read/write interop tests
// share. A reader of d's library and a zkit reader (on c) hold together; a
// zkit writer queues behind them and watches the foreign reader; a late
// foreign reader queues behind the waiting writer, watches it and waits
// (checkQueue, if set, checks the four nodes then). zkit's reader leaves
// first and the writer still waits; once the foreign reader leaves, the
// writer holds and the late reader still waits. It returns zkit's reader
// (released), the writer (holding) and the late reader (waiting).
func writerBetweenReaders(t *testing.T, srv *zktest.Server, c *core.Client, d *driver, path string,
	checkQueue func(q []string), opts ...lock.Option) (zkReader, zkWriter *lock.Mutex, lateReader *participant) {
	t.Helper()
	ctx := testCtx(t)
	foreignReader := d.join("read", path)
	foreignReader.acquire()
	foreignReader.expect("acquired")
	zkReader = lock.NewReadWriteLock(c, path, opts...).ReadLock()
	if err := zkReader.TryLock(ctx); err != nil {
		t.Fatalf("zkit reader beside %s's: %v", d.name, err)
	}

	writerClient := startClient(t, srv.ConnString())
	zkWriter = lock.NewReadWriteLock(writerClient, path, opts...).WriteLock()
	writerIn := lockInBackground(ctx, zkWriter)
	eventually(t, "zkit's writer node", func() bool { return len(listChildren(t, c, path)) == 3 })
	// With two readers before it, the writer watches the farther one, the
	// foreign reader: it counts that reader as one to wait for.
	waitsOn(t, srv, sessionID(t, writerClient), path+"/"+queue(t, c, path)[0])

	// A foreign reader behind the waiting zkit writer waits.
	lateReader = d.join("read", path)
	lateReader.acquire()
	eventually(t, "the late reader's node", func() bool { return len(listChildren(t, c, path)) == 4 })
	q := queue(t, c, path)
	if checkQueue != nil {
		checkQueue(q)
	}
	waitsOn(t, srv, lateReader.session, path+"/"+q[2])
	lateReader.quiet("a writer waits before it")
	pendingCall(t, writerIn, "zkit's writer under two readers")

	// zkit's reader leaves first; the writer still waits for the foreign one.
	if err := zkReader.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "zkit's reader gone", func() bool { return len(listChildren(t, c, path)) == 3 })
	pendingCall(t, writerIn, "zkit's writer under a foreign reader")
	foreignReader.release()
	if err := recv(t, writerIn, "zkit's writer"); err != nil {
		t.Fatal(err)
	}
	lateReader.quiet("zkit's writer holds the lock")
	return zkReader, zkWriter, lateReader
}

// nodeOwner returns the session that owns dir's child name.
func nodeOwner(t *testing.T, c *core.Client, dir, name string) int64 {
	t.Helper()
	st, err := c.ExistsStat(testCtx(t), dir+"/"+name)
	if err != nil || st == nil {
		t.Fatalf("node %s: %v", name, err)
	}
	return st.EphemeralOwner
}

// A zkit holder cut off from the server learns it lost the lock before a
// Curator waiter gets it: its client's timer ends the session at nine
// tenths of the timeout, before the server expires it and deletes the
// node Curator watches.
func TestInteropCuratorWaiterAfterLost(t *testing.T) {
	srv := zktest.Shared(t)
	path := zktest.UniquePath(t)
	ctx := testCtx(t)
	cur := startCurator(t, srv.ConnString())
	proxy := zktest.StartProxy(t, srv.Addr())
	hc := startClient(t, proxy.Addr(), core.WithSessionTimeout(6*time.Second))
	holder := lock.NewMutex(hc, path)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	lost := holder.Lost()

	j := cur.join("mutex", path)
	j.acquire()
	c := startClient(t, srv.ConnString())
	eventually(t, "Curator's node", func() bool { return len(listChildren(t, c, path)) == 2 })
	waitsOn(t, srv, j.session, path+"/"+queue(t, c, path)[0])

	proxy.BlackHole(true)
	j.expect("acquired")
	if !isClosed(lost) {
		t.Fatal("Curator got the lock before the zkit holder's Lost closed")
	}
	j.release()
	if err := holder.Unlock(ctx); err != nil {
		t.Errorf("Unlock of a lost lock: %v", err)
	}
}
