package core

import (
	"context"
	"errors"

	"github.com/zkit-go/zkit/core/proto"
)

// Exists reports whether path exists.
func (c *Client) Exists(ctx context.Context, path string) (bool, error) {
	st, err := c.ExistsStat(ctx, path)
	return st != nil, err
}

// ExistsStat returns path's Stat, or nil (and no error) when it does not
// exist.
func (c *Client) ExistsStat(ctx context.Context, path string) (*Stat, error) {
	st, err := c.exists(ctx, path, false, nil)
	return st, err
}

// exists, get and getChildren make the read; watch asks the server for a
// one-shot watch, and onReply (nil for none) runs when the reply is read.
func (c *Client) exists(ctx context.Context, path string, watch bool, onReply func(*request)) (*Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, opError("exists", path, err)
	}
	resp := &proto.StatResponse{}
	req := &proto.PathWatchRequest{Op: proto.OpExists, Path: sp, Watch: watch}
	zxid, err := c.rpcZxid(ctx, "exists", path, true, req, resp, onReply)
	if errors.Is(err, ErrNoNode) {
		c.stats.forgetMissing(sp, zxid)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st := newStat(&resp.Stat)
	c.stats.put(sp, st)
	return st, nil
}

// Get returns path's data and Stat.
func (c *Client) Get(ctx context.Context, path string) ([]byte, *Stat, error) {
	return c.get(ctx, path, false, nil)
}

// GetData returns path's data.
func (c *Client) GetData(ctx context.Context, path string) ([]byte, error) {
	data, _, err := c.get(ctx, path, false, nil)
	return data, err
}

func (c *Client) get(ctx context.Context, path string, watch bool, onReply func(*request)) ([]byte, *Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, opError("get", path, err)
	}
	// One allocation holds both records.
	call := &struct {
		req  proto.PathWatchRequest
		resp proto.GetDataResponse
	}{req: proto.PathWatchRequest{Op: proto.OpGetData, Path: sp, Watch: watch}}
	if zxid, err := c.rpcZxid(ctx, "get", path, true, &call.req, &call.resp, onReply); err != nil {
		c.stats.forgetIfMissing(sp, zxid, err)
		return nil, nil, err
	}
	st := newStat(&call.resp.Stat)
	c.stats.put(sp, st)
	data := call.resp.Data
	if data == nil {
		data = []byte{}
	}
	return data, st, nil
}

// GetChildren returns the names of path's children, in no particular order.
func (c *Client) GetChildren(ctx context.Context, path string) ([]string, error) {
	children, _, err := c.getChildren(ctx, path, false, nil)
	return children, err
}

// GetChildrenStat returns the names of path's children and path's Stat (the
// getChildren2 request).
func (c *Client) GetChildrenStat(ctx context.Context, path string) ([]string, *Stat, error) {
	return c.getChildren(ctx, path, false, nil)
}

func (c *Client) getChildren(ctx context.Context, path string, watch bool, onReply func(*request)) ([]string, *Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, opError("getChildren", path, err)
	}
	resp := &proto.Children2Response{}
	req := &proto.PathWatchRequest{Op: proto.OpGetChildren2, Path: sp, Watch: watch}
	if zxid, err := c.rpcZxid(ctx, "getChildren", path, true, req, resp, onReply); err != nil {
		c.stats.forgetIfMissing(sp, zxid, err)
		return nil, nil, err
	}
	st := newStat(&resp.Stat)
	c.stats.put(sp, st)
	children := resp.Children
	if children == nil {
		children = []string{}
	}
	return children, st, nil
}

// GetACL returns path's ACL and Stat.
func (c *Client) GetACL(ctx context.Context, path string) ([]ACL, *Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, opError("getACL", path, err)
	}
	resp := &proto.GetACLResponse{}
	if zxid, err := c.rpcZxid(ctx, "getACL", path, true, &proto.PathRequest{Op: proto.OpGetACL, Path: sp}, resp, nil); err != nil {
		c.stats.forgetIfMissing(sp, zxid, err)
		return nil, nil, err
	}
	st := newStat(&resp.Stat)
	c.stats.put(sp, st)
	return fromProtoACL(resp.ACL), st, nil
}

// Sync makes the connected server catch up with the leader on path, so a
// read after it sees every write committed before it. The leader itself
// answers a Sync at once, as it does a read, and may apply a committed
// write a moment after another server has applied it and answered its
// writer: a client on the leader can then still miss a write answered
// elsewhere just before its Sync. CatchUp holds there too, at the cost of
// a write.
func (c *Client) Sync(ctx context.Context, path string) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("sync", path, err)
	}
	return c.rpc(ctx, "sync", path, true, &proto.PathRequest{Op: proto.OpSync, Path: sp}, &proto.PathResponse{}, nil)
}

// GetEphemerals lists the session's ephemeral nodes whose paths start with
// prefix ("/" for all), relative to the chroot. The prefix is matched as a
// string, as the server does: "/a" lists "/a", "/a/b" and "/ab". Nodes
// outside the chroot are never listed.
func (c *Client) GetEphemerals(ctx context.Context, prefix string) ([]string, error) {
	sp, err := c.serverPath(prefix)
	if err != nil {
		return nil, opError("getEphemerals", prefix, err)
	}
	resp := &proto.ChildrenResponse{}
	if err := c.rpc(ctx, "getEphemerals", prefix, true, &proto.PathRequest{Op: proto.OpGetEphemerals, Path: sp}, resp, nil); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(resp.Children))
	for _, p := range resp.Children {
		// The server matches the chroot as a string prefix too, so the
		// chroot "/app" would list "/apple/x".
		if c.root.holds(p) {
			out = append(out, c.root.fromServer(p))
		}
	}
	return out, nil
}

// GetAllChildrenNumber counts every descendant of path.
func (c *Client) GetAllChildrenNumber(ctx context.Context, path string) (int, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return 0, opError("getAllChildrenNumber", path, err)
	}
	resp := &proto.CountResponse{}
	if err := c.rpc(ctx, "getAllChildrenNumber", path, true, &proto.PathRequest{Op: proto.OpGetAllChildrenNumber, Path: sp}, resp, nil); err != nil {
		return 0, err
	}
	return int(resp.Count), nil
}

// ClientInfo is one identity the server associates with the session.
type ClientInfo struct {
	AuthScheme string // the scheme that authenticated the identity, as "digest" or "ip"
	User       string // the identity, as the server names it
}

// WhoAmI lists the session's identities. Servers before 3.7 do not know
// the request: the call then fails with ErrUnimplemented, and the server
// closes the connection (see "Older servers" in the package comment).
func (c *Client) WhoAmI(ctx context.Context) ([]ClientInfo, error) {
	resp := &proto.WhoAmIResponse{}
	err := c.rpc(ctx, "whoAmI", "", true, &proto.EmptyRequest{Op: proto.OpWhoAmI}, resp, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ClientInfo, len(resp.Infos))
	for i, in := range resp.Infos {
		out[i] = ClientInfo{AuthScheme: in.AuthScheme, User: in.User}
	}
	return out, nil
}
