package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/zkit-go/zkit/core/proto"
)

// AddAuth adds credentials to the session (for example "digest" with
// "user:password") and returns once the server has taken them. They are
// sent again after every reconnect. The server refusing them is final: the
// client ends in StateAuthFailed.
//
// A call that fails otherwise (its ctx ends, the session it is tied to
// with WithSession ends, or the retry policy gives up on the confirming
// round trip) leaves no credentials behind for later connections. The
// server may have taken them on the connection at hand, which keeps them
// until it ends: ZooKeeper cannot take credentials back. A call tied to a
// session that has ended sends nothing.
func (c *Client) AddAuth(ctx context.Context, scheme string, credentials []byte) error {
	if scheme == "" {
		return opError("addAuth", "", fmt.Errorf("%w: empty scheme", ErrInvalidArgument))
	}
	if err := c.waitReady(ctx); err != nil {
		return opError("addAuth", "", err)
	}
	info := authInfo{scheme: scheme, auth: append([]byte(nil), credentials...)}
	if err := c.addAuthInfo(ctx, info); err != nil {
		return opError("addAuth", "", err)
	}
	// The server answers in order, so once a later request is answered the
	// credentials have been processed; a refusal closes the connection.
	_, err := c.existsServer(ctx, "/")
	if err = c.authOutcome(err); err != nil && !errors.Is(err, ErrAuthFailed) {
		c.dropAuthInfo(info)
	}
	return opError("addAuth", "", err)
}

// addAuthInfo records info for every later connection and sends it on the
// live one, unless ctx has ended or the call is tied to a session other
// than the current one (waitReady does not look at either while
// connected). Under mu, so that a connection being established either is
// the live one it is sent on or sends it itself.
func (c *Client) addAuthInfo(ctx context.Context, info authInfo) error {
	tied := tiedSession(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := stoppedBy(ctx, tied); err != nil {
		return err
	}
	if tied != nil && tied != c.sess {
		return ErrSessionExpired
	}
	c.auth = append(c.auth, info)
	if cn := c.live.Load(); cn != nil {
		_ = cn.sendSpecial(proto.XidAuth, &proto.AuthRequest{Scheme: info.scheme, Auth: info.auth})
	}
	return nil
}

// dropAuthInfo forgets the credentials of a failed AddAuth: the newest
// entry equal to info (an equal one added by another call stays).
func (c *Client) dropAuthInfo(info authInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.auth) - 1; i >= 0; i-- {
		if a := c.auth[i]; a.scheme == info.scheme && bytes.Equal(a.auth, info.auth) {
			c.auth = slices.Delete(c.auth, i, i+1)
			return
		}
	}
}
