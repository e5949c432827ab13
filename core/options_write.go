package core

import (
	"fmt"
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

// CreateOption shapes a Create: the node's kind, ACL and parents.
type CreateOption func(*createOptions)

type createOptions struct {
	ephemeral        bool
	sequential       bool
	container        bool
	ttl              time.Duration
	hasTTL           bool // WithTTL was given, even with 0
	acl              []ACL
	wireACL          []proto.ACL // acl as requests carry it, when made already
	parents          bool
	parentContainers bool
	parentACL        []ACL // nil: the client's default ACL
	protected        bool
	// withStat: the caller wants the new node's Stat (CreateStat), so a
	// plain create goes as create2, whose reply carries it.
	withStat bool
}

// Ephemeral makes a node that lives as long as the creating session.
func Ephemeral() CreateOption { return func(o *createOptions) { o.ephemeral = true } }

// Sequential appends the parent's ten-digit sequence counter to the name.
func Sequential() CreateOption { return func(o *createOptions) { o.sequential = true } }

// Container makes a container node, which the server deletes once its last
// child is gone (the createContainer request).
func Container() CreateOption { return func(o *createOptions) { o.container = true } }

// WithTTL makes a persistent node that the server deletes when it has had no
// children and no changes for ttl (the createTTL request; the server needs
// extendedTypesEnabled=true). ttl is from a millisecond to 2^40-1
// milliseconds.
func WithTTL(ttl time.Duration) CreateOption {
	return func(o *createOptions) { o.ttl, o.hasTTL = ttl, true }
}

// WithACL gives the node acl instead of the client's default ACL.
func WithACL(acl ...ACL) CreateOption {
	return func(o *createOptions) { o.acl = append([]ACL{}, acl...) }
}

// WithParents creates missing parents as persistent nodes, with the
// client's default ACL (or the one given with WithParentACL), as Curator's
// creatingParentsIfNeeded does: a node's own ACL may not let anyone create
// below it.
func WithParents() CreateOption { return func(o *createOptions) { o.parents = true } }

// WithContainerParents creates missing parents as container nodes, so they
// vanish once empty (as recipes' directories do). Their ACL is the same as
// with WithParents.
func WithContainerParents() CreateOption {
	return func(o *createOptions) { o.parents, o.parentContainers = true, true }
}

// WithParentACL gives the parents that WithParents or WithContainerParents
// creates acl instead of the client's default ACL; pass the node's own ACL
// to give them the same (what kazoo's makepath does).
func WithParentACL(acl ...ACL) CreateOption {
	return func(o *createOptions) { o.parentACL = append([]ACL{}, acl...) }
}

// Protected names the node "_c_<uuid>-<name>", Curator's protected mode.
// After a connection loss the client finds its own node by the uuid (and,
// for an ephemeral node, its session) instead of creating a second one, so a
// sequential create can be retried safely. When the call fails after its
// request may have reached the server (its ctx ended, or the retry policy
// gave up, with the outcome unknown), the client looks for the node in the
// background, as Curator does, and deletes it, so that no node the caller
// does not know of stays behind; it keeps at it until it knows, the client
// closes or, for an ephemeral node, the session ends.
func Protected() CreateOption { return func(o *createOptions) { o.protected = true } }

// maxTTL is the largest TTL the server accepts (40 bits of milliseconds).
const maxTTL = time.Duration(1<<40-1) * time.Millisecond

func (o *createOptions) validate() error {
	switch {
	case o.container && (o.ephemeral || o.sequential || o.hasTTL):
		return fmt.Errorf("%w: a container node cannot be ephemeral, sequential or have a TTL", ErrInvalidArgument)
	case o.hasTTL && (o.ttl <= 0 || o.ttl > maxTTL):
		return fmt.Errorf("%w: TTL %v out of range", ErrInvalidArgument, o.ttl)
	case o.hasTTL && o.ephemeral:
		return fmt.Errorf("%w: an ephemeral node cannot have a TTL", ErrInvalidArgument)
	case o.hasTTL && o.ttl < time.Millisecond:
		return fmt.Errorf("%w: TTL %v is under a millisecond", ErrInvalidArgument, o.ttl)
	case o.parentACL != nil && !o.parents:
		return fmt.Errorf("%w: WithParentACL without WithParents or WithContainerParents", ErrInvalidArgument)
	case o.parentACL != nil:
		return validateACL(o.parentACL)
	}
	return nil
}

// opcodeAndFlags picks the create request and its flags.
func (o *createOptions) opcodeAndFlags() (int32, int32) {
	switch {
	case o.container:
		return proto.OpCreateContainer, proto.FlagContainer
	case o.ttl > 0 && o.sequential:
		return proto.OpCreateTTL, proto.FlagPersistentSequentialWithTTL
	case o.ttl > 0:
		return proto.OpCreateTTL, proto.FlagPersistentWithTTL
	}
	var flags int32
	if o.ephemeral {
		flags |= proto.FlagEphemeral
	}
	if o.sequential {
		flags |= proto.FlagSequential
	}
	if o.withStat {
		return proto.OpCreate2, flags
	}
	return proto.OpCreate, flags
}

// requestACL returns the node's ACL as the request carries it.
func (o *createOptions) requestACL() []proto.ACL {
	if o.wireACL != nil {
		return o.wireACL
	}
	return toProtoACL(o.acl)
}

// fillRequest makes *req the create request for the server path sp. A
// protected create gets its "_c_<uuid>-" name here, and parent and prefix
// identify it among its siblings.
func (o *createOptions) fillRequest(req *proto.CreateRequest, sp string, data []byte) (parent, prefix string) {
	op, flags := o.opcodeAndFlags()
	*req = proto.CreateRequest{Op: op, Path: sp, Data: data, ACL: o.requestACL(), Flags: flags, TTL: o.ttl.Milliseconds()}
	if o.protected {
		req.Path, parent, prefix = protectPath(sp)
	}
	return parent, prefix
}

// WriteOption chooses the version a Delete, SetData or SetACL is made
// against. Without one, the version in the stat cache is used (any version
// when the path is not cached).
type WriteOption func(*writeOptions)

type writeOptions struct {
	version *int32
}

// Force writes whatever the node's current version.
func Force() WriteOption { return WithVersion(-1) }

// WithVersion writes only if the node is at version v (-1 for any). A
// version below -1 makes the call fail with ErrInvalidArgument before
// anything is sent.
func WithVersion(v int32) WriteOption {
	return func(o *writeOptions) { o.version = &v }
}
