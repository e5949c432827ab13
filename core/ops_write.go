package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/zkit-go/zkit/core/proto"
)

func errIsNoNode(err error) bool { return errors.Is(err, ErrNoNode) }

// Create makes a node at path with data and returns its path (with the
// sequence suffix of a sequential node), relative to the chroot. It
// retries as CreateStat says.
func (c *Client) Create(ctx context.Context, path string, data []byte, opts ...CreateOption) (string, error) {
	p, _, err := c.create(ctx, path, data, false, opts)
	return p, err
}

// CreateStat is Create that also returns the new node's Stat. A node that
// is neither a container nor a TTL node goes to the server as create2,
// whose reply carries the Stat; Create sends the plain create request,
// whose reply does not. Containers and TTL nodes have requests of their
// own, whose replies carry a Stat, whichever method sends them.
//
// Retries after a connection loss: a protected create finds its node by
// its GUID; a plain sequential create is never retried, since it could make
// a second node; any other create is retried, and a retry that finds the
// node reports ErrNodeExists unless it is an ephemeral node of this session.
func (c *Client) CreateStat(ctx context.Context, path string, data []byte, opts ...CreateOption) (string, *Stat, error) {
	return c.create(ctx, path, data, true, opts)
}

func (c *Client) create(ctx context.Context, path string, data []byte, withStat bool, opts []CreateOption) (string, *Stat, error) {
	call := newCreateCall(withStat, opts)
	o := &call.o
	if err := c.checkCreate(path, data, o); err != nil {
		return "", nil, opError("create", path, err)
	}
	sp := c.root.toServer(path)
	for tries := 0; ; tries++ {
		created, st, zxid, err := c.createOnce(ctx, sp, data, call)
		if err == nil {
			if !o.sequential {
				// A sequential node's name is new every time: caching it
				// would only push out paths that are read again.
				c.stats.putNew(created, zxid, st)
			}
			return c.root.fromServer(created), st, nil
		}
		if !errors.Is(err, ErrNoNode) || !o.parents || tries >= 5 {
			return "", nil, opError("create", path, err)
		}
		if err := c.ensureParents(ctx, sp, o.parentContainers, o.parentACL); err != nil {
			return "", nil, opError("create", path, err)
		}
	}
}

func (c *Client) checkCreate(path string, data []byte, o *createOptions) error {
	if err := validatePath(path, o.sequential); err != nil {
		return err
	}
	if path == "/" && (!o.sequential || c.root != "") {
		// A sequential name at "/" is a child of the root (/0000000001).
		// Under a chroot it would be the chroot's sibling (/app0000000001),
		// outside the client's tree.
		return fmt.Errorf("%w: cannot create the root", ErrInvalidPath)
	}
	if err := o.validate(); err != nil {
		return err
	}
	if len(data) > c.cfg.maxDataSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrDataTooLarge, len(data), c.cfg.maxDataSize)
	}
	if o.acl == nil {
		// Validated by WithDefaultACL, converted by NewClient.
		o.acl, o.wireACL = c.cfg.defaultACL, c.cfg.defaultWireACL
		return nil
	}
	return validateACL(o.acl)
}

func (c *Client) createOnce(ctx context.Context, sp string, data []byte, call *createCall) (created string, stat *Stat, zxid int64, err error) {
	o, req := &call.o, &call.req
	parent, prefix := o.fillRequest(req, sp, data)
	lost := false
	safe := !o.sequential || o.protected
	err = c.cfg.retry.run(ctx, c.waitReady, retryRule(safe), func(ctx context.Context) error {
		if lost && o.protected {
			p, st, err := c.findProtected(ctx, parent, prefix, o.ephemeral)
			if err != nil {
				return err
			}
			if p != "" {
				created, stat = p, st
				return nil
			}
		}
		resp := call.replyFor(req)
		var err error
		zxid, err = c.call(ctx, req, resp, nil, false)
		switch {
		case err == nil:
			created, stat = resp.result()
			return nil
		case lostInFlight(err):
			lost = true
		case errors.Is(err, ErrNodeExists) && lost && o.ephemeral && !o.sequential:
			st, ok, cerr := c.ownEphemeral(ctx, req.Path)
			if ok {
				created, stat = req.Path, st
				return nil
			}
			if cerr != nil {
				// Whose node it is is still unknown: a lost check goes back
				// to the policy, whose next attempt asks again.
				return afterSent(cerr)
			}
		}
		return err
	})
	c.removeOrphanIfLanded(o, parent, prefix, lost, err)
	return created, stat, zxid, err
}

// ownEphemeral reports whether path is an ephemeral node of this session.
// It returns the error of the check when it could not tell, except
// ErrNoNode: the node is gone, and the create's ErrNodeExists stands.
func (c *Client) ownEphemeral(ctx context.Context, path string) (*Stat, bool, error) {
	resp := &proto.StatResponse{}
	if _, err := c.call(ctx, &proto.PathWatchRequest{Op: proto.OpExists, Path: path}, resp, nil, false); err != nil {
		if errIsNoNode(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	sess := c.Session()
	st := newStat(&resp.Stat)
	return st, sess != nil && st.EphemeralOwner == sess.ID(), nil
}

// ensureParents creates every missing ancestor of the server path sp.
func (c *Client) ensureParents(ctx context.Context, sp string, containers bool, acl []ACL) error {
	parent := parentPath(sp)
	if parent == "" || parent == "/" {
		return nil
	}
	kind := pathNode{container: containers, acl: acl}
	return c.ensureServerPathWith(ctx, parent, kind, kind)
}

// EnsurePath creates path and its missing ancestors as persistent nodes
// (container nodes with Container) with the default ACL (or the ACL given
// with WithACL). Nodes that already exist are left alone. With
// WithParents, WithContainerParents or WithParentACL, the ancestors are
// made as those say, as for Create, and the options before apply to path
// alone. Options that make other kinds of node (Ephemeral, Sequential,
// WithTTL, Protected) are refused with ErrInvalidArgument.
func (c *Client) EnsurePath(ctx context.Context, path string, opts ...CreateOption) error {
	var o createOptions
	for _, opt := range opts {
		opt(&o)
	}
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("ensurePath", path, err)
	}
	if o.ephemeral || o.sequential || o.hasTTL || o.protected {
		return opError("ensurePath", path, fmt.Errorf("%w: the nodes of a path are persistent or containers", ErrInvalidArgument))
	}
	for _, acl := range [][]ACL{o.acl, o.parentACL} {
		if acl == nil {
			continue
		}
		if err := validateACL(acl); err != nil {
			return opError("ensurePath", path, err)
		}
	}
	last := pathNode{container: o.container, acl: o.acl}
	up := last
	if o.parents || o.parentACL != nil {
		up = pathNode{container: o.parentContainers, acl: o.parentACL}
	}
	return opError("ensurePath", path, c.ensureServerPathWith(ctx, sp, up, last))
}

func (c *Client) ensureServerPath(ctx context.Context, sp string) error {
	return c.ensureServerPathWith(ctx, sp, pathNode{}, pathNode{})
}

// pathNode says how ensureServerPathWith makes a missing node: a
// container or not, and its ACL (nil: the client's default).
type pathNode struct {
	container bool
	acl       []ACL
}

func (c *Client) createCallFor(n pathNode) *createCall {
	acl := n.acl
	if acl == nil {
		acl = c.cfg.defaultACL
	}
	return &createCall{o: createOptions{container: n.container, acl: acl}}
}

// parentWalks bounds how often ensureServerPathWith walks a path again
// after an ancestor vanished under it.
const parentWalks = 5

// ensureServerPathWith creates the missing nodes of sp, from the top: its
// ancestors as up says, and sp itself as last says. An ancestor it found
// can vanish before it creates the next node below it: an emptied
// container that the server removes at its next check, or an empty node
// that another client deletes. The create then fails with ErrNoNode, and
// the walk starts again from the top.
func (c *Client) ensureServerPathWith(ctx context.Context, sp string, up, last pathNode) error {
	upCall, lastCall := c.createCallFor(up), c.createCallFor(last)
	for walk := 1; ; walk++ {
		err := c.walkServerPath(ctx, sp, upCall, lastCall)
		if !errors.Is(err, ErrNoNode) || walk == parentWalks {
			return err
		}
	}
}

// walkServerPath creates each node of sp that does not exist, the
// ancestors as up says and sp itself as last says.
func (c *Client) walkServerPath(ctx context.Context, sp string, up, last *createCall) error {
	for i := 1; i <= len(sp); i++ {
		if i < len(sp) && sp[i] != '/' {
			continue
		}
		prefix := sp[:i]
		if prefix == "/" {
			continue
		}
		if st, err := c.existsServer(ctx, prefix); err != nil {
			return err
		} else if st != nil {
			continue
		}
		call := up
		if i == len(sp) {
			call = last
		}
		if _, _, _, err := c.createOnce(ctx, prefix, nil, call); err != nil && !errors.Is(err, ErrNodeExists) {
			return err
		}
	}
	return nil
}

func (c *Client) existsServer(ctx context.Context, sp string) (*Stat, error) {
	resp := &proto.StatResponse{}
	err := c.cfg.retry.run(ctx, c.waitReady, retryRule(true), func(ctx context.Context) error {
		_, err := c.call(ctx, &proto.PathWatchRequest{Op: proto.OpExists, Path: sp}, resp, nil, false)
		return err
	})
	if errors.Is(err, ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return newStat(&resp.Stat), nil
}

// writeVersion is the version a write option in opts chose, or else the
// one cached for sp. A chosen version below -1 is refused.
func (c *Client) writeVersion(opts []WriteOption, cached func(string) int32, sp string) (int32, error) {
	if v, given, err := givenVersion(opts); given {
		return v, err
	}
	return cached(sp), nil
}

// givenVersion returns the version opts give, and false when they give
// none and the write goes at the cached version.
func givenVersion(opts []WriteOption) (version int32, given bool, err error) {
	if len(opts) == 0 {
		// Applying options puts o on the heap: skip it when there are none.
		return 0, false, nil
	}
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.version == nil {
		return 0, false, nil
	}
	return *o.version, true, validVersion(*o.version)
}

// validVersion refuses a version the server would only answer with
// ErrBadVersion: versions count up from 0, and -1 stands for any.
func validVersion(v int32) error {
	if v < -1 {
		return fmt.Errorf("%w: version %d (versions start at 0; -1 means any)", ErrInvalidArgument, v)
	}
	return nil
}

// Delete removes path. Without options it deletes at the version in the
// stat cache (any version when path is not cached); Force deletes at any
// version and WithVersion at a given one. A retry after a connection loss
// that finds the node gone counts as success.
//
// A retry cannot tell the node the call meant from one made at its path
// since, unless the stat cache knows the node: a Delete without options,
// of a node this client has read or written in its current session and
// not pushed out of the cache since (sequential nodes it created are not
// cached, and WithStatCacheSize(0) turns the cache off). Then a retry
// that finds another node there leaves it alone and counts as success,
// the node meant being gone. Any other delete retried after a loss in
// flight deletes whatever node is there at its version.
func (c *Client) Delete(ctx context.Context, path string, opts ...WriteOption) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return opError("delete", path, err)
	}
	if path == "/" {
		return opError("delete", path, fmt.Errorf("%w: cannot delete the root", ErrInvalidPath))
	}
	version, given, err := givenVersion(opts)
	if err != nil {
		return opError("delete", path, err)
	}
	var meant int64 // the creation zxid of the node meant; 0 when unknown
	if !given {
		version, meant = c.stats.node(sp)
	}
	req := &proto.DeleteRequest{Path: sp, Version: version}
	var (
		lost bool
		zxid int64
	)
	err = c.cfg.retry.run(ctx, c.waitReady, retryRule(true), func(ctx context.Context) error {
		var err error
		if lost && meant != 0 {
			var gone bool
			if zxid, gone, err = c.meantNodeGone(ctx, sp, meant); err != nil || gone {
				return err
			}
		}
		zxid, err = c.call(ctx, req, &proto.EmptyResponse{}, nil, false)
		if lostInFlight(err) {
			lost = true
		}
		if lost && errors.Is(err, ErrNoNode) {
			return nil
		}
		return err
	})
	if err == nil && zxid != 0 {
		c.stats.forget(sp, zxid)
	}
	c.stats.forgetIfMissing(sp, zxid, err)
	return opError("delete", path, err)
}

// meantNodeGone reports whether the node made at zxid meant, which a
// delete lost in flight was for, is gone from sp: no node is there, or
// another one. With no node there, zxid is the reply's, at which the
// caller marks sp deleted in the stat cache; else it is 0, and another
// node's Stat goes into the cache.
func (c *Client) meantNodeGone(ctx context.Context, sp string, meant int64) (zxid int64, gone bool, err error) {
	resp := &proto.StatResponse{}
	zxid, err = c.call(ctx, &proto.PathWatchRequest{Op: proto.OpExists, Path: sp}, resp, nil, false)
	switch {
	case errIsNoNode(err):
		return zxid, true, nil
	case err != nil:
		return 0, false, err
	case resp.Stat.Czxid != meant:
		c.stats.put(sp, newStat(&resp.Stat))
		return 0, true, nil
	}
	return 0, false, nil
}

// Set replaces path's data if its version is version (-1 for any; below
// -1 is refused with ErrInvalidArgument) and returns the new Stat. A
// versioned set whose request was lost in flight reads the node before it
// sends the write again, and sends it only to the same node still at
// version (or, when it may not read the node, without looking): it
// counts as success when the node is now at version+1 with exactly this
// data, fails with ErrBadVersion when the same node is at version+1 with
// other data, and fails with ErrOutcomeUnknown (which matches
// ErrConnectionLoss, not ErrBadVersion) when it cannot tell: the node has
// moved on further, was made again, is gone, or cannot be read.
func (c *Client) Set(ctx context.Context, path string, data []byte, version int32) (*Stat, error) {
	sp, err := c.versionedPath(path, version)
	if err != nil {
		return nil, opError("setData", path, err)
	}
	return c.setData(ctx, path, sp, data, version)
}

// SetData replaces path's data. Without options it writes at the version
// in the stat cache (any version when path is not cached). The cache is
// the client's, shared by its goroutines: a write without options guards
// against changes this client has not seen, not against another of its
// goroutines' writes, which move the cached version on. A retry after a
// connection loss goes as Set says.
func (c *Client) SetData(ctx context.Context, path string, data []byte, opts ...WriteOption) (*Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, opError("setData", path, err)
	}
	version, err := c.writeVersion(opts, c.stats.version, sp)
	if err != nil {
		return nil, opError("setData", path, err)
	}
	return c.setData(ctx, path, sp, data, version)
}

// setData is Set and SetData at a chosen version, with path already
// turned into the server's path sp.
func (c *Client) setData(ctx context.Context, path, sp string, data []byte, version int32) (*Stat, error) {
	if len(data) > c.cfg.maxDataSize {
		return nil, opError("setData", path, fmt.Errorf("%w: %d bytes, limit %d", ErrDataTooLarge, len(data), c.cfg.maxDataSize))
	}
	req := &proto.SetDataRequest{Path: sp, Data: data, Version: version}
	since := c.lastZxid.Load()
	st, err := c.versionedWrite(ctx, req, sp, version, false, func(ctx context.Context) (*Stat, writeOutcome, error) {
		got := &proto.GetDataResponse{}
		_, err := c.call(ctx, &proto.PathWatchRequest{Op: proto.OpGetData, Path: sp}, got, nil, false)
		if err != nil {
			return nil, outcomeUnknown, err
		}
		return newStat(&got.Stat), nextVersionShows(got.Stat.Version, version, bytes.Equal(got.Data, data), got.Stat.Czxid, since, c.lastZxid.Load()), nil
	})
	if err != nil {
		return nil, opError("setData", path, err)
	}
	c.stats.put(sp, st)
	return st, nil
}

// versionedWrite sends a setData or setACL under the retry policy. After
// an attempt lost in flight, a write at a version first asks look what
// the node at sp shows, and sends the write again only when the node it
// was sent to is still at that version:
//   - exactly this write (the next version, with our content): the lost
//     attempt went through, and the call succeeds;
//   - on the node the write was sent to, another write at the next
//     version: the call fails with ErrBadVersion;
//   - anything else (a later version, a node made since, no node): the
//     lost attempt may have gone through before the node moved on, or
//     was replaced. The call fails with ErrOutcomeUnknown, which matches
//     ErrConnectionLoss and not ErrBadVersion: a caller that reads again
//     and retries on ErrBadVersion would apply its change twice.
//
// A look refused for lack of READ permission sends the write again
// unlooked; so does a write at any version. A write sent again after a
// loss and refused with ErrBadVersion, or with ErrNoAuth when lockOut says
// the write may take away the caller's own right to make it (a setACL
// that drops its ADMIN permission), looks again, since the lost attempt
// may have landed after the first look (a slower server may still apply
// it), and fails with the refusal only when the node shows that attempt
// was not applied; one that finds no node fails with ErrOutcomeUnknown.
//
// A look that never left the client costs no attempt. When a look is lost
// in flight, the write's fate is still unknown: the loss goes back to the
// policy, whose next attempt looks again. When it ends unanswered
// otherwise (ctx ends, say), the call fails with its error. A write that
// finds no node at sp takes sp out of the stat cache.
func (c *Client) versionedWrite(ctx context.Context, req proto.Request, sp string, version int32, lockOut bool, look func(context.Context) (*Stat, writeOutcome, error)) (*Stat, error) {
	resp := &proto.StatResponse{}
	lost := false
	var st *Stat
	err := c.cfg.retry.run(ctx, c.waitReady, retryRule(true), func(ctx context.Context) error {
		if lost && version >= 0 {
			got, outcome, lerr := look(ctx)
			switch {
			case isNotSent(lerr):
				// Nothing went out: the attempt costs nothing, and the
				// next one looks again once connected.
				return lerr
			case errors.Is(lerr, ErrNoAuth):
				// It cannot look: the write goes again unlooked.
			case errIsNoNode(lerr):
				return &outcomeUnknownError{found: "no node is at its path now"}
			case lerr != nil:
				return lookFailed(lerr)
			case outcome == outcomeApplied:
				st = got
				return nil
			case outcome == outcomeOverwritten:
				return sentinel(CodeBadVersion)
			case outcome != outcomeUntouched:
				return &outcomeUnknownError{found: "the node at its path has changed since in a way that does not tell whether it was applied"}
			}
		}
		zxid, err := c.call(ctx, req, resp, nil, false)
		c.stats.forgetIfMissing(sp, zxid, err)
		if err == nil {
			st = newStat(&resp.Stat)
			return nil
		}
		// An earlier attempt lost in flight may land after a look that
		// found the node untouched (a slower server may still apply it),
		// so its fate stays open until the node shows it.
		unresolved := lost
		if lostInFlight(err) {
			lost = true
		}
		refusedAfterUs := version >= 0 && errors.Is(err, ErrBadVersion) || lockOut && errors.Is(err, ErrNoAuth)
		switch {
		case unresolved && errIsNoNode(err):
			return &outcomeUnknownError{found: "its retry found no node at its path"}
		case !unresolved || !refusedAfterUs:
			return err
		}
		got, outcome, lerr := look(ctx)
		switch {
		case lerr != nil && !errIsNoNode(lerr) && !errors.Is(lerr, ErrNoAuth):
			return lookFailed(lerr)
		case lerr != nil:
		case outcome == outcomeApplied:
			st = got
			return nil
		case outcome == outcomeOverwritten, outcome == outcomeUntouched:
			return err
		}
		return &outcomeUnknownError{found: "its retry was refused (" + err.Error() + ") by a node that does not tell whether it was applied"}
	})
	return st, err
}

// lookFailed is the error of an attempt whose look at the node, after a
// write lost in flight, got no answer. A loss goes back to the policy,
// whose next attempt looks again; any other error (ctx or the session
// ended, the client closed) ends the call with it: the write's fate is
// unknown, which that error says.
func lookFailed(err error) error {
	if isLoss(err) {
		return afterSent(err)
	}
	return err
}

// writeOutcome is what a look at the node tells of a versioned write's
// attempt lost in flight.
type writeOutcome uint8

const (
	outcomeUnknown     writeOutcome = iota // it may or may not have been applied
	outcomeApplied                         // the node shows it
	outcomeOverwritten                     // another write took its place on the node it was sent to
	outcomeUntouched                       // the node it was sent to is still at the version written at
)

// nextVersionShows is the outcome of a write at version, lost in flight,
// from what the node at its path shows now: its version, whether its
// content is the write's, and made, its creation zxid. since is the
// newest zxid the client had seen before it first sent the write, and
// seen the newest it has seen now. A node made no later than since was
// there when the write reached the server, and has been since: it alone
// tells. Its version moves on by one with each write, so at version+1
// with other content another write took this one's place, and at version
// nothing was applied. Any other state (a later version, or a node made
// since, perhaps in the place of the one written) leaves the outcome
// unknown; so does a seen below since, from a new session on servers
// whose zxids went back (an ensemble restored from older data), where
// creation zxids cannot be compared with since.
func nextVersionShows(now, version int32, ours bool, made, since, seen int64) writeOutcome {
	switch {
	case now == version+1 && ours:
		return outcomeApplied
	case made > since, seen < since:
		return outcomeUnknown
	case now == version+1:
		return outcomeOverwritten
	case now == version:
		return outcomeUntouched
	}
	return outcomeUnknown
}

// SetACL replaces path's ACL. Without options it writes at the ACL version
// in the stat cache (any version when path is not cached). After a loss in
// flight it reads the ACL back, as Set reads the data, before it sends the
// write again. Forced (at any version), it sends the write again at once;
// a retry refused with ErrNoAuth, because the lost attempt took the
// caller's ADMIN permission away, then reads the ACL back and counts as
// success when the node holds exactly this one, and fails with
// ErrOutcomeUnknown otherwise, as does a retry that finds no node.
func (c *Client) SetACL(ctx context.Context, path string, acl []ACL, opts ...WriteOption) (*Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, opError("setACL", path, err)
	}
	if err := validateACL(acl); err != nil {
		return nil, opError("setACL", path, err)
	}
	version, err := c.writeVersion(opts, c.stats.aclVersion, sp)
	if err != nil {
		return nil, opError("setACL", path, err)
	}
	req := &proto.SetACLRequest{Path: sp, ACL: toProtoACL(acl), Version: version}
	since := c.lastZxid.Load()
	// The read back needs READ or ADMIN only; a caller that kept neither
	// cannot tell, and gets ErrOutcomeUnknown.
	st, err := c.versionedWrite(ctx, req, sp, version, true, func(ctx context.Context) (*Stat, writeOutcome, error) {
		got := &proto.GetACLResponse{}
		_, err := c.call(ctx, &proto.PathRequest{Op: proto.OpGetACL, Path: sp}, got, nil, false)
		if err != nil {
			return nil, outcomeUnknown, err
		}
		same := storedAs(got.ACL, req.ACL)
		if version < 0 {
			// Refused for ADMIN at any version: the same ACL is taken as
			// this write's, another tells nothing.
			if same {
				return newStat(&got.Stat), outcomeApplied, nil
			}
			return nil, outcomeUnknown, nil
		}
		return newStat(&got.Stat), nextVersionShows(got.Stat.Aversion, version, same, got.Stat.Czxid, since, c.lastZxid.Load()), nil
	})
	if err != nil {
		return nil, opError("setACL", path, err)
	}
	c.stats.put(sp, st)
	return st, nil
}
