package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/examples/internal/exampleserver"
	"github.com/zkit-go/zkit/recipes/lock"
)

const (
	workers    = 4
	increments = 3
	leases     = 2
)

// printer serialises the workers' output.
type printer struct {
	mu  sync.Mutex
	out io.Writer
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format+"\n", args...)
}

// run starts the workers' clients under a scratch chroot, runs the mutex
// and the semaphore rounds, and deletes the chroot.
func run(ctx context.Context, out io.Writer, connString string) (err error) {
	p := &printer{out: out}
	root := exampleserver.ScratchRoot("zkit-example-lock")
	defer func() {
		if cerr := exampleserver.DeleteTree(ctx, connString, root); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()

	clients := make([]*core.Client, workers)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range clients {
		c, err := core.NewClient(exampleserver.Servers(connString), core.WithChroot(root))
		if err != nil {
			return err
		}
		clients[i] = c
		if err := c.Start(ctx); err != nil {
			return fmt.Errorf("worker-%d: connect: %w", i+1, err)
		}
	}
	p.printf("%d workers, each with its own session, under chroot %s", workers, root)

	if err := counterRound(ctx, p, clients); err != nil {
		return err
	}
	if err := semaphoreRound(ctx, p, clients); err != nil {
		return err
	}
	p.printf("\nDone.")
	return nil
}

// counterRound has every worker read, increment and write /counter under
// /locks/counter. The write is unconditional, so only the lock keeps
// updates from being lost.
func counterRound(ctx context.Context, p *printer, clients []*core.Client) error {
	p.printf("\nMutex: each worker adds 1 to /counter %d times, holding /locks/counter", increments)
	if _, err := clients[0].Create(ctx, "/counter", []byte("0")); err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		errsMu   sync.Mutex
		errs     []error
		lastSeen atomic.Int64 // the highest fencing token seen by the "resource"
	)
	for i, c := range clients {
		name := fmt.Sprintf("worker-%d", i+1)
		m := lock.NewMutex(c, "/locks/counter", lock.WithID([]byte(name)))
		wg.Go(func() {
			for range increments {
				if err := increment(ctx, p, c, m, name, &lastSeen); err != nil {
					errsMu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
					errsMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	data, err := clients[0].GetData(ctx, "/counter")
	if err != nil {
		return err
	}
	want := workers * increments
	if string(data) != strconv.Itoa(want) {
		return fmt.Errorf("/counter = %s, want %d: updates were lost", data, want)
	}
	p.printf("/counter = %s = %d workers x %d: no update lost", data, workers, increments)
	return nil
}

func increment(ctx context.Context, p *printer, c *core.Client, m *lock.Mutex, name string, lastSeen *atomic.Int64) error {
	if err := m.Lock(ctx); err != nil {
		return err
	}
	defer m.Unlock(context.WithoutCancel(ctx))

	// A resource guarded by the lock can refuse a stale holder by its
	// fencing token; here the check only proves the tokens rise.
	token := m.Token()
	if prev := lastSeen.Swap(token); token <= prev {
		return fmt.Errorf("fencing token 0x%x is not above 0x%x", token, prev)
	}
	data, err := c.GetData(ctx, "/counter")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(data))
	if err != nil {
		return err
	}
	time.Sleep(20 * time.Millisecond) // widen the window a lost update would need
	if _, err := c.SetData(ctx, "/counter", []byte(strconv.Itoa(n+1)), core.Force()); err != nil {
		return err
	}
	select {
	case <-m.Lost():
		return errors.New("lost the lock while updating")
	default:
	}
	p.printf("  %s  token 0x%-4x counter %d -> %d", name, token, n, n+1)
	return nil
}

// semaphoreRound has every worker take a lease of a two-lease semaphore,
// hold it briefly and give it back: never more than two at once.
func semaphoreRound(ctx context.Context, p *printer, clients []*core.Client) error {
	p.printf("\nSemaphore: %d workers share %d leases of /semaphores/jobs", workers, leases)
	var (
		wg          sync.WaitGroup
		inUse, most atomic.Int32
		errsMu      sync.Mutex
		errs        []error
	)
	for i, c := range clients {
		name := fmt.Sprintf("worker-%d", i+1)
		sem := lock.NewSemaphore(c, "/semaphores/jobs", leases)
		wg.Go(func() {
			lease, err := sem.Acquire(ctx)
			if err != nil {
				errsMu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				errsMu.Unlock()
				return
			}
			n := inUse.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			p.printf("  %s  took a lease (%d in use)", name, n)
			time.Sleep(150 * time.Millisecond)
			p.printf("  %s  gives its lease back", name)
			inUse.Add(-1)
			if err := lease.Release(ctx); err != nil {
				errsMu.Lock()
				errs = append(errs, fmt.Errorf("%s: release: %w", name, err))
				errsMu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if most.Load() > leases {
		return fmt.Errorf("%d leases were held at once, limit %d", most.Load(), leases)
	}
	p.printf("at most %d leases held at once (limit %d)", most.Load(), leases)
	return nil
}
