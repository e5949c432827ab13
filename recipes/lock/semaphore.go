package lock

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/zkit-go/zkit/core"
)

// Semaphore is a distributed counting semaphore on a path: at most
// maxLeases leases are held at any time, by all clients together. It uses
// the layout of Curator's InterProcessSemaphoreV2: an internal Mutex on
// "<path>/locks" lets one acquirer at a time add its lease,
// "_c_<uuid>-lease-<seq>", under "<path>/leases" and wait until there are
// at most maxLeases of them. Leases are ephemeral, so a lease whose session
// dies leaves no orphan. It is safe for concurrent use; each Acquire takes
// one more lease.
type Semaphore struct {
	c         *core.Client
	path      string
	maxLeases int
	id        []byte

	spare spareWatch // for the internal mutex's waits
}

// NewSemaphore returns a semaphore of maxLeases leases on path. It does no
// I/O. Every client of the path must use the same maxLeases.
// WithKazooLayout does not apply.
func NewSemaphore(c *core.Client, path string, maxLeases int, opts ...Option) *Semaphore {
	o := buildOptions(opts)
	return &Semaphore{c: c, path: path, maxLeases: maxLeases, id: o.id}
}

// Acquire blocks until it holds a lease, or ctx ends. When ctx ends first,
// or the session ends (ErrLockLost), it leaves no node behind; once ctx
// has ended, the error matches ctx's, unless the lease was lost
// (ErrLockLost).
func (s *Semaphore) Acquire(ctx context.Context) (*Lease, error) {
	if s.maxLeases < 1 {
		return nil, fmt.Errorf("lock: semaphore of %d leases: %w", s.maxLeases, core.ErrInvalidArgument)
	}
	internal, err := acquire(ctx, s.c, joinPath(s.path, "locks"), mutexScheme(false), nil, true, &s.spare)
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := cleanupContext(ctx, internal.sess)
		defer cancel()
		_ = removeNode(cctx, s.c, internal.path(), internal.sess)
	}()

	e := newEntry(s.c, joinPath(s.path, "leases"), leaseScheme(), internal.sess, nil)
	if err := s.lease(core.WithSession(ctx, internal.sess), e); err != nil {
		return nil, acquireError(ctx, e.sess, err)
	}
	return &Lease{h: hold(s.c, e.path(), e.sess, e.czxid)}, nil
}

// lease adds e's lease and waits until it fits, as the holder of the
// internal mutex; on failure it removes the lease's node.
func (s *Semaphore) lease(ctx context.Context, e *entry) error {
	children, err := e.join(ctx, s.id)
	if err != nil {
		return err
	}
	if err := s.waitForRoom(ctx, e, children); err != nil {
		e.abandon(ctx)
		return err
	}
	if err := e.sess.Err(); err != nil {
		return lostError(err)
	}
	return nil
}

// waitForRoom waits until the leases, e's among them, are at most
// maxLeases, starting from children, the listing made with e's create.
// Only the holder of the internal mutex waits here, so only one client at
// a time watches the leases.
func (s *Semaphore) waitForRoom(ctx context.Context, e *entry, children []string) error {
	ok, err := s.fits(e, children)
	for !ok && err == nil {
		var ch <-chan core.Event
		if children, _, ch, err = s.c.GetChildrenW(ctx, e.dir); err != nil {
			return err
		}
		if ok, err = s.fits(e, children); ok || err != nil {
			break
		}
		_, err = e.wait(ctx, ch)
	}
	return err
}

// fits reports whether the leases listed in children, e's among them, are
// at most maxLeases. Every child counts, as in Curator.
func (s *Semaphore) fits(e *entry, children []string) (bool, error) {
	if !slices.Contains(children, e.name) {
		return false, lostError(e.sess.Err())
	}
	return len(children) <= s.maxLeases, nil
}

// Lease is one lease of a Semaphore.
type Lease struct {
	h *holding

	mu       sync.Mutex
	released bool
}

// Release gives the lease back: it deletes the lease's node, retrying
// until the delete is confirmed or the session has ended. If ctx ends
// first, the delete goes on in the background and Release returns ctx's
// error. A second Release returns ErrNotLocked.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return ErrNotLocked
	}
	l.released = true
	l.mu.Unlock()
	return l.h.release(ctx)
}

// Lost returns a channel that is closed when the lease is lost
// involuntarily: its session ended or its node was deleted. Release does
// not close it.
func (l *Lease) Lost() <-chan struct{} { return l.h.lostChan() }
