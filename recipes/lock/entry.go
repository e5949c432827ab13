package lock

import (
	"context"
	"errors"
	"slices"

	"github.com/zkit-go/zkit/core"
)

// entry is one contender's node in a queue, from its creation until it
// holds its turn or leaves the queue.
type entry struct {
	c    *core.Client
	dir  string
	sch  *scheme
	sess *core.Session // the session the acquisition is bound to

	prefix string // identifies the node among its siblings
	name   string // the node's name, once it is known to exist
	owned  bool   // the node was made in sess, so it goes when sess ends
	czxid  int64  // the node's creation zxid, once known: the fencing token

	spare *spareWatch // the locker's watch kept from a wait given up (nil: none)
}

func newEntry(c *core.Client, dir string, sch *scheme, sess *core.Session, spare *spareWatch) *entry {
	return &entry{c: c, dir: dir, sch: sch, sess: sess, spare: spare}
}

func (e *entry) path() string { return joinPath(e.dir, e.name) }

// join creates the contender's EPHEMERAL_SEQUENTIAL node, creating missing
// parents as containers, and lists the directory, in one round trip.
//
// The node's name carries a random prefix (Curator's protected mode): when
// the create's reply is lost, join finds the node by it, checks that the
// session owns it, and creates again only when it is not there, so a retry
// leaves neither a duplicate nor an orphan. When ctx ends, or the session
// does, while the create may have happened, join removes the node.
func (e *entry) join(ctx context.Context, data []byte) ([]string, error) {
	name, prefix := e.sch.newName()
	e.prefix = prefix
	for {
		created, st, children, err := e.c.CreateAndListStat(ctx, joinPath(e.dir, name), data, e.dir,
			core.Ephemeral(), core.Sequential(), core.WithContainerParents())
		if err == nil {
			e.name = baseName(created)
			e.czxid = st.CreatedZxid
			if serr := e.sess.Err(); serr != nil {
				// The create ran in a later session.
				e.abandon(ctx)
				return nil, lostError(serr)
			}
			e.owned = true
			return children, nil
		}
		if created != "" {
			// The node was made, but the listing failed: leave the queue.
			e.name, e.czxid, e.owned = baseName(created), st.CreatedZxid, true
			e.abandon(ctx)
			return nil, err
		}
		if !mayHaveCreated(err) {
			return nil, err
		}
		if ctx.Err() != nil || e.sess.Err() != nil || errors.Is(err, core.ErrClosed) {
			e.abandon(ctx)
			if serr := e.sess.Err(); serr != nil && ctx.Err() == nil {
				return nil, lostError(serr)
			}
			return nil, err
		}
		children, found, err := e.find(ctx)
		if err != nil {
			e.abandon(ctx)
			return nil, err
		}
		if found {
			return children, nil
		}
	}
}

// find looks for the node of a create whose reply was lost. It makes the
// server catch up first (core's CatchUp, which a leader orders where it
// answers a Sync at once): after a reconnect to another server, that
// server may not have applied yet a create that the lost connection
// carried.
func (e *entry) find(ctx context.Context) (children []string, found bool, err error) {
	if err := e.c.CatchUp(ctx, e.dir); err != nil {
		return nil, false, err
	}
	children, err = e.c.GetChildren(ctx, e.dir)
	if errors.Is(err, core.ErrNoNode) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	name := findPrefixed(children, e.prefix)
	if name == "" {
		return children, false, nil
	}
	st, err := e.c.ExistsStat(ctx, joinPath(e.dir, name))
	switch {
	case err != nil:
		return nil, false, err
	case st == nil:
		// Deleted already: by someone else, or with an earlier session.
		return children, false, nil
	case st.EphemeralOwner != e.sess.ID() || e.sess.Err() != nil:
		// Made in another session: Curator's fix for adopting a node of an
		// expired session.
		e.name = name
		return nil, false, lostError(e.sess.Err())
	}
	e.name, e.owned, e.czxid = name, true, st.CreatedZxid
	return children, true, nil
}

// mayHaveCreated reports whether a failed create may still have made its
// node: the connection was lost with the request in flight, ctx ended, or
// the reply could not be read (a reply core cannot decode fails its
// request with ErrMarshallingError, and the server may have applied it).
func mayHaveCreated(err error) bool {
	for _, definite := range []error{core.ErrInvalidPath, core.ErrInvalidArgument, core.ErrDataTooLarge, core.ErrNotStarted, core.ErrAuthFailed} {
		if errors.Is(err, definite) {
			return false
		}
	}
	var ze *core.Error
	if errors.As(err, &ze) {
		return ze.Code == core.CodeConnectionLoss || ze.Code == core.CodeOperationTimeout || ze.Code == core.CodeMarshallingError
	}
	return true
}

// abandon takes the contender out of the queue after a failure: it deletes
// the node, found by its prefix when its name is unknown. ctx may have
// ended, so abandon works under a context of its own, bounded by the
// session timeout; when that ends before the node is confirmed gone, the
// work goes on in the background, so no orphan node is left to block the
// queue. A node made in the session, once it has ended, needs nothing: it
// went with the session.
func (e *entry) abandon(ctx context.Context) {
	// The acquisition's calls are tied to its session; the clean-up is
	// not, as a node whose create's reply was lost may be in a later one.
	ctx = core.WithSession(ctx, nil)
	c, dir, prefix := e.c, e.dir, e.prefix
	if e.sess.Err() != nil {
		if !e.owned {
			// A create resent after the session ended may have made the
			// node in a later session. Look for it without holding up the
			// caller, who is told of the loss at once.
			go func() { _ = removePrefixed(context.WithoutCancel(ctx), c, dir, prefix) }()
		}
		return
	}
	cctx, cancel := cleanupContext(ctx, e.sess)
	defer cancel()
	if e.name != "" {
		var owner *core.Session
		if e.owned {
			owner = e.sess
		}
		_ = removeNode(cctx, e.c, e.path(), owner)
		return
	}
	_ = finishLater(cctx, func(ctx context.Context) error { return removePrefixed(ctx, c, dir, prefix) })
}

// blockers returns the contenders listed in children that come before this
// one and keep it waiting, in queue order. ok is false when this
// contender's own node is not among children.
func (e *entry) blockers(children []string) (blockers []contender, ok bool) {
	all := contenders(children, e.sch.markers)
	i := slices.IndexFunc(all, func(c contender) bool { return c.name == e.name })
	if i < 0 {
		return nil, false
	}
	for _, c := range all[:i] {
		if e.sch.blockedBy(c.role) {
			blockers = append(blockers, c)
		}
	}
	return blockers, true
}
