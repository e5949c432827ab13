package core

import (
	"context"
	"errors"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// A protected create whose call fails after its request may have reached
// the server (the connection was lost with it in flight, its ctx ended
// while it was out, or its reply could not be read) may have made a node
// that nobody knows of: its caller got an error. As Curator does, the
// client then looks for that node in the background, by its protected
// prefix, and deletes it: an orphaned lock node would block its queue,
// and a persistent one would stay for good.

// mayHaveLanded reports whether a create that failed with err may still
// have been applied; lost says that an earlier attempt was lost in flight.
// A call tied to a session (WithSession) that stopped waiting as the
// session ended reports the session's end, with its request maybe out.
func mayHaveLanded(lost bool, err error) bool {
	return lost || lostInFlight(err) || isStillOut(err) || errors.Is(err, ErrMarshallingError) || errors.Is(err, ErrSessionExpired)
}

// orphanPause bounds the pause between two tries to remove an orphan.
const orphanPause = 5 * time.Second

// removeOrphanIfLanded starts removeOrphan after a create with options o
// failed with err, when it was protected and may have made its node
// (lost: an attempt was lost in flight), named with prefix under parent.
func (c *Client) removeOrphanIfLanded(o *createOptions, parent, prefix string, lost bool, err error) {
	if err != nil && o.protected && mayHaveLanded(lost, err) {
		c.removeOrphanLater(parent, prefix, o.ephemeral)
	}
}

// removeOrphanLater starts removeOrphan for the protected create of a node
// named with prefix under the server path parent, unless the client is
// closing. An ephemeral node goes with the current session, so the search
// ends with it; without a session, the one that made it has ended already.
func (c *Client) removeOrphanLater(parent, prefix string, ephemeral bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || ephemeral && c.sess == nil {
		return
	}
	var sessionDone <-chan struct{}
	if ephemeral {
		sessionDone = c.sess.Done()
	}
	// Added under mu while the client is open, so Close waits for it.
	c.wg.Add(1)
	go c.removeOrphan(parent, prefix, ephemeral, sessionDone)
}

// removeOrphan deletes the node of a failed protected create, if there is
// one, trying again after each failure until it knows, the client closes,
// or (for an ephemeral node) the session ends.
func (c *Client) removeOrphan(parent, prefix string, ephemeral bool, sessionDone <-chan struct{}) {
	defer c.wg.Done()
	ctx, stop := c.untilStopped(context.Background(), sessionDone, 0)
	defer stop()
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, orphanPause) {
		if err := c.waitReady(ctx); err != nil {
			return
		}
		p, _, err := c.findProtected(ctx, parent, prefix, ephemeral)
		if err == nil && p == "" {
			return
		}
		if err == nil {
			var zxid int64
			zxid, err = c.call(ctx, &proto.DeleteRequest{Path: p, Version: -1}, &proto.EmptyResponse{}, nil, false)
			if err == nil {
				c.stats.forget(p, zxid)
				c.log.Info("zk: removed the node of a protected create that failed", zap.String("path", c.root.fromServer(p)))
				return
			}
			if errIsNoNode(err) {
				return // someone else removed it
			}
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		if !retrySafe(err) {
			c.log.Warn("zk: cannot remove the node a failed protected create may have made",
				zap.String("parent", c.root.fromServer(parent)), zap.String("prefix", prefix), zap.Error(err))
			return
		}
		if sleepCtx(ctx, pause) != nil {
			return
		}
	}
}
