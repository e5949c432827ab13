package core

import (
	"context"

	"github.com/zkit-go/zkit/core/proto"
)

// rpc sends req under the retry policy. safe says whether repeating the
// request after a connection loss in flight cannot change the outcome; a
// request that never left the client is always retried.
func (c *Client) rpc(ctx context.Context, op, path string, safe bool, req proto.Request, resp proto.Response, onReply func(*request)) error {
	err := c.cfg.retry.run(ctx, c.waitReady, retryRule(safe), func(ctx context.Context) error {
		_, err := c.call(ctx, req, resp, onReply, false)
		return err
	})
	return opError(op, path, err)
}

func retryRule(safe bool) func(error) bool {
	return func(err error) bool {
		return isNotSent(err) || (safe && isLoss(err))
	}
}

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
