package core

import (
	"errors"
	"sync"
	"sync/atomic"

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
	// turn) before the outcome is sent on done, so a watch is registered
	// before any later frame is read. For a request lost with its
	// connection, it runs in lose, on the goroutine that failed the
	// connection.
	onReply func(r *request)

	// sent is when the request was queued (monoNow), before it left: its
	// reply proves the server heard from the session since.
	sent int64

	err  error
	zxid int64
	done chan struct{}
	// waiter says whether the caller still waits on done (see abandon).
	waiter atomic.Int32
}

// What a request's caller does about its outcome.
const (
	waiterWaits  int32 = iota // it will take the outcome from done
	waiterTook                // the outcome is in done
	waiterGaveUp              // it stopped waiting while the request was out
)

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

func newRequest(resp proto.Response) *request {
	r := requestPool.Get().(*request)
	r.resp = resp
	return r
}

// finish hands the outcome to the waiting caller.
func (r *request) finish(err error) {
	r.err = err
	r.waiter.CompareAndSwap(waiterWaits, waiterTook)
	r.done <- struct{}{}
}

// lose finishes r without its reply: the connection was lost, or the
// reply could not be read. When its caller has stopped waiting, nobody
// would learn of that from done: onReply runs instead, with err, so that
// what its hook keeps going until the request is over (an override, see
// watchRegistry.startOverride) ends.
func (r *request) lose(err error) {
	if !r.waiter.CompareAndSwap(waiterWaits, waiterTook) && r.onReply != nil {
		r.err = err
		r.onReply(r)
	}
	r.finish(err)
}

// abandon tells r, sent and not answered when its caller looked, that the
// caller stops waiting, and reports true: its onReply still runs, when
// the reply is read or, through lose, when it is lost. It reports false
// when the outcome came in meanwhile: the caller takes it from done.
func (r *request) abandon() bool {
	return r.waiter.CompareAndSwap(waiterWaits, waiterGaveUp)
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

// stillOutError is the error of a call whose ctx ended while its request
// was out: the server may still apply the request, and its reply hook
// still runs (see request.abandon). It reads as ctx's error.
type stillOutError struct{ cause error }

func (e *stillOutError) Error() string        { return e.cause.Error() }
func (e *stillOutError) Unwrap() error        { return e.cause }
func (e *stillOutError) Is(target error) bool { return target == errStillOut }

var errStillOut = errors.New("zk: request still out")

// isStillOut reports whether err is that of a call whose ctx ended while
// its request was out, so that its reply hook is still to run.
func isStillOut(err error) bool { return errors.Is(err, errStillOut) }
