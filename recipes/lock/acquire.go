package lock

import (
	"context"
	"errors"

	"github.com/zkit-go/zkit/core"
)

// acquire joins the queue under dir and, if wait, waits for its turn; if
// not, it fails with ErrLocked when the turn is not its at once. The
// acquisition is bound to the session current when it starts: if that
// session ends before the turn comes, acquire fails with ErrLockLost at
// once, even while a request waits for a reconnect. On every failure the
// node is removed.
func acquire(ctx context.Context, c *core.Client, dir string, sch *scheme, data []byte, wait bool) (*entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sess, err := currentSession(ctx, c)
	if err != nil {
		return nil, err
	}
	e := newEntry(c, dir, sch, sess)
	e, err = e.take(core.WithSession(ctx, sess), data, wait)
	return e, sessionLoss(ctx, sess, err)
}

// sessionLoss returns err, or ErrLockLost with the session's error when a
// step failed because sess ended under it (ctx, the caller's, still lives).
func sessionLoss(ctx context.Context, sess *core.Session, err error) error {
	if err == nil || errors.Is(err, ErrLockLost) || ctx.Err() != nil || sess.Err() == nil {
		return err
	}
	return lostError(sess.Err())
}

// take is acquire's work once the session is chosen.
func (e *entry) take(ctx context.Context, data []byte, wait bool) (*entry, error) {
	children, err := e.join(ctx, data)
	if err != nil {
		return nil, err
	}
	blockers, ok := e.blockers(children)
	if !ok {
		e.abandon(ctx)
		return nil, lostError(e.sess.Err())
	}
	if len(blockers) > 0 {
		if !wait {
			e.abandon(ctx)
			return nil, ErrLocked
		}
		if err := e.await(ctx, blockers); err != nil {
			e.abandon(ctx)
			return nil, err
		}
	}
	if err := e.sess.Err(); err != nil {
		// Any read that saw the turn come ran in a later session.
		return nil, lostError(err)
	}
	return e, nil
}
