package lock

import (
	"context"
	"errors"

	"github.com/zkit-go/zkit/core"
)

// deleteNode deletes path, retrying transient failures, until the delete
// is confirmed (the node is gone, whoever removed it), owner ends, or ctx
// ends. owner is the session the node is ephemeral in: once it ends the
// server removes the node, so deleteNode stops waiting for a connection at
// that moment. A nil owner means the node's session is not known; then only
// a confirmed delete, or ctx, ends the attempts.
func deleteNode(ctx context.Context, c *core.Client, path string, owner *core.Session) error {
	if owner != nil {
		if owner.Err() != nil {
			return nil
		}
		ctx = core.WithSession(ctx, owner)
	}
	ownerEnded := func() bool { return owner != nil && owner.Err() != nil }
	pause := minPause
	for {
		err := c.Delete(ctx, path, core.Force())
		switch {
		case err == nil, errors.Is(err, core.ErrNoNode):
			return nil
		case errors.Is(err, core.ErrClosed):
			// Closing the client ends its session, and the node with it.
			return nil
		case ownerEnded():
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !transient(err):
			return err
		}
		if !sleepCtx(ctx, pause) {
			if ownerEnded() {
				return nil
			}
			return ctx.Err()
		}
		pause = min(2*pause, maxPause)
	}
}

// removeNode is deleteNode that, when ctx ends before the delete is
// confirmed, goes on in the background until it is, or until owner ends
// or the client closes. It returns ctx's error in that case.
func removeNode(ctx context.Context, c *core.Client, path string, owner *core.Session) error {
	err := deleteNode(ctx, c, path, owner)
	if err != nil && ctx.Err() != nil {
		bg := context.WithoutCancel(ctx)
		go func() { _ = deleteNode(bg, c, path, owner) }()
	}
	return err
}
