package core

import (
	"errors"
	"sync"

	"github.com/zkit-go/zkit/core/proto"
)

// request is one call in flight: queued on a connection, answered in FIFO
// order by the reader.
type request struct {
	xid    int32
	opcode int32
	resp   proto.Response
	// decodeOnError makes the reader decode the body even when the reply
	// header carries an error (multi replies do).
	decodeOnError bool
	// onReply runs on the goroutine that reads the reply (whoever has the
	// turn) before done is closed, so a watch is registered before any
	// later frame is read.
	onReply func(r *request)

	// sent is when the request was queued (Unix nanoseconds), before it
	// left: its reply proves the server heard from the session since.
	sent int64

	err  error
	zxid int64
	done chan struct{}
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

func newRequest(resp proto.Response) *request {
	r := requestPool.Get().(*request)
	r.resp = resp
	return r
}

// finish hands the outcome to the waiting caller.
func (r *request) finish(err error) {
	r.err = err
	r.done <- struct{}{}
}

// release returns r to the pool; only the caller that received from done
// may call it.
func (r *request) release() {
	*r = request{done: r.done}
	requestPool.Put(r)
}

// notSentError marks a call that never reached a connection. Retrying it is
// always safe.
type notSentError struct{ cause error }

func (e *notSentError) Error() string {
	if e.cause != nil {
		return "zk: not connected: " + e.cause.Error()
	}
	return "zk: not connected"
}

func (e *notSentError) Is(target error) bool {
	return target == ErrConnectionLoss || target == errNotSent
}

func (e *notSentError) Unwrap() error { return e.cause }

// errNotSent is matched by a notSentError alone: asking errors.Is for it
// costs no allocation, where errors.As would put its target on the heap on
// every call, the successful ones too.
var errNotSent = errors.New("zk: not sent")

func isNotSent(err error) bool { return errors.Is(err, errNotSent) }
