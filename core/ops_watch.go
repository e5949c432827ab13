package core

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zkit-go/zkit/core/proto"
)

// registerOnReply returns a reply hook, run by whoever reads the reply, that
// registers ch under the kind the reply implies before any later frame is
// read, so no event can slip between the reply and the registration.
func (c *Client) registerOnReply(sp string, ch chan Event, kindFor func(err error) (oneShotKind, bool)) func(*request) {
	return func(r *request) {
		if kind, ok := kindFor(r.err); ok {
			c.watches.addOneShot(watchKey{path: sp, kind: kind}, ch)
		}
	}
}

// ExistsW is ExistsStat that also leaves a watch: the channel receives one
// event (NodeCreated if the node is missing; NodeDataChanged or
// NodeDeleted if it exists) and then closes.
func (c *Client) ExistsW(ctx context.Context, path string) (*Stat, <-chan Event, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, opError("exists", path, err)
	}
	ch := make(chan Event, 1)
	hook := c.registerOnReply(sp, ch, func(err error) (oneShotKind, bool) {
		switch {
		case err == nil:
			return watchKindData, true
		case errors.Is(err, ErrNoNode):
			return watchKindExist, true
		}
		return 0, false
	})
	st, err := c.exists(ctx, path, hook)
	if err != nil {
		return nil, nil, err
	}
	return st, ch, nil
}

// GetW is Get that also leaves a data watch: the channel receives one
// NodeDataChanged or NodeDeleted event and then closes.
func (c *Client) GetW(ctx context.Context, path string) ([]byte, *Stat, <-chan Event, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, nil, opError("get", path, err)
	}
	ch := make(chan Event, 1)
	hook := c.registerOnReply(sp, ch, func(err error) (oneShotKind, bool) { return watchKindData, err == nil })
	data, st, err := c.get(ctx, path, hook)
	if err != nil {
		return nil, nil, nil, err
	}
	return data, st, ch, nil
}

// GetChildrenW is GetChildrenStat that also leaves a child watch: the
// channel receives one NodeChildrenChanged or NodeDeleted event and then
// closes.
func (c *Client) GetChildrenW(ctx context.Context, path string) ([]string, *Stat, <-chan Event, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, nil, opError("getChildren", path, err)
	}
	ch := make(chan Event, 1)
	hook := c.registerOnReply(sp, ch, func(err error) (oneShotKind, bool) { return watchKindChild, err == nil })
	children, st, err := c.getChildren(ctx, path, hook)
	if err != nil {
		return nil, nil, nil, err
	}
	return children, st, ch, nil
}

// AddWatch sets a persistent watch on path (the addWatch request,
// ZooKeeper 3.6+). It stays until Close, surviving reconnects; only the
// end of the session ends it.
func (c *Client) AddWatch(ctx context.Context, path string, mode AddWatchMode) (*Watcher, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, opError("addWatch", path, err)
	}
	if mode != WatchPersistent && mode != WatchPersistentRecursive {
		return nil, opError("addWatch", path, fmt.Errorf("%w: watch mode %d", ErrInvalidArgument, mode))
	}
	w := newWatcher(c, path, sp, mode)
	// If the caller gives up (ctx) while the request is out, the server may
	// still set the watch: whichever side comes second takes it off again,
	// so nothing holds events for nobody.
	var (
		mu                    sync.Mutex
		registered, abandoned bool
	)
	hook := func(r *request) {
		if r.err != nil {
			return
		}
		c.watches.addPersistent(w)
		mu.Lock()
		registered = true
		late := abandoned
		mu.Unlock()
		if late {
			// The reader must not block: remove it from a goroutine of the
			// client's (the client's run loop is alive while anyone reads
			// its connection).
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				_ = w.Close()
			}()
		}
	}
	req := &proto.AddWatchRequest{Path: sp, Mode: int32(mode)}
	if err := c.rpc(ctx, "addWatch", path, true, req, &proto.EmptyResponse{}, hook); err != nil {
		mu.Lock()
		abandoned = true
		set := registered
		mu.Unlock()
		if set {
			_ = w.Close()
		}
		return nil, err
	}
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.wg.Add(1)
	}
	c.mu.Unlock()
	if closed {
		c.watches.removePersistent(w)
		return nil, opError("addWatch", path, ErrClosed)
	}
	go w.pump(c.stopCh)
	return w, nil
}

// RemoveWatches removes the session's watches of type t on path, on the
// server and in the client; their channels receive EventNotWatching with
// ErrWatchRemoved. It fails with ErrNoWatcher when there is none.
func (c *Client) RemoveWatches(ctx context.Context, path string, t WatcherType) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("removeWatches", path, err)
	}
	if t != WatchChildren && t != WatchData && t != WatchAny {
		return opError("removeWatches", path, fmt.Errorf("%w: watcher type %d", ErrInvalidArgument, t))
	}
	if err := c.removeServerWatch(ctx, path, sp, int32(t)); err != nil {
		return err
	}
	c.watches.removeLocal(sp, t)
	return nil
}

// RemoveAllWatches removes every watch of the session on path.
func (c *Client) RemoveAllWatches(ctx context.Context, path string) error {
	return c.RemoveWatches(ctx, path, WatchAny)
}

// CheckWatches reports whether the server holds a watch of type t on path
// for this session (the checkWatches request): nil if so, ErrNoWatcher if
// not.
func (c *Client) CheckWatches(ctx context.Context, path string, t WatcherType) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("checkWatches", path, err)
	}
	req := &proto.RemoveWatchesRequest{Op: proto.OpCheckWatches, Path: sp, Type: int32(t)}
	return c.rpc(ctx, "checkWatches", path, true, req, &proto.EmptyResponse{}, nil)
}

func (c *Client) removeServerWatch(ctx context.Context, path, sp string, t int32) error {
	req := &proto.RemoveWatchesRequest{Op: proto.OpRemoveWatches, Path: sp, Type: t}
	return c.rpc(ctx, "removeWatches", path, true, req, &proto.EmptyResponse{}, nil)
}
