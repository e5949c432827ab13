package lock_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkit-go/zkit/recipes/lock"
)

var (
	curatorRead  = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-__READ__\d{10}$`)
	curatorWrite = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-__WRIT__\d{10}$`)
)

// SCENARIO 25: readers hold together; a writer waits for them and then
// excludes everyone; a reader that queues behind the waiting writer waits
// for it, watching that writer.
func TestReadWriteLock(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	const readers = 5
	var seq atomic.Int64

	var rls []*lock.Mutex
	for _, rc := range startClients(t, srv.ConnString(), readers) {
		rl := lock.NewReadWriteLock(rc, path).ReadLock()
		if err := rl.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		rls = append(rls, rl)
	}
	// All five hold at once.
	for _, k := range listChildren(t, c, path) {
		if !curatorRead.MatchString(k) {
			t.Errorf("reader node %q is not in Curator's format", k)
		}
	}

	wc := startClient(t, srv.ConnString())
	writer := lock.NewReadWriteLock(wc, path).WriteLock()
	if err := writer.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("writer TryLock under readers: %v, want ErrLocked", err)
	}
	writerIn, writerOut := make(chan result, 1), make(chan int64, 1)
	release := make(chan struct{})
	go func() {
		err := writer.Lock(ctx)
		writerIn <- result{err: err, seq: seq.Add(1)}
		if err != nil {
			return
		}
		<-release
		writerOut <- seq.Add(1)
		if err := writer.Unlock(ctx); err != nil {
			t.Error(err)
		}
	}()
	eventually(t, "the writer's node", func() bool { return len(listChildren(t, c, path)) == readers+1 })

	lc := startClient(t, srv.ConnString())
	late := lock.NewReadWriteLock(lc, path).ReadLock()
	if err := late.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("reader TryLock behind a waiting writer: %v, want ErrLocked", err)
	}
	lateIn := make(chan result, 1)
	go func() {
		err := late.Lock(ctx)
		lateIn <- result{err: err, seq: seq.Add(1)}
	}()
	eventually(t, "the late reader's node", func() bool { return len(listChildren(t, c, path)) == readers+2 })

	// The writer waits for five readers and watches the one before its
	// predecessor; the late reader waits only for the writer and watches it.
	q := queue(t, c, path)
	own := owners(t, c, path)
	writerNode, lateNode := q[readers], q[readers+1]
	if !curatorWrite.MatchString(writerNode) {
		t.Errorf("writer node %q is not in Curator's format", writerNode)
	}
	eventually(t, "the watches", func() bool {
		w := watches(t, srv)
		return len(w[own[writerNode]]) > 0 && len(w[own[lateNode]]) > 0
	})
	w := watches(t, srv)
	if want := []string{path + "/" + q[readers-2]}; !slices.Equal(w[own[writerNode]], want) {
		t.Errorf("writer watches %v, want %v", w[own[writerNode]], want)
	}
	if want := []string{path + "/" + writerNode}; !slices.Equal(w[own[lateNode]], want) {
		t.Errorf("late reader watches %v, want %v", w[own[lateNode]], want)
	}

	var readersOut int64
	for _, rl := range rls {
		readersOut = seq.Add(1)
		if err := rl.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wr := recv(t, writerIn, "the writer's Lock")
	if wr.err != nil {
		t.Fatal(wr.err)
	}
	if wr.seq < readersOut {
		t.Errorf("the writer got in (event %d) before the readers left (event %d)", wr.seq, readersOut)
	}
	// While the writer holds, nobody else gets in.
	probe := lock.NewReadWriteLock(c, path)
	if err := probe.ReadLock().TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("reader TryLock under a writer: %v, want ErrLocked", err)
	}
	if err := probe.WriteLock().TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("writer TryLock under a writer: %v, want ErrLocked", err)
	}
	close(release)
	out := recv(t, writerOut, "the writer's Unlock")
	lr := recv(t, lateIn, "the late reader's Lock")
	if lr.err != nil {
		t.Fatal(lr.err)
	}
	if lr.seq < out {
		t.Errorf("the late reader got in (event %d) before the writer left (event %d)", lr.seq, out)
	}
	if err := late.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// Readers and writers on separate sessions, at random: a writer is always
// alone, readers never meet a writer.
func TestReadWriteLockExclusion(t *testing.T) {
	srv, _, path := sharedSetup(t)
	ctx := testCtx(t)
	const contenders, rounds = 6, 8
	var readersIn, writersIn, readerEntries, writerEntries atomic.Int64
	errs := make(chan error, contenders*rounds)
	var wg sync.WaitGroup
	for i, c := range startClients(t, srv.ConnString(), contenders) {
		rw := lock.NewReadWriteLock(c, path, lock.WithID(fmt.Appendf(nil, "c%d", i)))
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		wg.Go(func() {
			for range rounds {
				if rng.IntN(3) == 0 {
					m := rw.WriteLock()
					if err := m.Lock(ctx); err != nil {
						errs <- err
						return
					}
					if n := writersIn.Add(1); n != 1 || readersIn.Load() != 0 {
						errs <- fmt.Errorf("a writer inside with %d writers, %d readers", n, readersIn.Load())
					}
					writerEntries.Add(1)
					time.Sleep(time.Millisecond) // stay inside a while
					writersIn.Add(-1)
					if err := m.Unlock(ctx); err != nil {
						errs <- err
						return
					}
					continue
				}
				m := rw.ReadLock()
				if err := m.Lock(ctx); err != nil {
					errs <- err
					return
				}
				readersIn.Add(1)
				if n := writersIn.Load(); n != 0 {
					errs <- fmt.Errorf("a reader inside with %d writers", n)
				}
				readerEntries.Add(1)
				time.Sleep(2 * time.Millisecond)
				readersIn.Add(-1)
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
	if n := readerEntries.Load() + writerEntries.Load(); n != contenders*rounds {
		t.Errorf("%d entries, want %d", n, contenders*rounds)
	}
}

// WithKazooLayout names readers "<hex32>__rlock__<seq>" and writers
// "<hex32>__lock__<seq>".
func TestReadWriteLockKazooLayout(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	other := startClient(t, srv.ConnString())
	r := lock.NewReadWriteLock(c, path, lock.WithKazooLayout()).ReadLock()
	if err := r.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	w := lock.NewReadWriteLock(other, path, lock.WithKazooLayout()).WriteLock()
	if err := w.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("writer TryLock under a reader: %v, want ErrLocked", err)
	}
	kids := listChildren(t, c, path)
	if len(kids) != 1 || !regexp.MustCompile(`^[0-9a-f]{32}__rlock__\d{10}$`).MatchString(kids[0]) {
		t.Errorf("children %q, want one kazoo reader", kids)
	}
	if err := r.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	kids = listChildren(t, c, path)
	if len(kids) != 1 || !kazooName.MatchString(kids[0]) {
		t.Errorf("children %q, want one kazoo writer", kids)
	}
	if err := w.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
