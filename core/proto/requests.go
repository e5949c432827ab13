package proto

// Request is a record sent after a RequestHeader.
type Request interface {
	// Opcode is the request type written in the header.
	Opcode() int32
	// Encode appends the body.
	Encode(dst []byte) []byte
}

// CreateRequest creates a node. Op selects create, create2,
// createContainer or createTTL; TTL is written only for createTTL.
type CreateRequest struct {
	Op    int32
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

func (r *CreateRequest) Opcode() int32 { return r.Op }

func (r *CreateRequest) Encode(dst []byte) []byte {
	dst = AppendString(dst, r.Path)
	dst = AppendBuffer(dst, r.Data)
	dst = AppendACLs(dst, r.ACL)
	dst = AppendInt32(dst, r.Flags)
	if r.Op == OpCreateTTL {
		dst = AppendInt64(dst, r.TTL)
	}
	return dst
}

// DeleteRequest deletes a node at a version (-1 for any).
type DeleteRequest struct {
	Path    string
	Version int32
}

func (r *DeleteRequest) Opcode() int32 { return OpDelete }

func (r *DeleteRequest) Encode(dst []byte) []byte {
	dst = AppendString(dst, r.Path)
	return AppendInt32(dst, r.Version)
}

// CheckVersionRequest asserts a node's version inside a multi.
type CheckVersionRequest struct {
	Path    string
	Version int32
}

func (r *CheckVersionRequest) Opcode() int32 { return OpCheck }

func (r *CheckVersionRequest) Encode(dst []byte) []byte {
	dst = AppendString(dst, r.Path)
	return AppendInt32(dst, r.Version)
}

// PathWatchRequest is the body shared by exists, getData, getChildren and
// getChildren2: a path and whether to leave a watch.
type PathWatchRequest struct {
	Op    int32
	Path  string
	Watch bool
}

func (r *PathWatchRequest) Opcode() int32 { return r.Op }

func (r *PathWatchRequest) Encode(dst []byte) []byte {
	dst = AppendString(dst, r.Path)
	return AppendBool(dst, r.Watch)
}

// PathRequest is the body of requests that carry only a path: getACL, sync,
// getEphemerals and getAllChildrenNumber.
type PathRequest struct {
	Op   int32
	Path string
}

func (r *PathRequest) Opcode() int32 { return r.Op }

func (r *PathRequest) Encode(dst []byte) []byte { return AppendString(dst, r.Path) }

// SetDataRequest replaces a node's data at a version (-1 for any).
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

func (r *SetDataRequest) Opcode() int32 { return OpSetData }

func (r *SetDataRequest) Encode(dst []byte) []byte {
	dst = AppendString(dst, r.Path)
	dst = AppendBuffer(dst, r.Data)
	return AppendInt32(dst, r.Version)
}

// SetACLRequest replaces a node's ACL at an ACL version (-1 for any).
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (r *SetACLRequest) Opcode() int32 { return OpSetACL }

func (r *SetACLRequest) Encode(dst []byte) []byte {
	dst = AppendString(dst, r.Path)
	dst = AppendACLs(dst, r.ACL)
	return AppendInt32(dst, r.Version)
}

// AuthRequest adds credentials to the session. It is sent with xid -4.
type AuthRequest struct {
	Type   int32
	Scheme string
	Auth   []byte
}

func (r *AuthRequest) Opcode() int32 { return OpAuth }

func (r *AuthRequest) Encode(dst []byte) []byte {
	dst = AppendInt32(dst, r.Type)
	dst = AppendString(dst, r.Scheme)
	return AppendBuffer(dst, r.Auth)
}

// SetWatchesRequest re-registers watches after a reconnect. With Op
// OpSetWatches2 it also carries persistent and recursive watches.
type SetWatchesRequest struct {
	Op                  int32
	RelativeZxid        int64
	DataWatches         []string
	ExistWatches        []string
	ChildWatches        []string
	PersistentWatches   []string
	PersistentRecursive []string
}

func (r *SetWatchesRequest) Opcode() int32 { return r.Op }

func (r *SetWatchesRequest) Encode(dst []byte) []byte {
	dst = AppendInt64(dst, r.RelativeZxid)
	dst = AppendStrings(dst, r.DataWatches)
	dst = AppendStrings(dst, r.ExistWatches)
	dst = AppendStrings(dst, r.ChildWatches)
	if r.Op == OpSetWatches2 {
		dst = AppendStrings(dst, r.PersistentWatches)
		dst = AppendStrings(dst, r.PersistentRecursive)
	}
	return dst
}

// AddWatchRequest adds a persistent or persistent-recursive watch.
type AddWatchRequest struct {
	Path string
	Mode int32
}

func (r *AddWatchRequest) Opcode() int32 { return OpAddWatch }

func (r *AddWatchRequest) Encode(dst []byte) []byte {
	dst = AppendString(dst, r.Path)
	return AppendInt32(dst, r.Mode)
}

// RemoveWatchesRequest removes (or, with OpCheckWatches, checks) the
// session's watches of one type on a path.
type RemoveWatchesRequest struct {
	Op   int32
	Path string
	Type int32
}

func (r *RemoveWatchesRequest) Opcode() int32 { return r.Op }

func (r *RemoveWatchesRequest) Encode(dst []byte) []byte {
	dst = AppendString(dst, r.Path)
	return AppendInt32(dst, r.Type)
}

// EmptyRequest is a request with no body: ping, closeSession and whoAmI.
type EmptyRequest struct{ Op int32 }

func (r *EmptyRequest) Opcode() int32 { return r.Op }

func (r *EmptyRequest) Encode(dst []byte) []byte { return dst }
