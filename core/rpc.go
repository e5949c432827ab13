package core

import (
	"context"
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

// rpc sends req under the retry policy. safe says whether repeating the
// request after a connection loss in flight cannot change the outcome; a
// request that never left the client is always retried.
//
// The first attempt goes straight out when a connection is live; the retry
// machinery is set up only when it fails.
func (c *Client) rpc(ctx context.Context, op, path string, safe bool, req proto.Request, resp proto.Response, onReply func(*request)) error {
	_, err := c.rpcZxid(ctx, op, path, safe, req, resp, onReply)
	return err
}

// rpcZxid is rpc that also returns the zxid of the last reply's header
// (0 when no reply came): the server's state when it answered, also for
// an error.
func (c *Client) rpcZxid(ctx context.Context, op, path string, safe bool, req proto.Request, resp proto.Response, onReply func(*request)) (int64, error) {
	var (
		st   retryState
		zxid int64
		err  error
	)
	policy := c.cfg.retry
	if c.live.Load() != nil {
		st.record(time.Now(), policy.sleep != nil)
		if zxid, err = c.call(ctx, req, resp, onReply, false); err == nil {
			return zxid, nil
		}
		if !retryRule(safe)(err) {
			return zxid, opError(op, path, err)
		}
	}
	err = policy.resume(ctx, &st, err, c.waitReady, retryRule(safe), func(ctx context.Context) error {
		var err error
		zxid, err = c.call(ctx, req, resp, onReply, false)
		return err
	})
	return zxid, opError(op, path, err)
}

func retryRule(safe bool) func(error) bool {
	if safe {
		return retrySafe
	}
	return retryUnsent
}

// retrySafe accepts every loss; retryUnsent only calls that never left.
func retrySafe(err error) bool   { return isNotSent(err) || isLoss(err) }
func retryUnsent(err error) bool { return isNotSent(err) }

// lostInFlight reports a loss after which the server may have applied the
// request.
func lostInFlight(err error) bool { return isLoss(err) && !isNotSent(err) }

// serverPath validates a client path and maps it under the chroot.
func (c *Client) serverPath(path string) (string, error) {
	if err := validatePath(path, false); err != nil {
		return "", err
	}
	return c.root.toServer(path), nil
}

// versionedPath validates path and version for an operation at version,
// and maps path under the chroot.
func (c *Client) versionedPath(path string, version int32) (string, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return "", err
	}
	return sp, validVersion(version)
}
