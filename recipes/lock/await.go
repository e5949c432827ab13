package lock

import (
	"context"
	"errors"

	"github.com/zkit-go/zkit/core"
)

// await waits until none of blockers, the contenders that kept this one
// waiting when its node was listed, is left.
//
// Sequence numbers grow with every create, so no contender can appear
// before this one after its listing: the blockers can only go away. When
// one blocker is left it is the lowest of them all, and await watches it
// with a getData watch: its delete ends the wait with no further read, so
// the hand-off costs one notification.
//
// When more are left, await watches the second nearest instead. It goes
// when it releases the lock, and the nearest then usually takes its turn:
// the listing await makes at that moment finds the nearest alone, so the
// nearest's own release, the next hand-off, again ends the wait with no
// read. The listing is thus made while the nearest holds the lock, off the
// hand-off's critical path, where Curator's recipe makes it after the
// nearest is gone. Each waiter still holds one watch, and a delete wakes
// at most two waiters.
func (e *entry) await(ctx context.Context, blockers []contender) error {
	for len(blockers) > 0 {
		watched := joinPath(e.dir, blockers[max(len(blockers)-2, 0)].name)
		ch, err := e.watch(ctx, watched)
		if err == nil {
			var deleted bool
			if deleted, err = e.wait(ctx, ch); err != nil {
				if ctx.Err() != nil {
					// Given up: the next wait on this node may reuse it.
					e.spare.keep(watched, ch)
				}
				return err
			}
			if !deleted {
				continue
			}
		} else if !errors.Is(err, core.ErrNoNode) {
			return err
		}
		if len(blockers) == 1 {
			return nil
		}
		if blockers, err = e.relist(ctx); err != nil {
			return err
		}
	}
	return nil
}

// watch sets a getData watch on the node at path, or takes the locker's
// spare one there (spareWatch): unfired, it still waits for the node's
// next change, and no read is needed to confirm that the node is there.
func (e *entry) watch(ctx context.Context, path string) (<-chan core.Event, error) {
	if ch := e.spare.take(path); ch != nil {
		return ch, nil
	}
	_, _, ch, err := e.c.GetW(ctx, path)
	return ch, err
}

// relist lists the directory again and returns the blockers left.
func (e *entry) relist(ctx context.Context) ([]contender, error) {
	children, err := e.c.GetChildren(ctx, e.dir)
	if err != nil && !errors.Is(err, core.ErrNoNode) {
		return nil, err
	}
	blockers, ok := e.blockers(children)
	if !ok {
		return nil, lostError(e.sess.Err())
	}
	return blockers, nil
}

// wait waits for the watch's event and reports whether the node was
// deleted; for any other change the caller watches the node again.
func (e *entry) wait(ctx context.Context, ch <-chan core.Event) (deleted bool, err error) {
	select {
	case ev := <-ch:
		switch {
		case ev.Type == core.EventNodeDeleted:
			return true, nil
		case ev.Type == core.EventNotWatching && !errors.Is(ev.Err, core.ErrWatchRemoved):
			// The session ended, or the client closed.
			return false, lostError(ev.Err)
		}
		return false, nil
	case <-e.sess.Done():
		return false, lostError(e.sess.Err())
	case <-ctx.Done():
		return false, ctx.Err()
	}
}
