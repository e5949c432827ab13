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
	return untilGone(ctx, ownerEnded, func() error { return c.Delete(ctx, path, core.Force()) })
}

// removeNode is deleteNode that, when ctx ends before the delete is
// confirmed, goes on in the background until it is, or until owner ends
// or the client closes. It returns ctx's error in that case.
func removeNode(ctx context.Context, c *core.Client, path string, owner *core.Session) error {
	return finishLater(ctx, func(ctx context.Context) error { return deleteNode(ctx, c, path, owner) })
}

// removePrefixed deletes the child of dir whose name carries prefix, if
// there is one, retrying transient failures until ctx ends. The node's
// session is unknown (its create's reply was lost), so only a confirmed
// delete, or a listing without it, ends the attempts. It makes the server
// catch up before each listing, as find does: a server the client has just
// moved to may not have applied yet the create the lost connection
// carried, and a listing without it would leave an orphan in the queue.
func removePrefixed(ctx context.Context, c *core.Client, dir, prefix string) error {
	return untilGone(ctx, func() bool { return false }, func() error {
		if err := c.CatchUp(ctx, dir); err != nil {
			return err
		}
		children, err := c.GetChildren(ctx, dir)
		if err != nil {
			return err
		}
		if name := findPrefixed(children, prefix); name != "" {
			return deleteNode(ctx, c, joinPath(dir, name), nil)
		}
		return nil
	})
}

// untilGone makes attempt, which removes a node, until it succeeds or finds
// the node (or its directory) gone, the client closes (its session, and
// the node with it, end), or moot reports that the node goes by itself. It
// pauses between transient failures, from minPause doubling to maxPause,
// and returns the error that ended the attempts otherwise: ctx's, when ctx
// ended.
func untilGone(ctx context.Context, moot func() bool, attempt func() error) error {
	pause := minPause
	for {
		err := attempt()
		switch {
		case err == nil, errors.Is(err, core.ErrNoNode), errors.Is(err, core.ErrClosed), moot():
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !transient(err):
			return err
		}
		if !sleepCtx(ctx, pause) {
			if moot() {
				return nil
			}
			return ctx.Err()
		}
		pause = min(2*pause, maxPause)
	}
}

// finishLater runs work under ctx and, when it fails because ctx ended,
// runs it again in the background under ctx's values alone, so the
// clean-up is finished even though its caller stopped waiting. It returns
// the first run's error.
func finishLater(ctx context.Context, work func(context.Context) error) error {
	err := work(ctx)
	if err != nil && ctx.Err() != nil {
		bg := context.WithoutCancel(ctx)
		go func() { _ = work(bg) }()
	}
	return err
}
