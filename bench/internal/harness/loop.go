package harness

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// drainTimeout bounds how long workers may take to finish their last
// operation once the measured phase is over.
const drainTimeout = 30 * time.Second

// Loop coordinates the goroutines of one closed-loop measurement: they run
// through a warm-up, then a measured phase in which their completed
// operations are counted and timed, and stop when it ends.
type Loop struct {
	phase  atomic.Int32
	Hist   Histogram
	errors atomic.Int64
	first  atomic.Pointer[string]
	maxOps uint64
	capped chan struct{}
	once   sync.Once
}

// Running reports whether the goroutines should start another operation.
func (l *Loop) Running() bool { return l.phase.Load() != phaseStop }

// Measuring reports whether the measured phase is on.
func (l *Loop) Measuring() bool { return l.phase.Load() == phaseMeasure }

// Done records an operation started at t0. It is counted only when it ends
// during the measured phase. After a failure it pauses briefly, so a broken
// connection does not spin.
func (l *Loop) Done(t0 time.Time, err error) {
	if err != nil {
		l.Fail(err)
		return
	}
	if l.phase.Load() != phaseMeasure {
		return
	}
	l.Hist.Record(time.Since(t0))
	if l.maxOps > 0 && l.Hist.Count() >= l.maxOps {
		l.once.Do(func() { close(l.capped) })
	}
}

// Fail counts a failed call that is not timed.
func (l *Loop) Fail(err error) {
	if l.errors.Add(1) == 1 {
		s := err.Error()
		l.first.Store(&s)
	}
	time.Sleep(time.Millisecond)
}

// Measure runs body on n goroutines: a warm-up of job.Warmup, then a
// measured phase of job.Duration (or until job.MaxOps operations), and
// returns the counts, latencies and the process's resource use during the
// measured phase. Body must loop while l.Running() and report each
// operation with l.Done.
func Measure(ctx context.Context, job Job, n int, body func(ctx context.Context, w int, l *Loop)) (Result, error) {
	l := &Loop{maxOps: uint64(max(job.MaxOps, 0)), capped: make(chan struct{})}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	allDone := make(chan struct{})
	for w := range n {
		wg.Go(func() { body(ctx, w, l) })
	}
	go func() { wg.Wait(); close(allDone) }()

	stopped := func() error {
		l.phase.Store(phaseStop)
		select {
		case <-allDone:
			return nil
		case <-time.After(drainTimeout):
			cancel()
			return fmt.Errorf("workers still busy %v after the end of the run", drainTimeout)
		}
	}
	if err := sleepCtx(ctx, job.Warmup); err != nil {
		_ = stopped()
		return Result{}, err
	}
	mem := newMemSampler()
	mem.start()
	fsyncs0, fsyncsOK := serverFsyncs(job.Servers)
	s0 := takeSnapshot()
	l.phase.Store(phaseMeasure)
	timer := time.NewTimer(job.Duration)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-l.capped:
	case <-ctx.Done():
	}
	l.phase.Store(phaseStop)
	s1 := takeSnapshot()
	fsyncs1, fsyncsOK1 := serverFsyncs(job.Servers)
	var r Result
	mem.finish(&r)
	fill(&r, s0, s1, int64(l.Hist.Count()))
	if fsyncsOK && fsyncsOK1 && r.Ops > 0 {
		r.ServerFsyncsPerOp = float64(fsyncs1-fsyncs0) / float64(r.Ops)
	}
	r.Latency = l.Hist.Summary()
	r.Errors = l.errors.Load()
	if p := l.first.Load(); p != nil {
		r.FirstError = *p
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	return r, stopped()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
