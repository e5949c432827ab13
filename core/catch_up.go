package core

import (
	"context"
	"errors"

	"github.com/zkit-go/zkit/core/proto"
)

// CatchUp returns once the connected server has applied every write that
// the leader took before the call, and every watch event of those writes
// has reached the client. A read after it sees them all.
//
// Sync promises that too, but not on the leader of an ensemble: the leader
// answers a Sync at once, as it does a read, while a write it has taken
// may still wait for its quorum, or be committed and not yet applied by
// the leader itself, though another server has applied it and answered
// its writer. A write has no such gap: the leader orders writes by zxid,
// and every server applies them in that order and answers each once
// applied. So CatchUp sends a transaction of one version check of path at
// any version, which changes nothing but costs a write to the servers'
// logs. It succeeds when path does not exist, or when the client may not
// read it: the check then fails, still as a write in that order. Like
// Sync, it fails with ErrNotReadOnly on a read-only server. It is safe to
// send again after a connection loss, and the retry policy does.
func (c *Client) CatchUp(ctx context.Context, path string) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("catchUp", path, err)
	}
	req := checkAnyVersion(sp)
	return caughtUp(c.rpc(ctx, "catchUp", path, true, req, &proto.MultiResponse{For: req}, nil))
}

// catchUp is one attempt of CatchUp on a server path: after a reconnect,
// the search for a protected create's node (findProtected) makes it before
// it lists the parent, as a create the lost connection carried may not be
// applied yet.
func (c *Client) catchUp(ctx context.Context, serverPath string) error {
	req := checkAnyVersion(serverPath)
	_, err := c.call(ctx, req, &proto.MultiResponse{For: req}, nil, false)
	return caughtUp(err)
}

// checkAnyVersion is the transaction CatchUp sends: one version check of
// serverPath at any version.
func checkAnyVersion(serverPath string) *proto.MultiRequest {
	return &proto.MultiRequest{Ops: []proto.Request{&proto.CheckVersionRequest{Path: serverPath, Version: -1}}}
}

// caughtUp returns the error of a check-only transaction, or nil when the
// server answered it as a write: it passed, or its check found no node or
// a node the client may not read (the check's own outcome does not
// matter). Any other error, a refusal that never reached the log among
// them (a read-only or throttling server), orders nothing.
func caughtUp(err error) error {
	if errors.Is(err, ErrNoNode) || errors.Is(err, ErrNoAuth) {
		return nil
	}
	return err
}
