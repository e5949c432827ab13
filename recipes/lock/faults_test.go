package lock_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
)

// holdKind is what a contender of the fault tests takes: the lock alone
// (a mutex or a writer), a share of it (a reader), or one of a
// semaphore's leases.
type holdKind int

const (
	exclusiveHold holdKind = iota
	sharedHold
	leaseHold
)

// faultContender is one contender of a fault test, whatever it takes.
type faultContender struct {
	kind    holdKind
	acquire func(ctx context.Context) (lost <-chan struct{}, token int64, err error)
	release func(ctx context.Context) error
}

func mutexContender(m *lock.Mutex, kind holdKind) faultContender {
	return faultContender{
		kind: kind,
		acquire: func(ctx context.Context) (<-chan struct{}, int64, error) {
			if err := m.Lock(ctx); err != nil {
				return nil, 0, err
			}
			return m.Lost(), m.Token(), nil
		},
		release: m.Unlock,
	}
}

func semaphoreContender(s *lock.Semaphore) faultContender {
	var lease *lock.Lease
	return faultContender{
		kind: leaseHold,
		acquire: func(ctx context.Context) (<-chan struct{}, int64, error) {
			l, err := s.Acquire(ctx)
			if err != nil {
				return nil, 0, err
			}
			lease = l
			return l.Lost(), 0, nil
		},
		release: func(ctx context.Context) error { return lease.Release(ctx) },
	}
}

// heldBy is one acquisition the test's process knows of: from the
// acquire that returned until release is called, or until lost closes.
type heldBy struct {
	kind holdKind
	lost <-chan struct{}
}

// holders checks, at every acquisition, that no other contender still
// holds what the new one excludes, unless its Lost has closed.
type holders struct {
	mu           sync.Mutex
	leases       int // a semaphore's size
	held         map[int]heldBy
	lastToken    int64
	acquisitions int
	losses       int
}

func (h *holders) acquired(t *testing.T, i int, kind holdKind, lost <-chan struct{}, token int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var live []string
	for j, o := range h.held {
		if j == i || isClosed(o.lost) {
			// Lost, and known to be (its own stale entry: i saw Lost close
			// before it acquired again).
			delete(h.held, j)
			h.losses++
			continue
		}
		live = append(live, fmt.Sprint(j))
		switch {
		case kind == leaseHold:
		case kind == exclusiveHold, o.kind == exclusiveHold:
			t.Errorf("contender %d (kind %d) got in while %d (kind %d) held", i, kind, j, o.kind)
		}
	}
	if kind == leaseHold && len(live) >= h.leases {
		t.Errorf("contender %d got a lease while %v held the %d leases", i, live, h.leases)
	}
	if token != 0 && kind == exclusiveHold {
		if token <= h.lastToken {
			t.Errorf("contender %d's token %d is not above the previous %d", i, token, h.lastToken)
		}
		h.lastToken = token
	}
	h.held[i] = heldBy{kind: kind, lost: lost}
	h.acquisitions++
}

func (h *holders) released(i int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.held, i)
}

func (h *holders) lossCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.losses
}

// TestRecipesUnderFaults: six contenders, each on a client behind a proxy
// of its own, take a mutex, a read/write lock (three readers, three
// writers) or a semaphore of two leases in turns, while their connections
// are cut and replies dropped; twice, a holder of the moment is silenced
// past its session timeout while it holds, once both ways and once only
// toward the server. Nobody ever gets in while
// another holds what it excludes (a holder whose session ended has seen
// Lost close by the time the next one gets in), the mutex's fencing tokens
// grow, and no node is left behind once the faults stop.
func TestRecipesUnderFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leases int
		make   func(c *core.Client, path string, i int) faultContender
	}{
		{"mutex", 0, func(c *core.Client, path string, _ int) faultContender {
			return mutexContender(lock.NewMutex(c, path), exclusiveHold)
		}},
		{"rwlock", 0, func(c *core.Client, path string, i int) faultContender {
			rw := lock.NewReadWriteLock(c, path)
			if i%2 == 0 {
				return mutexContender(rw.ReadLock(), sharedHold)
			}
			return mutexContender(rw.WriteLock(), exclusiveHold)
		}},
		{"semaphore", 2, func(c *core.Client, path string, _ int) faultContender {
			return semaphoreContender(lock.NewSemaphore(c, path, 2))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runUnderFaults(t, tc.leases, tc.make)
		})
	}
}

func runUnderFaults(t *testing.T, leases int, newContender func(c *core.Client, path string, i int) faultContender) {
	const (
		contenders = 6
		victims    = 2
	)
	srv := zktest.Shared(t)
	path := zktest.UniquePath(t)
	ctx := testCtx(t)
	h := &holders{held: map[int]heldBy{}, leases: leases}

	// A holder that takes a request from wantVictim sends its index on
	// victim and keeps what it holds until Lost closes.
	wantVictim, victim := make(chan struct{}, 1), make(chan int)
	proxies := make([]*zktest.Proxy, contenders)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range contenders {
		proxies[i] = zktest.StartProxy(t, srv.Addr())
		c := startClient(t, proxies[i].Addr(),
			core.WithSessionTimeout(3*time.Second), core.WithConnectTimeout(300*time.Millisecond))
		k := newContender(c, path, i)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				actx, cancel := context.WithTimeout(ctx, 4*time.Second)
				lost, token, err := k.acquire(actx)
				cancel()
				switch {
				case err == nil:
				case errors.Is(err, context.DeadlineExceeded), errors.Is(err, lock.ErrLockLost):
					continue
				default:
					t.Errorf("contender %d: acquire: %v", i, err)
					return
				}
				h.acquired(t, i, k.kind, lost, token)
				select {
				case <-wantVictim:
					victim <- i
					recv(t, lost, "the silenced holder's Lost")
					// Left in h.held: the next acquisition checks that Lost closed.
				default:
					time.Sleep(5 * time.Millisecond) // hold it a while
					h.released(i)
				}
				rctx, cancel := context.WithTimeout(ctx, 4*time.Second)
				err = k.release(rctx)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("contender %d: release: %v", i, err)
					return
				}
			}
		})
	}

	for round := range victims {
		for _, p := range proxies {
			p.CutAll()
			time.Sleep(50 * time.Millisecond)
			p.DropNextReply()
			time.Sleep(50 * time.Millisecond)
		}
		wantVictim <- struct{}{}
		v := recv(t, victim, "a holder to silence")
		// First a silence both ways, then one toward the server only: the
		// server hears nothing while the holder could still hear it.
		silence := proxies[v].BlackHole
		if round%2 == 1 {
			silence = proxies[v].BlackHoleToServer
		}
		silence(true)
		eventually(t, "the next holder after the silenced one", func() bool { return h.lossCount() > round })
		silence(false)
	}
	close(stop)
	wg.Wait()

	observer := startClient(t, srv.ConnString())
	eventually(t, "no node left behind", func() bool { return countNodes(t, observer, path) == 0 })
	t.Logf("%d acquisitions, %d holders lost what they held", h.acquisitions, h.losses)
}

// countNodes counts the nodes below path, path excluded.
func countNodes(t *testing.T, c *core.Client, path string) int {
	n := 0
	for _, k := range listChildren(t, c, path) {
		n += 1 + countNodes(t, c, path+"/"+k)
	}
	return n
}
