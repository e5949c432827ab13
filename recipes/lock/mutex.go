package lock

import (
	"context"
	"sync"

	"github.com/zkit-go/zkit/core"
)

// Mutex is a distributed lock on a path, shared with every client that
// contends on the same path (Curator's InterProcessMutex among them). It is
// not reentrant: a Mutex holds at most one acquisition at a time, and can
// be locked again after Unlock. Its methods are safe for concurrent use.
type Mutex struct {
	c   *core.Client
	dir string
	sch *scheme
	id  []byte

	mu    sync.Mutex
	state mutexState
	h     *holding // the current or last acquisition

	spare spareWatch
}

type mutexState uint8

const (
	idle mutexState = iota
	acquiring
	held
	releasing
)

// NewMutex returns a lock on path, whose contenders are its children. It
// does no I/O; Lock creates path, as container nodes, when it is missing.
func NewMutex(c *core.Client, path string, opts ...Option) *Mutex {
	o := buildOptions(opts)
	return newMutex(c, path, mutexScheme(o.kazoo), o.id)
}

func newMutex(c *core.Client, path string, sch *scheme, id []byte) *Mutex {
	return &Mutex{c: c, dir: path, sch: sch, id: id}
}

// Lock blocks until it holds the lock, or ctx ends. When ctx ends first,
// or the session ends (ErrLockLost, matching the session's error too),
// Lock removes its node before returning; once ctx has ended, the error
// matches ctx's, whatever else failed as it ended, unless the lock was
// lost (ErrLockLost). On a Mutex that holds, or is acquiring, the lock, it
// returns ErrAlreadyLocked; a lock that was lost (see Lost) needs no
// Unlock first. Lock learns of a lost lock as Token does.
//
// Uncontended, Lock costs one round trip: its create and the listing of
// the contenders are pipelined.
func (m *Mutex) Lock(ctx context.Context) error { return m.acquire(ctx, true) }

// TryLock takes the lock if no other contender is queued before it, and
// otherwise returns ErrLocked at once, leaving no node behind.
func (m *Mutex) TryLock(ctx context.Context) error { return m.acquire(ctx, false) }

func (m *Mutex) acquire(ctx context.Context, wait bool) error {
	m.mu.Lock()
	if m.state == held && m.h.ended() {
		// A lost lock needs no Unlock: clear what is left of it first.
		// Lost keeps telling of the loss should this acquisition fail.
		h := m.h
		m.state = releasing
		m.mu.Unlock()
		h.markLost()
		_ = h.release(ctx)
		m.mu.Lock()
		m.state = idle
	}
	if m.state != idle {
		m.mu.Unlock()
		return ErrAlreadyLocked
	}
	m.state = acquiring
	m.mu.Unlock()

	e, err := acquire(ctx, m.c, m.dir, m.sch, m.id, wait, &m.spare)

	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.state = idle
		return err
	}
	m.h = hold(m.c, e.path(), e.sess, e.czxid)
	m.state = held
	return nil
}

// Unlock releases the lock: it deletes the node, retrying until the delete
// is confirmed or the session has ended (a lost lock unlocks without
// error). If ctx ends first, the delete goes on in the background and
// Unlock returns ctx's error; the Mutex can be locked again either way.
// Unlock without holding the lock returns ErrNotLocked.
func (m *Mutex) Unlock(ctx context.Context) error {
	m.mu.Lock()
	if m.state != held {
		m.mu.Unlock()
		return ErrNotLocked
	}
	h := m.h
	m.state = releasing
	m.mu.Unlock()

	err := h.release(ctx)

	m.mu.Lock()
	m.state = idle
	m.mu.Unlock()
	return err
}

// Lost returns a channel that is closed when the lock taken by the latest
// Lock or TryLock is lost involuntarily: its session ended (the server
// expired it, or the client's timer did while it could reach no server) or
// its node was deleted. Unlock does not close it. Before the first
// acquisition it returns nil.
//
// A lost lock may still be unlocked, which returns without error,
// or locked again straight away: Lock and TryLock clear it first.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil
	}
	return m.h.lostChan()
}

// Token returns the fencing token of the lock held: the creation zxid of
// its node, which is larger for every later acquisition of the lock (by
// anyone, through any directory the lock's path had). A resource guarded by
// the lock can refuse requests carrying a token lower than one it has seen.
//
// The create that queued the contender returns the zxid, so Token does not
// wait. It returns 0 when the lock is not held, or was lost: its session
// ended, or its node was deleted as far as Lost has learned. Only Lost's
// watch on the node, which the first call of Lost starts, learns of a
// deletion; without it, Token goes on returning the token, which is lower
// than that of anyone who took the lock since.
func (m *Mutex) Token() int64 {
	m.mu.Lock()
	h, state := m.h, m.state
	m.mu.Unlock()
	if h == nil || state != held || h.ended() {
		return 0
	}
	return h.fencingToken()
}

// Participants returns the ids of the contenders (the data of their nodes,
// or their node names when they have none), holder first, in queue order.
func (m *Mutex) Participants(ctx context.Context) ([]string, error) {
	return participants(ctx, m.c, m.dir, m.sch.markers)
}
