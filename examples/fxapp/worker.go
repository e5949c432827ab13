package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/fxmodule"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// jobCount is how many jobs the worker runs before it shuts the app down.
type jobCount int

// workerParams are the worker's dependencies: the client and lock factory
// come from fxmodule, the logger and job count from the app.
type workerParams struct {
	fx.In

	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Client     *core.Client
	Locks      *fxmodule.Locks
	Logger     *zap.Logger
	Jobs       jobCount
}

// worker registers the instance and runs jobs, one at a time across every
// instance of the app, under a ZooKeeper lock.
type worker struct {
	p      workerParams
	log    *zap.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

func newWorker(p workerParams) *worker {
	w := &worker{p: p, log: p.Logger.Named("worker"), done: make(chan struct{})}
	p.Lifecycle.Append(fx.Hook{
		// The client is started by now: fxmodule's hook ran first.
		OnStart: func(context.Context) error {
			ctx, cancel := context.WithCancel(context.Background())
			w.cancel = cancel
			go w.run(ctx)
			return nil
		},
		OnStop: func(ctx context.Context) error {
			w.cancel()
			select {
			case <-w.done:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("worker did not stop: %w", ctx.Err())
			}
		},
	})
	return w
}

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	code := 0
	if err := w.work(ctx); err != nil && !errors.Is(err, context.Canceled) {
		w.log.Error("worker failed", zap.Error(err))
		code = 1
	}
	if ctx.Err() != nil {
		return // the app is already stopping
	}
	if err := w.p.Shutdowner.Shutdown(fx.ExitCode(code)); err != nil {
		w.log.Error("shutdown", zap.Error(err))
	}
}

func (w *worker) work(ctx context.Context) error {
	c := w.p.Client
	me, st, err := c.CreateStat(ctx, "/instances/worker-", nil, core.Ephemeral(), core.Sequential(), core.WithParents())
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	w.log.Info("registered", zap.String("node", me), zap.String("session", fmt.Sprintf("0x%x", st.EphemeralOwner)))

	for i := 1; i <= int(w.p.Jobs); i++ {
		if err := w.job(ctx, i); err != nil {
			return fmt.Errorf("job %d: %w", i, err)
		}
	}
	w.log.Info("all jobs done, shutting down", zap.Int("jobs", int(w.p.Jobs)))
	return nil
}

// job increments the /jobs-done counter while holding the /locks/jobs lock.
// (A lock's parents are container nodes, which the server deletes once
// empty, so the counter lives elsewhere.)
func (w *worker) job(ctx context.Context, n int) error {
	c := w.p.Client
	m := w.p.Locks.Mutex("/locks/jobs")
	if err := m.Lock(ctx); err != nil {
		return err
	}
	defer func() {
		if err := m.Unlock(context.WithoutCancel(ctx)); err != nil {
			w.log.Warn("unlock", zap.Error(err))
		}
	}()
	if err := c.EnsurePath(ctx, "/jobs-done"); err != nil {
		return err
	}
	data, st, err := c.Get(ctx, "/jobs-done")
	if err != nil {
		return err
	}
	count, _ := strconv.Atoi(string(data))
	count++
	if _, err := c.Set(ctx, "/jobs-done", []byte(strconv.Itoa(count)), st.Version); err != nil {
		return err
	}
	w.log.Info("job done under the lock",
		zap.Int("job", n), zap.Int("jobsEver", count), zap.Int64("fencingToken", m.Token()))
	return nil
}
