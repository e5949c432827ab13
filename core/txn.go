package core

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/zkit-go/zkit/core/proto"
)

// Transaction collects operations that the server applies all together or
// not at all (the multi request). Build it with BeginTransaction, then
// Commit. A version of -1 means any version; one below -1 fails Commit
// with ErrInvalidArgument.
type Transaction struct {
	client *Client
	ops    []txnOp
	err    error
}

type txnKind uint8

const (
	txnCheck txnKind = iota
	txnCreate
	txnDelete
	txnSetData
)

type txnOp struct {
	kind txnKind
	path string // client path
	req  proto.Request
	seq  bool // a sequential create, whose name is new every time
}

// Result lists what a committed transaction did. Paths are relative to the
// chroot; Created holds the actual names, sequence suffixes included.
type Result struct {
	Checked []string // the paths whose versions were checked
	Created []string // the nodes made
	Updated []string // the paths whose data was set
	Deleted []string // the nodes deleted
	// Stats holds, by path, the Stat of each setData, and of each create
	// whose result carried one: a server answers most creates inside a
	// transaction with the path alone. It describes each path as the
	// transaction left it: a delete drops the Stats of the path's earlier
	// operations.
	Stats map[string]*Stat
}

// OpError says which operation of a failed transaction failed and why. It
// matches ErrTransactionFailed and the cause with errors.Is.
type OpError struct {
	Index int    // the failing operation's place in the transaction
	Op    string // its kind: "check", "create", "delete" or "setData"
	Path  string // its path, as the caller gave it
	Err   error  // why it failed: the server's error, or the client's refusal
	// Results holds every operation's error: the cause at Index, and
	// ErrRolledBack or ErrRuntimeInconsistency for the others, as the server
	// reported them.
	Results []error
}

// Error names the failing operation and why it failed.
func (e *OpError) Error() string {
	return fmt.Sprintf("zk: transaction failed: operation %d (%s %s): %v", e.Index, e.Op, e.Path, e.Err)
}

// Is matches ErrTransactionFailed.
func (e *OpError) Is(target error) bool { return target == ErrTransactionFailed }

// Unwrap returns the failing operation's error.
func (e *OpError) Unwrap() error { return e.Err }

// BeginTransaction starts an empty transaction.
func (c *Client) BeginTransaction() *Transaction { return &Transaction{client: c} }

func (t *Transaction) fail(op, path string, err error) *Transaction {
	if t.err == nil {
		t.err = opError(op, path, err)
	}
	return t
}

// CheckVersion requires path to be at version.
func (t *Transaction) CheckVersion(path string, version int32) *Transaction {
	sp, err := t.client.versionedPath(path, version)
	if err != nil {
		return t.fail("check", path, err)
	}
	t.ops = append(t.ops, txnOp{kind: txnCheck, path: path, req: &proto.CheckVersionRequest{Path: sp, Version: version}})
	return t
}

// Create adds a create with the same options as Client.Create: container,
// TTL and ACL included. A transaction creates no parents, so WithParents,
// WithContainerParents and WithParentACL are refused with
// ErrInvalidArgument. Protected only names the node: a transaction that
// may have been applied is the caller's to resolve, so there is no search
// for the node after a connection loss and no removal of an orphan.
func (t *Transaction) Create(path string, data []byte, opts ...CreateOption) *Transaction {
	var o createOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.parents || o.parentContainers || o.parentACL != nil {
		return t.fail("create", path, fmt.Errorf("%w: a transaction creates no parents", ErrInvalidArgument))
	}
	if err := t.client.checkCreate(path, data, &o); err != nil {
		return t.fail("create", path, err)
	}
	req := new(proto.CreateRequest)
	o.fillRequest(req, t.client.root.toServer(path), data)
	t.ops = append(t.ops, txnOp{kind: txnCreate, path: path, req: req, seq: o.sequential})
	return t
}

// Delete adds a delete of path at version.
func (t *Transaction) Delete(path string, version int32) *Transaction {
	sp, err := t.client.versionedPath(path, version)
	if err != nil {
		return t.fail("delete", path, err)
	}
	if path == "/" {
		// As Client.Delete: under a chroot "/" is the chroot node.
		return t.fail("delete", path, fmt.Errorf("%w: cannot delete the root", ErrInvalidPath))
	}
	t.ops = append(t.ops, txnOp{kind: txnDelete, path: path, req: &proto.DeleteRequest{Path: sp, Version: version}})
	return t
}

// SetData adds a set of path's data at version.
func (t *Transaction) SetData(path string, data []byte, version int32) *Transaction {
	sp, err := t.client.versionedPath(path, version)
	if err != nil {
		return t.fail("setData", path, err)
	}
	if len(data) > t.client.cfg.maxDataSize {
		return t.fail("setData", path, fmt.Errorf("%w: %d bytes, limit %d", ErrDataTooLarge, len(data), t.client.cfg.maxDataSize))
	}
	t.ops = append(t.ops, txnOp{kind: txnSetData, path: path, req: &proto.SetDataRequest{Path: sp, Data: data, Version: version}})
	return t
}

var txnOpNames = [...]string{txnCheck: "check", txnCreate: "create", txnDelete: "delete", txnSetData: "setData"}

// Commit sends the operations as one multi request. When the server
// refuses an operation, nothing is applied and the error is an *OpError
// naming it, which matches ErrTransactionFailed and the operation's own
// error. When the server refuses the request as a whole (ErrNotReadOnly on
// a read-only server, ErrSessionMoved, ErrThrottled, ...), nothing is
// applied either, and the error is an *Error for "commit". A transaction
// is not retried after a connection loss in flight, since it may have
// been applied, and its error then says nothing of its fate; one that
// never left the client is retried.
func (t *Transaction) Commit(ctx context.Context) (*Result, error) {
	if t.err != nil {
		return nil, t.err
	}
	if len(t.ops) == 0 {
		return nil, opError("commit", "", ErrEmptyTransaction)
	}
	req := &proto.MultiRequest{Ops: make([]proto.Request, len(t.ops))}
	for i, op := range t.ops {
		req.Ops[i] = op.req
	}
	// Each attempt decodes into a response of its own, kept only when the
	// server's answer came in: an attempt cut short by ctx leaves its
	// request queued, and a late reply is still written into its response.
	var (
		resp *proto.MultiResponse
		zxid int64 // the reply's: the transaction's, for the stat cache
	)
	c := t.client
	err := c.cfg.retry.run(ctx, c.waitReady, retryRule(false), func(ctx context.Context) error {
		attempt := &proto.MultiResponse{For: req}
		// The hook runs once the reply is decoded into attempt: only then
		// may attempt be read. A call that stopped waiting (ctx, or its
		// session) leaves the reply to come, and attempt to the reader.
		var decoded atomic.Bool
		z, err := c.call(ctx, req, attempt, func(*request) { decoded.Store(true) }, true)
		resp = nil
		if decoded.Load() && answeredInFull(err) {
			resp, zxid = attempt, z
		}
		return err
	})
	if resp == nil || (err != nil && len(resp.Results) != len(t.ops)) {
		// No answer, or the server refused the request as a whole, with
		// no result per operation.
		return nil, opError("commit", "", err)
	}
	if len(resp.Results) != len(t.ops) {
		return nil, opError("commit", "", fmt.Errorf("%w: %d results for %d operations", ErrResponse, len(resp.Results), len(t.ops)))
	}
	if failed := t.failure(resp.Results); failed != nil {
		return nil, failed
	}
	if err != nil {
		return nil, opError("commit", "", err)
	}
	return t.result(resp.Results, zxid), nil
}

// answeredInFull reports whether a multi call ended with the server's
// answer decoded whole: it succeeded, or the server answered with an error
// code in the reply header (a refused operation comes with every
// operation's result). After a connection loss, a reply that could not be
// decoded or an ended ctx, the response must not be read.
func answeredInFull(err error) bool {
	if err == nil {
		return true
	}
	ze, ok := err.(*Error)
	return ok && ze.Code != CodeConnectionLoss && ze.Code != CodeMarshallingError
}

// failure builds the *OpError of a refused transaction, or nil.
func (t *Transaction) failure(results []proto.MultiResult) error {
	var (
		index = -1
		errs  = make([]error, len(results))
	)
	for i, r := range results {
		if r.Op != proto.OpError {
			continue
		}
		switch {
		case r.Err == 0:
			errs[i] = ErrRolledBack
		case Code(r.Err) == CodeRuntimeInconsistency:
			errs[i] = &Error{Code: CodeRuntimeInconsistency, Op: txnOpNames[t.ops[i].kind], Path: t.ops[i].path}
		default:
			errs[i] = &Error{Code: Code(r.Err), Op: txnOpNames[t.ops[i].kind], Path: t.ops[i].path}
			if index < 0 {
				index = i
			}
		}
	}
	if index < 0 {
		for i, e := range errs {
			if e != nil && !errors.Is(e, ErrRolledBack) {
				index = i
				break
			}
		}
	}
	if index < 0 {
		return nil
	}
	op := t.ops[index]
	return &OpError{Index: index, Op: txnOpNames[op.kind], Path: op.path, Err: errs[index], Results: errs}
}

func (t *Transaction) result(results []proto.MultiResult, zxid int64) *Result {
	c := t.client
	res := &Result{Stats: map[string]*Stat{}}
	for i, r := range results {
		op := t.ops[i]
		switch op.kind {
		case txnCheck:
			res.Checked = append(res.Checked, op.path)
		case txnCreate:
			p := c.root.fromServer(r.Path)
			res.Created = append(res.Created, p)
			var st *Stat
			if r.HasStat {
				st = newStat(&r.Stat)
				res.Stats[p] = st
			}
			if !op.seq {
				// As after Create: a new node is at data and ACL version 0,
				// made at the transaction's zxid (its result carries no
				// Stat unless it is a container or TTL node). A version
				// cached for an earlier node at the path must not outlive
				// it. A sequential node's name is new every time.
				c.stats.putNew(r.Path, zxid, st)
			}
		case txnDelete:
			res.Deleted = append(res.Deleted, op.path)
			delete(res.Stats, op.path)
			c.stats.forget(c.root.toServer(op.path), zxid)
		case txnSetData:
			res.Updated = append(res.Updated, op.path)
			if r.HasStat {
				st := newStat(&r.Stat)
				res.Stats[op.path] = st
				c.stats.put(c.root.toServer(op.path), st)
			}
		}
	}
	return res
}

// ReadOp is one read of a MultiRead.
type ReadOp struct {
	kind uint8
	path string
}

// ReadData reads a node's data and Stat in a MultiRead.
func ReadData(path string) ReadOp { return ReadOp{kind: 0, path: path} }

// ReadChildren lists a node's children in a MultiRead.
func ReadChildren(path string) ReadOp { return ReadOp{kind: 1, path: path} }

// ReadResult is one MultiRead outcome: data and Stat for ReadData,
// children for ReadChildren, or the error of that read alone.
type ReadResult struct {
	Path     string   // the path read, as the caller gave it
	Data     []byte   // a ReadData's data (empty, not nil, for none)
	Stat     *Stat    // a ReadData's Stat
	Children []string // a ReadChildren's listing (empty, not nil, for none)
	Err      error    // this read's failure, as ErrNoNode; the others stand
}

// MultiRead performs many reads in one round trip (the multiRead request,
// ZooKeeper 3.6+). Each read succeeds or fails on its own.
func (c *Client) MultiRead(ctx context.Context, ops ...ReadOp) ([]ReadResult, error) {
	if len(ops) == 0 {
		return nil, opError("multiRead", "", fmt.Errorf("%w: no reads", ErrInvalidArgument))
	}
	req := &proto.MultiRequest{Read: true, Ops: make([]proto.Request, len(ops))}
	sps := make([]string, len(ops))
	for i, op := range ops {
		sp, err := c.serverPath(op.path)
		if err != nil {
			return nil, opError("multiRead", op.path, err)
		}
		sps[i] = sp
		code := proto.OpGetData
		if op.kind == 1 {
			code = proto.OpGetChildren
		}
		req.Ops[i] = &proto.PathWatchRequest{Op: code, Path: sp}
	}
	resp := &proto.MultiResponse{For: req}
	zxid, err := c.rpcZxid(ctx, "multiRead", "", true, req, resp, nil)
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != len(ops) {
		return nil, opError("multiRead", "", fmt.Errorf("%w: %d results for %d reads", ErrResponse, len(resp.Results), len(ops)))
	}
	out := make([]ReadResult, len(ops))
	for i, r := range resp.Results {
		out[i].Path = ops[i].path
		switch r.Op {
		case proto.OpError:
			name := "get"
			if ops[i].kind == 1 {
				name = "getChildren"
			}
			out[i].Err = &Error{Code: Code(r.Err), Op: name, Path: ops[i].path}
			c.stats.forgetIfMissing(sps[i], zxid, out[i].Err) // as Get does
		case proto.OpGetData:
			out[i].Data = r.Data
			if out[i].Data == nil {
				out[i].Data = []byte{}
			}
			out[i].Stat = newStat(&r.Stat)
			c.stats.put(sps[i], out[i].Stat) // as Get does
		case proto.OpGetChildren:
			out[i].Children = r.Children
			if out[i].Children == nil {
				out[i].Children = []string{} // as GetChildren
			}
		}
	}
	return out, nil
}
