package lock

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/zkit-go/zkit/core"
)

// holding is one acquisition held: it closes lost when the session it is
// bound to ends or its node goes, and learns the fencing token.
type holding struct {
	c    *core.Client
	path string
	sess *core.Session

	lost       chan struct{}
	tokenReady chan struct{} // closed once token is known, or will never be
	token      atomic.Int64

	mu       sync.Mutex
	released bool
	isLost   bool
	watching bool
	// notOurs: the node is gone, or in another session, so release has
	// nothing to delete.
	notOurs bool

	cancel    context.CancelFunc // ends the node watch
	stopOnEnd func() bool        // undoes the session's OnEnd (nil: none)
	wg        sync.WaitGroup
}

// hold records the acquisition of the node at path, made in sess. It
// watches nothing yet: the watches start with the first call to Lost, so
// an acquisition nobody asks about costs no read and no goroutine.
//
// token is the node's creation zxid when the caller knows it, else 0: the
// first read of the watch then learns it.
func hold(c *core.Client, path string, sess *core.Session, token int64) *holding {
	h := &holding{
		c: c, path: path, sess: sess,
		lost:       make(chan struct{}),
		tokenReady: make(chan struct{}),
		cancel:     func() {},
	}
	if token != 0 {
		h.token.Store(token)
		close(h.tokenReady)
	}
	return h
}

// lostChan starts the watches, once, and returns the channel they close.
// A node deleted, or a session ended, before the watches start is reported
// all the same: by the first read, and by OnEnd on an ended session.
//
// The session's end closes lost in the goroutine that ends the session
// (Session.OnEnd): when the client closes, the holder is told before the
// server deletes the node and another contender takes the lock.
func (h *holding) lostChan() <-chan struct{} {
	h.mu.Lock()
	start := !h.watching && !h.released && !h.isLost
	if start {
		h.watching = true
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		h.wg.Add(1)
		go h.watchNode(ctx)
	}
	h.mu.Unlock()
	if start {
		// Outside h.mu: on an ended session, markLost runs at once.
		stop := h.sess.OnEnd(h.markLost)
		h.mu.Lock()
		done := h.released || h.isLost
		if !done {
			h.stopOnEnd = stop
		}
		h.mu.Unlock()
		if done {
			stop()
		}
	}
	return h.lost
}

// watchNode keeps a data watch on the node. Its first read also yields the
// node's creation zxid, the fencing token, and checks that the session
// owns the node.
func (h *holding) watchNode(ctx context.Context) {
	defer h.wg.Done()
	known := h.token.Load() != 0
	defer func() {
		if !known {
			close(h.tokenReady)
		}
	}()
	pause := minPause
	for {
		_, st, ch, err := h.c.GetW(ctx, h.path)
		switch {
		case err == nil:
			pause = minPause
		case errors.Is(err, core.ErrNoNode):
			h.markNodeLost()
			return
		case ctx.Err() != nil, errors.Is(err, core.ErrClosed):
			return
		default:
			if !sleepCtx(ctx, pause) {
				return
			}
			pause = min(2*pause, maxPause)
			continue
		}
		if st.EphemeralOwner != h.sess.ID() {
			h.markNodeLost()
			return
		}
		if !known {
			h.token.Store(st.CreatedZxid)
			known = true
			close(h.tokenReady)
		}
		select {
		case ev := <-ch:
			switch {
			case ev.Type == core.EventNodeDeleted:
				h.markNodeLost()
				return
			case ev.Type == core.EventNotWatching && !errors.Is(ev.Err, core.ErrWatchRemoved):
				h.markLost()
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// markLost closes lost, unless the holder released the lock first.
func (h *holding) markLost() { h.lose(false) }

// markNodeLost is markLost for a node that is gone, or that another
// session owns: release then deletes nothing, so an Unlock does not wait
// for the network, and never removes another session's node.
func (h *holding) markNodeLost() { h.lose(true) }

func (h *holding) lose(notOurs bool) {
	h.mu.Lock()
	if h.released {
		h.mu.Unlock()
		return
	}
	h.notOurs = h.notOurs || notOurs
	if h.isLost {
		h.mu.Unlock()
		return
	}
	h.isLost = true
	close(h.lost)
	h.cancel()
	stop := h.takeStopOnEndLocked()
	h.mu.Unlock()
	stop()
}

// takeStopOnEndLocked returns the function that undoes the session's
// OnEnd, once (a no-op when there is none or it was taken).
func (h *holding) takeStopOnEndLocked() func() bool {
	stop := h.stopOnEnd
	h.stopOnEnd = nil
	if stop == nil {
		return func() bool { return false }
	}
	return stop
}

// ended reports whether the acquisition is lost: as far as Lost has
// learned, or because its session has ended.
func (h *holding) ended() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.isLost || h.sess.Err() != nil
}

// fencingToken waits until the token is known and returns it, or 0 when
// the acquisition was lost or released before.
func (h *holding) fencingToken() int64 {
	select {
	case <-h.tokenReady:
	default:
		h.lostChan() // the node watch's first read learns the token
	}
	<-h.tokenReady
	return h.token.Load()
}

// release stops the watches and deletes the node, retrying until the
// delete is confirmed or the session has ended. When ctx ends first, the
// delete goes on in the background and release returns ctx's error. A
// node the watch found gone, or owned by another session, is left alone.
func (h *holding) release(ctx context.Context) error {
	h.mu.Lock()
	h.released = true
	if !h.watching {
		// No watch will learn the token now: Token must not wait for it.
		select {
		case <-h.tokenReady:
		default:
			close(h.tokenReady)
		}
	}
	cancel := h.cancel
	stop := h.takeStopOnEndLocked()
	h.mu.Unlock()
	cancel()
	stop()
	h.wg.Wait()
	h.mu.Lock()
	notOurs := h.notOurs
	h.mu.Unlock()
	if notOurs {
		return nil
	}
	return removeNode(ctx, h.c, h.path, h.sess)
}
