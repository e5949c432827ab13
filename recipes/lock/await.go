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
// before this one after its listing: the blockers can only go away. await
// therefore watches, with a getData watch, only the nearest blocker that
// still exists, and when the lowest one (the holder, at the listing) is
// deleted it returns at once, with no further read: the hand-off costs one
// notification. When a blocker above the lowest goes, one listing tells
// whether the ones below it are gone too.
func (e *entry) await(ctx context.Context, blockers []contender) error {
	for len(blockers) > 0 {
		last := len(blockers) - 1
		_, _, ch, err := e.c.GetW(ctx, joinPath(e.dir, blockers[last].name))
		if errors.Is(err, core.ErrNoNode) {
			if last == 0 {
				return nil
			}
			if blockers, err = e.relist(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		deleted, err := e.wait(ctx, ch)
		if err != nil {
			return err
		}
		if !deleted {
			continue
		}
		if last == 0 {
			return nil
		}
		// The nearest blocker went: it held the lock and released it, so
		// every blocker below it is gone too, or it gave up (or its session
		// ended) while waiting. One listing tells which.
		if blockers, err = e.relist(ctx); err != nil {
			return err
		}
	}
	return nil
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
