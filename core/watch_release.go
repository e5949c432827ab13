package core

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// releaseServerWatch takes the watch on the server path sp off the server
// once the client's last persistent watcher there is gone. Servers up to
// 3.8 know no persistent watcher type in removeWatches, so this removes
// every watch of the session on sp; the reply's hook sets the one-shot
// watches the client still holds there again.
//
// It sends only on a live connection and never waits for one: the next
// connection registers only the watches the client holds. A loss of the
// connection in flight is no failure for the same reason.
//
// Until the removal's reply is read, or the removal is lost, the path
// counts as being released (startOverride), also when the wait for the
// reply ran out: an addWatch on sp answered meanwhile went out before the
// removal, which takes its watch off the server too, so AddWatch waits for
// the watch to be set again (see AddWatch).
//
// ctx bounds the wait for the reply, not the removal: once sent, it is
// finished by its reply hook, whenever that comes, and a wait that ends
// first is no failure.
func (c *Client) releaseServerWatch(ctx context.Context, path, sp string) error {
	if c.passedEstablish() {
		return nil
	}
	if !c.watches.startOverride(sp) {
		return nil
	}
	done := c.watches.overrideEnder(sp)
	var rearmed atomic.Bool
	hook := func(r *request) {
		if r.err == nil && c.watches.rearmPath(sp, r.zxid, true, c.sendRearm) {
			rearmed.Store(true)
		}
		done()
	}
	req := &proto.RemoveWatchesRequest{Op: proto.OpRemoveWatches, Path: sp, Type: int32(WatchAny)}
	_, err := c.call(ctx, req, &proto.EmptyResponse{}, hook, false)
	endUnlessOut(done, err)
	switch {
	case err == nil:
		c.awaitRearm(ctx, &rearmed, sp)
		return nil
	case isLoss(err), isNotSent(err), isStillOut(err):
		return nil
	case errors.Is(err, ErrNoWatcher), errors.Is(err, ErrClosed):
		// Nothing holds the watch any more: the server, or the closed client.
		return nil
	}
	return opError("removeWatches", path, err)
}

// releaseServerWatchLater is releaseServerWatch on a goroutine of the
// client's, for the reader, which must not wait for a reply. The client's
// run loop is alive while anyone reads its connection, so the wait group
// cannot be at rest.
func (c *Client) releaseServerWatchLater(path, sp string) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.sessionTimeout)
		defer cancel()
		if err := c.releaseServerWatch(ctx, path, sp); err != nil {
			c.log.Debug("zk: removing an ended watcher's watch from the server failed", zap.String("path", path), zap.Error(err))
		}
	}()
}

// awaitRearm makes one more round trip when a reply hook set persistent
// watches again (rearmed), so that they are in effect on the server when
// the caller returns: the server applies a session's requests in order.
// ZooKeeper sends no catch-up events for persistent watches, so until then
// they miss changes. It tries once, on the live connection: after a lost
// connection the next one registers every watch anyway. It returns ctx's
// error when ctx ended before the server answered, and nil otherwise.
func (c *Client) awaitRearm(ctx context.Context, rearmed *atomic.Bool, sp string) error {
	if !rearmed.Load() {
		return nil
	}
	req := &proto.RemoveWatchesRequest{Op: proto.OpCheckWatches, Path: sp, Type: int32(WatchAny)}
	if _, err := c.call(ctx, req, &proto.EmptyResponse{}, nil, false); err != nil {
		return ctx.Err()
	}
	return nil
}

// sendRearm queues setWatches frames on the live connection, if any;
// without one, the next connection registers every watch anyway. Their
// replies are read like those of the setWatches sent on connecting.
//
// applied, if not nil, goes with the last frame: it is called once the
// server has applied them all (the last reply is read), or with ok false
// once the connection ends first (the next one sets every watch anyway).
// sendRearm reports whether it will be called; it is not when the frames
// could not all be queued.
func (c *Client) sendRearm(reqs []proto.Request, applied appliedFunc) (queued bool) {
	cn := c.live.Load()
	if cn == nil {
		return false
	}
	for i, req := range reqs {
		var last appliedFunc
		if i == len(reqs)-1 {
			last = applied
		}
		if err := cn.sendSetWatches(req, last); err != nil {
			return false
		}
	}
	return true
}

// rearmPlain sets the plain persistent watchers on the server path sp
// again once the last recursive one there is gone: the server kept the
// path's watch recursive for them, which brings no NodeChildrenChanged.
// ctx bounds the wait for them to be in effect; the frames go out
// whatever it says.
func (c *Client) rearmPlain(ctx context.Context, sp string) {
	if c.passedEstablish() {
		return
	}
	var rearmed atomic.Bool
	if c.watches.rearmPlainPath(sp, c.sendRearm) {
		rearmed.Store(true)
	}
	c.awaitRearm(ctx, &rearmed, sp)
}

// passedEstablish waits out a connection being established and reports
// whether the client is closed. A caller that changed the client's watches
// and is about to send the change on the live connection (sendRearm) calls
// it first. A connection being established registers the watches the
// client holds while it holds c.mu (isClosed takes it too), and goes live
// before releasing it. Once past c.mu, either that connection is live, so
// the change goes out on it, or its registration already took the change
// in; without the wait, the change could be dropped for want of a live
// connection after the registration had listed the old state.
func (c *Client) passedEstablish() (closed bool) {
	return c.isClosed()
}
