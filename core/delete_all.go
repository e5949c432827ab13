package core

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/zkit-go/zkit/core/proto"
)

// deleteAllBatch is how many requests DeleteAll sends in one step: the
// listings of that many nodes, or the deletes of that many.
const deleteAllBatch = 256

// systemTree is the server's own subtree, which DeleteAll("/") leaves
// alone when there is no chroot: the server refuses to delete it.
const systemTree = "/zookeeper"

// DeleteAll removes path and everything below it; for "/" it removes
// everything below the root (the chroot node, under a chroot), and the
// server's own /zookeeper subtree stays. A path that does not exist is no
// error (the work is done), nodes that vanish on the way are ignored, and
// nodes created meanwhile below path are removed too.
//
// It walks the tree a level at a time and deletes the deepest nodes first,
// with up to 256 requests pipelined in each round trip, so a tree of n
// nodes and depth d takes about d + 2n/256 round trips rather than 2n. The
// server applies a session's requests in order, so a node's delete follows
// its children's. Every request is safe to repeat: after a connection
// loss, those whose replies never came go again.
//
// It is not atomic: if it fails (ErrNoAuth, say), what it deleted before
// stays deleted. The error names the step and the node that failed.
// DeleteAll("/zookeeper") without a chroot fails with ErrBadArguments, as
// the server refuses to delete its own nodes.
func (c *Client) DeleteAll(ctx context.Context, path string) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("deleteAll", path, err)
	}
	for tries := 0; ; tries++ {
		nodes, err := c.listTree(ctx, sp)
		if err != nil || len(nodes) == 0 {
			return err
		}
		if path == "/" {
			nodes = nodes[1:] // the root stays
		}
		err = c.deleteNodes(ctx, nodes)
		// A node created below one being deleted leaves it not empty:
		// walk again, for a while.
		if err == nil || !errors.Is(err, ErrNotEmpty) || tries >= 10 {
			return err
		}
	}
}

// listTree returns the server path sp and every node below it, parents
// before children (level by level), or nothing when sp does not exist.
func (c *Client) listTree(ctx context.Context, sp string) ([]string, error) {
	tree := []string{sp}
	for level := tree; len(level) > 0; {
		var next []string
		for start := 0; start < len(level); start += deleteAllBatch {
			chunk := level[start:min(start+deleteAllBatch, len(level))]
			resps, _, errs := c.batchPerPath(ctx, chunk, func(p string) (proto.Request, proto.Response) {
				return &proto.PathWatchRequest{Op: proto.OpGetChildren, Path: p}, &proto.ChildrenResponse{}
			})
			for i, p := range chunk {
				switch err := errs[i]; {
				case err == nil:
					for _, name := range resps[i].(*proto.ChildrenResponse).Children {
						if child := joinPath(p, name); child != systemTree {
							next = append(next, child)
						}
					}
				case errors.Is(err, ErrNoNode):
					if p == sp {
						return nil, nil
					}
					// Gone meanwhile: its delete will find nothing.
				default:
					return nil, opError("getChildren", c.root.fromServer(p), err)
				}
			}
		}
		tree = append(tree, next...)
		level = next
	}
	return tree, nil
}

// deleteNodes deletes the server paths in nodes, listed parents before
// children, from the last to the first, at any version. Nodes already gone
// count as deleted. A node that is not empty (a child came meanwhile) does
// not stop the others; ErrNotEmpty is then returned at the end. Any other
// failure stops it after the batch it came in.
//
// Every node found gone leaves the stat cache, as after Delete: a delete
// whose reply was lost finds its own work done when it goes again.
func (c *Client) deleteNodes(ctx context.Context, nodes []string) error {
	deepestFirst := slices.Clone(nodes)
	slices.Reverse(deepestFirst)
	var failed, notEmpty error
	for start := 0; start < len(deepestFirst) && failed == nil; start += deleteAllBatch {
		chunk := deepestFirst[start:min(start+deleteAllBatch, len(deepestFirst))]
		_, zxids, errs := c.batchPerPath(ctx, chunk, func(p string) (proto.Request, proto.Response) {
			return &proto.DeleteRequest{Path: p, Version: -1}, &proto.EmptyResponse{}
		})
		for i, err := range errs {
			p := chunk[i]
			switch {
			case err == nil, errors.Is(err, ErrNoNode):
				// A NoNode reply's zxid is at least that of the delete
				// that removed the node.
				c.stats.forget(p, zxids[i])
			case errors.Is(err, ErrNotEmpty):
				if notEmpty == nil {
					notEmpty = opError("delete", c.root.fromServer(p), err)
				}
			default:
				if failed == nil {
					failed = opError("delete", c.root.fromServer(p), err)
				}
			}
		}
	}
	if failed != nil {
		return failed
	}
	return notEmpty
}

// batchPerPath sends one request per path, made by build, in one batch
// (batchRPC), and returns each one's reply and outcome.
func (c *Client) batchPerPath(ctx context.Context, paths []string, build func(p string) (proto.Request, proto.Response)) ([]proto.Response, []int64, []error) {
	reqs := make([]proto.Request, len(paths))
	resps := make([]proto.Response, len(paths))
	for i, p := range paths {
		reqs[i], resps[i] = build(p)
	}
	zxids, errs := c.batchRPC(ctx, reqs, resps)
	return resps, zxids, errs
}

func joinPath(parent, child string) string {
	if strings.HasSuffix(parent, "/") {
		return parent + child
	}
	return parent + "/" + child
}
