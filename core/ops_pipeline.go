package core

import (
	"context"
	"errors"

	"github.com/zkit-go/zkit/core/proto"
)

// CreateAndList creates a node like Create and lists the children of
// listPath with a request pipelined right behind the create, without
// waiting for the create's reply. The server answers a session's requests
// in order, so the listing already includes the new node: one round trip
// instead of two. Recipes use it to join a queue of contenders.
//
// Retries follow CreateStat's rules; after a connection loss a protected
// create finds its node by its GUID and lists again. Once the node is made,
// what is left is a read, which the policy sends again after any loss.
// When the node is made but the listing fails, it returns the node's path
// with the listing's error.
func (c *Client) CreateAndList(ctx context.Context, path string, data []byte, listPath string, opts ...CreateOption) (created string, children []string, err error) {
	created, _, children, err = c.createAndList(ctx, path, data, listPath, false, opts)
	return created, children, err
}

// CreateAndListStat is CreateAndList that also returns the new node's Stat
// (a plain create goes as create2, as with CreateStat).
func (c *Client) CreateAndListStat(ctx context.Context, path string, data []byte, listPath string, opts ...CreateOption) (created string, stat *Stat, children []string, err error) {
	return c.createAndList(ctx, path, data, listPath, true, opts)
}

func (c *Client) createAndList(ctx context.Context, path string, data []byte, listPath string, withStat bool, opts []CreateOption) (created string, stat *Stat, children []string, err error) {
	call := newCreateCall(withStat, opts)
	if err := c.checkCreate(path, data, &call.o); err != nil {
		return "", nil, nil, opError("create", path, err)
	}
	lp, err := c.serverPath(listPath)
	if err != nil {
		return "", nil, nil, opError("getChildren", listPath, err)
	}
	sp := c.root.toServer(path)
	for tries := 0; ; tries++ {
		created, stat, children, err = c.createAndListOnce(ctx, sp, data, lp, call)
		if err == nil {
			return c.root.fromServer(created), stat, children, nil
		}
		if created != "" {
			// The node was made; only the listing failed.
			return c.root.fromServer(created), stat, nil, opError("getChildren", listPath, err)
		}
		if !errors.Is(err, ErrNoNode) || !call.o.parents || tries >= 5 {
			return "", nil, nil, opError("create", path, err)
		}
		if err := c.ensureParents(ctx, sp, call.o.parentContainers, call.o.parentACL); err != nil {
			return "", nil, nil, opError("create", path, err)
		}
	}
}

func (c *Client) createAndListOnce(ctx context.Context, sp string, data []byte, lp string, call *createCall) (string, *Stat, []string, error) {
	o, req := &call.o, &call.req
	parent, prefix := o.fillRequest(req, sp, data)
	var (
		lost     bool
		created  string
		stat     *Stat
		zxid     int64 // the create's, for the stat cache
		children []string
	)
	list := &proto.PathWatchRequest{Op: proto.OpGetChildren, Path: lp}
	safe := retryRule(!o.sequential || o.protected)
	retryable := func(err error) bool {
		// Once the node is made, only the listing is left: a read, which
		// is always safe to send again.
		return safe(err) || created != "" && retrySafe(err)
	}
	listed := func(ctx context.Context) error {
		resp := &proto.ChildrenResponse{}
		if _, err := c.call(ctx, list, resp, nil, false); err != nil {
			return err
		}
		children = resp.Children
		return nil
	}
	err := c.cfg.retry.run(ctx, c.waitReady, retryable, func(ctx context.Context) error {
		if created != "" {
			// The node is made; only the listing is left to do.
			return listed(ctx)
		}
		if lost && o.protected {
			p, st, err := c.findProtected(ctx, parent, prefix, o.ephemeral)
			if err != nil {
				return err
			}
			if p != "" {
				created, stat = p, st
				return listed(ctx)
			}
		}
		cresp := call.replyFor(req)
		lresp := &proto.ChildrenResponse{}
		var createErr, listErr error
		zxid, createErr, listErr = c.callPair(ctx, req, cresp, list, lresp)
		switch {
		case createErr == nil && listErr == nil:
			created, stat = cresp.result()
			children = lresp.Children
			return nil
		case createErr == nil:
			// The node exists; only the listing failed.
			created, stat = cresp.result()
			return listed(ctx)
		case lostInFlight(createErr):
			lost = true
		case errors.Is(createErr, ErrNodeExists) && lost && o.ephemeral && !o.sequential:
			// As in createOnce: the node may be the one a lost attempt made.
			st, ok, err := c.ownEphemeral(ctx, req.Path)
			if ok {
				created, stat = req.Path, st
				return listed(ctx)
			}
			if err != nil {
				return afterSent(err)
			}
		}
		return createErr
	})
	if created != "" && !o.sequential {
		c.stats.putNew(created, zxid, stat)
	}
	if created == "" {
		c.removeOrphanIfLanded(o, parent, prefix, lost, err)
	}
	return created, stat, children, err
}

// callPair sends two requests back to back on the live connection, waits
// for both replies, and returns the zxid of the first one's reply with each
// one's outcome.
func (c *Client) callPair(ctx context.Context, req1 proto.Request, resp1 proto.Response, req2 proto.Request, resp2 proto.Response) (zxid1 int64, err1, err2 error) {
	began := c.debugStart()
	zxid1, zxid2, err1, err2 := c.exchangePair(ctx, req1, resp1, req2, resp2)
	c.debugCall(began, req1, zxid1, err1)
	c.debugCall(began, req2, zxid2, err2)
	return zxid1, err1, err2
}

// exchangePair is callPair without its Debug log, returning both zxids.
func (c *Client) exchangePair(ctx context.Context, req1 proto.Request, resp1 proto.Response, req2 proto.Request, resp2 proto.Response) (zxid1, zxid2 int64, err1, err2 error) {
	cn, tied, err := c.liveFor(ctx)
	if err != nil {
		return 0, 0, err, err
	}
	r1, r2 := newRequest(resp1), newRequest(resp2)
	own, err := cn.sendPairOwn(req1, r1, req2, r2)
	if err != nil {
		r1.release()
		r2.release()
		return 0, 0, err, err
	}
	if own {
		cn.readOwn(ctx, r2)
	}
	// Replies come in order, so once r2 is done, r1 is done or about to be
	// (a failing connection may finish r2 while the reader still decodes
	// r1). Waiting for r2 alone wakes this goroutine once for the two
	// replies.
	if !replied(ctx, tied, r2) {
		// Report the first request's outcome if it is known, so a create
		// that happened is not lost. Otherwise both are still out, which
		// the error says (stillOut): a protected create's orphan search
		// depends on it.
		err := stillOut(ctx, tied)
		select {
		case <-r1.done:
			zxid1, err1 = r1.zxid, r1.err
			r1.release()
			return zxid1, 0, err1, err
		default:
			return 0, 0, err, err
		}
	}
	<-r1.done
	zxid1, zxid2, err1, err2 = r1.zxid, r2.zxid, r1.err, r2.err
	r1.release()
	r2.release()
	return zxid1, zxid2, err1, err2
}
