package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/zkit-go/zkit/core/proto"
)

// oneShot prepares a read that leaves a one-shot watch of one of kinds on
// the server path sp: the reply decides which (kindFor). It reports whether
// the read must ask the server for the watch, and returns the reply hook,
// run by whoever reads the reply, that registers ch before any later frame
// is read, so no event can slip between the reply and the registration.
//
// ZooKeeper up to 3.8 keeps one watch mode per session and path: a one-shot
// watch set on a path that has a persistent watch of the session makes
// that one one-shot too, and it ends at its next event. So when a
// persistent watcher of the client on sp brings every event the one-shot
// watch waits for, the read asks the server for nothing, and the client
// fires the one-shot watch from the persistent watcher's events. Should
// that watcher be gone by the time the reply is read, the hook sets the
// watch on the server after all, relative to the reply's zxid, so a change
// made since fires it at once.
//
// When a persistent watcher appears on sp while the read is in flight, the
// server's one-shot watch has ended it there; the hook then sets it again
// and reports it in rearmed, for the caller to wait for (awaitRearm). A
// change in that round trip fires the server's watch once, for both; a
// second one is missed. Such a read counts as one that overrides the
// path's watch until its hook has run, so that an AddWatch on sp answered
// meanwhile waits for the watch to be set again (see AddWatch). The
// caller calls done with the read's error once the read has returned: it
// ends the count for a read that failed without a reply, unless the
// request is still out after the caller gave up, whose hook ends it when
// the reply comes or the request is lost.
func (c *Client) oneShot(sp string, ch chan Event, kindFor func(err error) (oneShotKind, bool)) (watch bool, hook func(*request), rearmed *atomic.Bool, done func(err error)) {
	watch = c.watches.startOverride(sp)
	rearmed = new(atomic.Bool)
	end := func() {}
	if watch {
		end = c.watches.overrideEnder(sp)
	}
	hook = func(r *request) {
		kind, ok := kindFor(r.err)
		if ok && c.watches.addOneShotReplied(watchKey{path: sp, kind: kind}, ch, watch, r.zxid, c.sendRearm) {
			rearmed.Store(true)
		}
		end()
	}
	return watch, hook, rearmed, func(err error) { endUnlessOut(end, err) }
}

// endUnlessOut calls end, which ends an override (see startOverride),
// once the call that counted it has returned with err, unless its request
// is still out: the call's reply hook ends it then, as the reply comes or
// the request is lost (see request.abandon).
func endUnlessOut(end func(), err error) {
	if !isStillOut(err) {
		end()
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
	watch, hook, rearmed, done := c.oneShot(sp, ch, func(err error) (oneShotKind, bool) {
		switch {
		case err == nil:
			return watchKindData, true
		case errors.Is(err, ErrNoNode):
			return watchKindExist, true
		}
		return 0, false
	})
	st, err := c.exists(ctx, path, watch, hook)
	done(err)
	if err != nil {
		return nil, nil, err
	}
	c.awaitRearm(ctx, rearmed, sp)
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
	watch, hook, rearmed, done := c.oneShot(sp, ch, func(err error) (oneShotKind, bool) { return watchKindData, err == nil })
	data, st, err := c.get(ctx, path, watch, hook)
	done(err)
	if err != nil {
		return nil, nil, nil, err
	}
	c.awaitRearm(ctx, rearmed, sp)
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
	watch, hook, rearmed, done := c.oneShot(sp, ch, func(err error) (oneShotKind, bool) { return watchKindChild, err == nil })
	children, st, err := c.getChildren(ctx, path, watch, hook)
	done(err)
	if err != nil {
		return nil, nil, nil, err
	}
	c.awaitRearm(ctx, rearmed, sp)
	return children, st, ch, nil
}

// AddWatch sets a persistent watch on path (the addWatch request,
// ZooKeeper 3.6+). It stays until Close, surviving reconnects; only the
// end of the session ends it. AddWatch returns once the watch is in effect
// on the server; if ctx ends first, it returns ctx's error and leaves no
// watcher behind.
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
		overridden            <-chan struct{}
	)
	sendMode := mode
	if mode == WatchPersistent && c.watches.wantsRecursive(sp) {
		// ZooKeeper up to 3.8 keeps one mode per session and path: the
		// recursive watch there brings this watcher's events too (see
		// watchRegistry.dispatch).
		sendMode = WatchPersistentRecursive
	}
	if mode == WatchPersistentRecursive {
		c.watches.comingRecursive(w)
	}
	var rearmed atomic.Bool
	hook := func(r *request) {
		if r.err != nil {
			return
		}
		// A plain addWatch turns a recursive watch of the session on the
		// path plain, when a recursive watcher registered there while it
		// was out: set the recursive one again, which brings the plain
		// one's events.
		ok, after := c.watches.addPersistentRearm(w, sendMode, r.zxid, c.sendRearm)
		if ok {
			rearmed.Store(true)
		}
		mu.Lock()
		overridden = after
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
	req := &proto.AddWatchRequest{Path: sp, Mode: int32(sendMode)}
	if err := c.rpc(ctx, "addWatch", path, true, req, &proto.EmptyResponse{}, hook); err != nil {
		mu.Lock()
		abandoned = true
		set := registered
		mu.Unlock()
		if set {
			// Its removal may wait for a stalled connection: the caller,
			// whose call has failed, does not.
			c.background(func() { _ = w.Close() })
		} else if c.watches.notComing(w) {
			// Plain watchers there may have been set recursive for it. The
			// frames that set them plain again are queued before anything
			// the caller sends next; waiting for the server to apply them
			// is bounded by the caller's ctx, which may have ended.
			c.rearmPlain(ctx, sp)
		}
		return nil, err
	}
	if !c.hold() {
		c.watches.forget(w)
		return nil, opError("addWatch", path, ErrClosed)
	}
	go w.pump(c.stopCh)
	mu.Lock()
	after := overridden
	mu.Unlock()
	if after != nil {
		// A removal or a one-shot read sent after the addWatch took the
		// watch off the server or made it one-shot, and its reply sets it
		// again: wait for that, then for the server to apply it.
		awaitOverrides(ctx, after)
		rearmed.Store(true)
	}
	if err := c.awaitRearm(ctx, &rearmed, sp); err != nil {
		// The caller gave up before the server had the watch again: a
		// watcher returned now could miss the changes made right after.
		c.background(func() { _ = w.Close() })
		return nil, opError("addWatch", path, err)
	}
	return w, nil
}

// awaitOverrides waits until overridden closes or ctx ends.
func awaitOverrides(ctx context.Context, overridden <-chan struct{}) {
	select {
	case <-overridden:
	case <-ctx.Done():
	}
}

// RemoveWatches removes the session's watches of type t on path, on the
// server and in the client; their channels receive EventNotWatching with
// ErrWatchRemoved. It fails with ErrNoWatcher when there is none.
//
// Persistent watchers on path end only with WatchAny. The server keeps a
// persistent watch in its data and child tables alike, so WatchData or
// WatchChildren would take it off there too, and the watcher would miss
// the changes made until the client set it again. While a persistent
// watcher holds path, the server's watch there is that one alone (the
// client fires its one-shot watches on path from its events), so those
// two remove the client's one-shot watches and send nothing. One-shot
// watches that a recursive watcher above path serves in the client, which
// the server does not hold on path, are removed too, when the server
// answers that it holds none there.
func (c *Client) RemoveWatches(ctx context.Context, path string, t WatcherType) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("removeWatches", path, err)
	}
	if t != WatchChildren && t != WatchData && t != WatchAny {
		return opError("removeWatches", path, fmt.Errorf("%w: watcher type %d", ErrInvalidArgument, t))
	}
	if err := ctx.Err(); err != nil {
		return opError("removeWatches", path, err)
	}
	done := func() {}
	if t != WatchAny {
		if c.watches.removeOneShotsIfHeld(sp, t) {
			return nil
		}
		// Counted as overriding the path's watch until the reply is read,
		// so an AddWatch on path answered before it waits for the watch to
		// be set again (see startOverride).
		done = c.watches.overrideEnder(sp)
	}
	// The client's watches go when the reply is read, so in the order the
	// server applied the removal: a watch set by a reply read before it is
	// one the server removed, one set by a later reply is not. The caller
	// may have given up by then.
	var rearmed, servedHere atomic.Bool
	hook := func(r *request) {
		defer done()
		if r.err != nil {
			// The server holds no watch on path; the one-shot watches the
			// client holds there are its own (see holdsOneShotsOf).
			if errors.Is(r.err, ErrNoWatcher) && c.watches.removeOwnOneShots(sp, t) {
				servedHere.Store(true)
			}
			return
		}
		c.watches.removeLocal(sp, t, r.zxid, c.sendRearm)
		if t != WatchAny && c.watches.rearmPath(sp, r.zxid, false, c.sendRearm) {
			rearmed.Store(true)
		}
	}
	req := &proto.RemoveWatchesRequest{Op: proto.OpRemoveWatches, Path: sp, Type: int32(t)}
	err = c.rpc(ctx, "removeWatches", path, true, req, &proto.EmptyResponse{}, hook)
	endUnlessOut(done, err)
	if errors.Is(err, ErrNoWatcher) && servedHere.Load() {
		return nil
	}
	if err != nil {
		return err
	}
	c.awaitRearm(ctx, &rearmed, sp)
	return nil
}

// RemoveAllWatches removes every watch of the session on path.
func (c *Client) RemoveAllWatches(ctx context.Context, path string) error {
	return c.RemoveWatches(ctx, path, WatchAny)
}

// CheckWatches reports whether the session holds a watch of type t on
// path (the checkWatches request): nil if so, ErrNoWatcher if not. A
// one-shot watch that a recursive watcher above path serves in the client
// counts, although the server does not hold it on path.
func (c *Client) CheckWatches(ctx context.Context, path string, t WatcherType) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("checkWatches", path, err)
	}
	if t != WatchChildren && t != WatchData && t != WatchAny {
		return opError("checkWatches", path, fmt.Errorf("%w: watcher type %d", ErrInvalidArgument, t))
	}
	req := &proto.RemoveWatchesRequest{Op: proto.OpCheckWatches, Path: sp, Type: int32(t)}
	err = c.rpc(ctx, "checkWatches", path, true, req, &proto.EmptyResponse{}, nil)
	if errors.Is(err, ErrNoWatcher) && c.watches.holdsOneShotsOf(sp, t) {
		return nil
	}
	return err
}
