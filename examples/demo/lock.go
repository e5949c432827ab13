package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
)

const (
	lockClients = 3
	lockRounds  = 2
	lockHold    = 150 * time.Millisecond
)

// lock has three clients, each with its own session, contend for one lock:
// only one holds it at a time, and each acquisition's fencing token is
// larger than the one before.
func (d *demo) lock(ctx context.Context, c *core.Client) error {
	d.section(fmt.Sprintf("A lock contended by %d clients", lockClients))

	// The demo's own client takes the lock first, so that the others queue.
	first := lock.NewMutex(c, "/lock", lock.WithID([]byte("main")))
	if err := first.Lock(ctx); err != nil {
		return err
	}
	d.printf("main client holds /lock, fencing token 0x%x", first.Token())

	clients := make([]*core.Client, lockClients)
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cl.Close()
			}
		}
	}()
	for i := range clients {
		cl, err := d.newClient(ctx)
		if err != nil {
			_ = first.Unlock(ctx)
			return err
		}
		clients[i] = cl
	}

	var (
		holders  atomic.Int32 // how many hold the lock right now
		mu       sync.Mutex
		tokens   = []int64{first.Token()}
		problems []error
		wg       sync.WaitGroup
	)
	report := func(err error) {
		mu.Lock()
		problems = append(problems, err)
		mu.Unlock()
	}
	for i, cl := range clients {
		name := fmt.Sprintf("client-%d", i+1)
		m := lock.NewMutex(cl, "/lock", lock.WithID([]byte(name)))
		wg.Go(func() {
			for round := 1; round <= lockRounds; round++ {
				if err := m.Lock(ctx); err != nil {
					report(fmt.Errorf("%s: %w", name, err))
					return
				}
				if n := holders.Add(1); n != 1 {
					report(fmt.Errorf("%s got the lock while %d others held it", name, n-1))
				}
				token := m.Token()
				mu.Lock()
				tokens = append(tokens, token)
				mu.Unlock()
				d.printf("%s (session 0x%016x) holds /lock, round %d, fencing token 0x%x", name, sessionID(cl), round, token)
				select {
				case <-m.Lost():
					report(fmt.Errorf("%s lost the lock", name))
				case <-time.After(lockHold): // the work the lock guards
				}
				holders.Add(-1)
				if err := m.Unlock(ctx); err != nil {
					report(fmt.Errorf("%s: unlock: %w", name, err))
					return
				}
			}
		})
	}

	// Wait until all three queue behind the main client, then show the
	// queue and a TryLock that does not wait.
	var queue []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if queue, err = first.Participants(ctx); err != nil {
			_ = first.Unlock(ctx)
			wg.Wait()
			return err
		}
		if len(queue) == lockClients+1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.printf("contenders in queue order: %v", queue)
	probe := lock.NewMutex(c, "/lock")
	err := probe.TryLock(ctx)
	if !errors.Is(err, lock.ErrLocked) {
		_ = first.Unlock(ctx)
		wg.Wait()
		return fmt.Errorf("TryLock on a held lock: got %v, want ErrLocked", err)
	}
	d.printf("TryLock by another contender -> %v (no waiting, no node left behind)", err)

	d.printf("main client unlocks; the queue takes over")
	if err := first.Unlock(ctx); err != nil {
		wg.Wait()
		return err
	}
	wg.Wait()

	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	if want := 1 + lockClients*lockRounds; len(tokens) != want {
		return fmt.Errorf("%d acquisitions, want %d", len(tokens), want)
	}
	if !slices.IsSorted(tokens) || len(slices.Compact(slices.Clone(tokens))) != len(tokens) {
		return fmt.Errorf("fencing tokens did not rise with every acquisition: %x", tokens)
	}
	d.printf("%d acquisitions, never two holders at once; each fencing token above the last:", len(tokens))
	var b []byte
	for i, t := range tokens {
		if i > 0 {
			b = append(b, " < "...)
		}
		b = fmt.Appendf(b, "0x%x", t)
	}
	d.printf("  %s", b)
	return nil
}

// sessionID is c's current session id, or 0 between an expiry and the next
// session, when c has none.
func sessionID(c *core.Client) int64 {
	if s := c.Session(); s != nil {
		return s.ID()
	}
	return 0
}
