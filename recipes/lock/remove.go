package lock

import (
	"context"
	"errors"

	"github.com/zkit-go/zkit/core"
)

// deleteNode deletes path, retrying transient failures, until the delete
// is confirmed (the node is gone, whoever removed it), gone is closed (the
// session that owns the node ended, so the server removes it), or ctx
// ends. A nil gone never closes.
func deleteNode(ctx context.Context, c *core.Client, path string, gone <-chan struct{}) error {
	pause := minPause
	for {
		err := c.Delete(ctx, path, core.Force())
		switch {
		case err == nil, errors.Is(err, core.ErrNoNode):
			return nil
		case errors.Is(err, core.ErrClosed):
			// Closing the client ends its session, and the node with it.
			return nil
		case closed(gone):
			return nil
		case ctx.Err() != nil, !transient(err):
			return err
		}
		if !sleepCtx(ctx, pause) {
			if closed(gone) {
				return nil
			}
			return err
		}
		pause = min(2*pause, maxPause)
	}
}

// removeNode is deleteNode that, when ctx ends before the delete is
// confirmed, goes on in the background until it is, or until gone closes.
// It returns ctx's error in that case.
func removeNode(ctx context.Context, c *core.Client, path string, gone <-chan struct{}) error {
	err := deleteNode(ctx, c, path, gone)
	if err != nil && ctx.Err() != nil {
		bg := context.WithoutCancel(ctx)
		go func() { _ = deleteNode(bg, c, path, gone) }()
	}
	return err
}

func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
