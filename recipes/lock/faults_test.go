package lock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
)

// holders tracks, in the test's process, which contenders believe they
// hold the lock: from a Lock that returned nil until Unlock is called, or
// until Lost closes.
type holders struct {
	mu           sync.Mutex
	held         map[int]*lock.Mutex
	lastToken    int64
	acquisitions int
	losses       int
}

// acquired records contender i's acquisition and fails the test if
// another contender still holds the lock with its Lost open, or if the
// fencing token did not grow.
func (h *holders) acquired(t *testing.T, i int, m *lock.Mutex) {
	token := m.Token()
	h.mu.Lock()
	defer h.mu.Unlock()
	for j, other := range h.held {
		if j == i || isClosed(other.Lost()) {
			// Lost closed (for its own entry, i saw it before Lock).
			delete(h.held, j)
			h.losses++
			continue
		}
		t.Errorf("%s contender %d got the lock (token %d) while %d held it (token %d)", time.Now().Format("05.000"), i, token, j, other.Token())
	}
	if token != 0 {
		if token <= h.lastToken {
			t.Errorf("contender %d's token %d is not above the previous %d", i, token, h.lastToken)
		}
		h.lastToken = token
	}
	h.held[i] = m
	h.acquisitions++
}

func (h *holders) released(i int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.held, i)
}

// TestMutexUnderFaults: six contenders, each on a client behind a proxy of
// its own, take one lock in turns while their connections are cut and
// replies dropped; twice, the holder of the moment is silenced past its
// session timeout while it holds. No two ever hold the lock at once (a
// holder whose session ended has seen Lost close by the time the next one
// gets in), fencing tokens grow, and no node is left behind once the
// faults stop.
func TestMutexUnderFaults(t *testing.T) {
	const (
		contenders = 6
		victims    = 2
	)
	srv := zktest.Shared(t)
	path := zktest.UniquePath(t)
	ctx := testCtx(t)
	h := &holders{held: map[int]*lock.Mutex{}}

	// A holder that takes a request from wantVictim sends its index on
	// victim and keeps the lock until Lost closes.
	wantVictim, victim := make(chan struct{}, 1), make(chan int)
	proxies := make([]*zktest.Proxy, contenders)
	stop := make(chan struct{})
	var (
		wg               sync.WaitGroup
		countMu          sync.Mutex
		gaveUp, lockLost int
	)
	for i := range contenders {
		proxies[i] = zktest.StartProxy(t, srv.Addr())
		c := startClient(t, proxies[i].Addr(),
			core.WithSessionTimeout(3*time.Second), core.WithConnectTimeout(300*time.Millisecond))
		m := lock.NewMutex(c, path)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				lctx, cancel := context.WithTimeout(ctx, 4*time.Second)
				err := m.Lock(lctx)
				cancel()
				switch {
				case err == nil:
				case errors.Is(err, context.DeadlineExceeded), errors.Is(err, lock.ErrLockLost):
					countMu.Lock()
					if errors.Is(err, lock.ErrLockLost) {
						lockLost++
					} else {
						gaveUp++
					}
					countMu.Unlock()
					continue
				default:
					t.Errorf("contender %d: Lock: %v", i, err)
					return
				}
				lost := m.Lost() // watched from the start
				h.acquired(t, i, m)
				select {
				case <-wantVictim:
					victim <- i
					t.Logf("%s victim %d token %d", time.Now().Format("05.000"), i, m.Token())
					recv(t, lost, "the silenced holder's Lost")
					t.Logf("%s victim %d lost", time.Now().Format("05.000"), i)
					// Left in h.held: the next acquisition checks that Lost closed.
				default:
					time.Sleep(5 * time.Millisecond) // hold it a while
					h.released(i)
				}
				uctx, cancel := context.WithTimeout(ctx, 4*time.Second)
				err = m.Unlock(uctx)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("contender %d: Unlock: %v", i, err)
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
		proxies[v].BlackHole(true)
		eventually(t, "the next holder after the silenced one", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.losses > round
		})
		proxies[v].BlackHole(false)
	}
	close(stop)
	wg.Wait()

	observer := startClient(t, srv.ConnString())
	eventually(t, "no node left in the lock's directory", func() bool {
		return len(listChildren(t, observer, path)) == 0
	})
	t.Logf("%d acquisitions, %d holders lost their lock, %d waits ran out, %d waits lost their session",
		h.acquisitions, h.losses, gaveUp, lockLost)
}
