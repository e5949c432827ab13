package lock

import (
	"context"
	"errors"
	"fmt"

	"github.com/zkit-go/zkit/core"
)

// acquire joins the queue under dir and, if wait, waits for its turn; if
// not, it fails with ErrLocked when the turn is not its at once. The
// acquisition is bound to the session current when it starts: if that
// session ends before the turn comes, acquire fails with ErrLockLost at
// once, even while a request waits for a reconnect. On every failure the
// node is removed.
func acquire(ctx context.Context, c *core.Client, dir string, sch *scheme, data []byte, wait bool, spare *spareWatch) (*entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sess, err := currentSession(ctx, c)
	if err != nil {
		return nil, err
	}
	e := newEntry(c, dir, sch, sess, spare)
	e, err = e.take(core.WithSession(ctx, sess), data, wait)
	return e, acquireError(ctx, sess, err)
}

// acquireError is what a failed acquisition returns for err, the error of
// the step that failed:
//   - ErrLockLost as it is;
//   - ctx's error once ctx, the caller's, has ended: the acquisition gave
//     up because of it, whatever its last step reported (a connection lost
//     just as the caller gave up fails the call in flight with a
//     connection loss, which alone would tell the caller to try again);
//   - ErrLockLost with the session's error when the step failed because
//     sess ended under it;
//   - otherwise err.
func acquireError(ctx context.Context, sess *core.Session, err error) error {
	switch {
	case err == nil, errors.Is(err, ErrLockLost):
		return err
	case ctx.Err() != nil:
		if errors.Is(err, ctx.Err()) {
			return err
		}
		return fmt.Errorf("%w (the last step: %v)", ctx.Err(), err)
	case sess.Err() == nil:
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
