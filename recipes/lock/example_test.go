package lock_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
)

// A critical section that stops as soon as the lock is lost, and passes
// the fencing token to the resource it guards.
func ExampleMutex() {
	ctx := context.Background()
	c, err := core.NewClient("127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	m := lock.NewMutex(c, "/app/locks/report", lock.WithID([]byte("worker-1")))
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	defer m.Unlock(ctx)

	work, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-m.Lost():
			cancel() // the session ended or the node was deleted: someone else may hold the lock now
		case <-work.Done():
		}
	}()
	fmt.Println("writing the report with fencing token", m.Token())
}

func ExampleMutex_TryLock() {
	ctx := context.Background()
	var c *core.Client // a started client
	m := lock.NewMutex(c, "/app/locks/cron")
	switch err := m.TryLock(ctx); {
	case errors.Is(err, lock.ErrLocked):
		fmt.Println("another instance runs the job")
	case err != nil:
		log.Fatal(err)
	default:
		defer m.Unlock(ctx)
		fmt.Println("running the job")
	}
}

func ExampleReadWriteLock() {
	ctx := context.Background()
	var c *core.Client // a started client
	rw := lock.NewReadWriteLock(c, "/app/locks/config")

	// Readers share the lock.
	r := rw.ReadLock()
	if err := r.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("reading the configuration")
	_ = r.Unlock(ctx)

	// A writer holds it alone.
	w := rw.WriteLock()
	if err := w.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("rewriting the configuration")
	_ = w.Unlock(ctx)
}

func ExampleSemaphore() {
	ctx := context.Background()
	var c *core.Client // a started client
	// At most three workers use the downstream service at once.
	s := lock.NewSemaphore(c, "/app/semaphores/downstream", 3)
	lease, err := s.Acquire(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer lease.Release(ctx)
	fmt.Println("calling the service")
}
