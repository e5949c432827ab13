package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
)

// TaskFunc measures one job with a driver.
type TaskFunc func(ctx context.Context, d Driver, job Job) (Result, error)

// Builtin are the tasks every worker runs through its Driver.
var Builtin = map[string]TaskFunc{
	TaskOps:             runOps,
	TaskIdle:            runIdle,
	TaskLockContended:   runLockContended,
	TaskLockUncontended: runLockUncontended,
	TaskLockMany:        runLockMany,
}

func runOps(ctx context.Context, d Driver, job Job) (Result, error) {
	if job.Concurrency < 1 {
		return Result{}, fmt.Errorf("ops: concurrency %d", job.Concurrency)
	}
	var base Result
	baseline(&base)
	c, err := d.Connect(ctx, job.Servers, job.SessionTimeout)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	data := payload(job.DataSize)
	// Paths are built up front so the loop allocates nothing of its own.
	paths := make([]string, job.Concurrency)
	for w := range paths {
		if job.Op == OpCreate {
			paths[w] = job.Root + "/n-"
		} else {
			paths[w] = job.DataDir + "/" + NodeName(w%max(job.Nodes, 1))
		}
	}
	var op func(ctx context.Context, path string) error
	switch job.Op {
	case OpGet:
		op = func(ctx context.Context, path string) error { _, err := c.Get(ctx, path); return err }
	case OpSet:
		op = func(ctx context.Context, path string) error { return c.Set(ctx, path, data) }
	case OpCreate:
		op = func(ctx context.Context, path string) error {
			_, err := c.CreateEphemeralSequential(ctx, path, data)
			return err
		}
	default:
		return Result{}, fmt.Errorf("ops: unknown op %q", job.Op)
	}
	r, err := Measure(ctx, job, job.Concurrency, func(ctx context.Context, w int, l *Loop) {
		path := paths[w]
		for l.Running() {
			t0 := time.Now()
			l.Done(t0, op(ctx, path))
		}
	})
	r.BaseHeapInuse, r.BaseLiveHeap = base.BaseHeapInuse, base.BaseLiveHeap
	return r, err
}

// payload returns n bytes of printable data.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// runIdle measures what one connected client adds to the process once it
// has done some work and then sat idle for job.Duration.
func runIdle(ctx context.Context, d Driver, job Job) (Result, error) {
	ms0, g0 := settledMem()
	c, err := d.Connect(ctx, job.Servers, job.SessionTimeout)
	if err != nil {
		return Result{}, err
	}
	if job.DataDir != "" {
		for i := range 100 {
			if _, err := c.Get(ctx, job.DataDir+"/"+NodeName(i%max(job.Nodes, 1))); err != nil {
				_ = c.Close()
				return Result{}, err
			}
		}
	}
	if err := sleepCtx(ctx, job.Duration); err != nil {
		_ = c.Close()
		return Result{}, err
	}
	ms1, g1 := settledMem()
	runtime.KeepAlive(c)
	r := Result{
		IdleHeap:       int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc),
		IdleStack:      int64(ms1.StackInuse) - int64(ms0.StackInuse),
		IdleGoroutines: g1 - g0,
		BaseHeapInuse:  ms0.HeapInuse,
		PeakHeapInuse:  ms1.HeapInuse,
		PeakSys:        ms1.Sys,
	}
	return r, c.Close()
}

func settledMem() (runtime.MemStats, int) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms, runtime.NumGoroutine()
}

// connectAll opens n sessions, eight at a time.
func connectAll(ctx context.Context, d Driver, job Job, n int) ([]Client, error) {
	clients := make([]Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			clients[i], errs[i] = d.Connect(ctx, job.Servers, job.SessionTimeout)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(clients)
		return nil, err
	}
	return clients, nil
}

func closeAll(clients []Client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Go(func() { _ = c.Close() })
		}
	}
	wg.Wait()
}

func mutexes(clients []Client, path func(i int) string) ([]Mutex, error) {
	out := make([]Mutex, len(clients))
	for i, c := range clients {
		lk, ok := c.(Locker)
		if !ok {
			return nil, errors.New("the library has no lock recipe in this build")
		}
		out[i] = lk.NewMutex(path(i))
	}
	return out, nil
}

// runLockContended runs job.Concurrency contenders, each with its own
// session, on one lock. An operation is one acquisition; its latency is the
// wait from the call to Lock until the lock is held. The lock is released at
// once.
func runLockContended(ctx context.Context, d Driver, job Job) (Result, error) {
	var base Result
	baseline(&base)
	clients, err := connectAll(ctx, d, job, job.Concurrency)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(clients)
	ms, err := mutexes(clients, func(int) string { return job.Root + "/lock" })
	if err != nil {
		return Result{}, err
	}
	r, err := Measure(ctx, job, job.Concurrency, func(ctx context.Context, w int, l *Loop) {
		m := ms[w]
		for l.Running() {
			t0 := time.Now()
			if err := m.Lock(ctx); err != nil {
				l.Done(t0, err)
				continue
			}
			l.Done(t0, nil)
			if err := m.Unlock(ctx); err != nil {
				l.Fail(err)
			}
		}
	})
	r.BaseHeapInuse, r.BaseLiveHeap = base.BaseHeapInuse, base.BaseLiveHeap
	return r, err
}

// runLockUncontended takes and releases a lock that nobody else wants. An
// operation is one acquire plus release.
func runLockUncontended(ctx context.Context, d Driver, job Job) (Result, error) {
	job.Concurrency = 1
	return lockPairs(ctx, d, job, func(int) string { return job.Root + "/lock" })
}

// runLockMany takes job.Concurrency independent locks concurrently from one
// client. An operation is one acquire plus release.
func runLockMany(ctx context.Context, d Driver, job Job) (Result, error) {
	return lockPairs(ctx, d, job, func(i int) string { return job.Root + "/" + strings.Replace(NodeName(i), "n-", "lock-", 1) })
}

func lockPairs(ctx context.Context, d Driver, job Job, path func(int) string) (Result, error) {
	var base Result
	baseline(&base)
	c, err := d.Connect(ctx, job.Servers, job.SessionTimeout)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	clients := make([]Client, job.Concurrency)
	for i := range clients {
		clients[i] = c
	}
	ms, err := mutexes(clients, path)
	if err != nil {
		return Result{}, err
	}
	var acquire, release Histogram
	r, err := Measure(ctx, job, job.Concurrency, func(ctx context.Context, w int, l *Loop) {
		m := ms[w]
		for l.Running() {
			t0 := time.Now()
			if err := m.Lock(ctx); err != nil {
				l.Done(t0, err)
				continue
			}
			t1 := time.Now()
			err := m.Unlock(ctx)
			if err == nil && l.Measuring() {
				acquire.Record(t1.Sub(t0))
				release.Record(time.Since(t1))
			}
			l.Done(t0, err)
		}
	})
	r.Parts = map[string]Latency{"acquire": acquire.Summary(), "release": release.Summary()}
	r.BaseHeapInuse, r.BaseLiveHeap = base.BaseHeapInuse, base.BaseLiveHeap
	return r, err
}
