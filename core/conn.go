package core

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// connHooks are the client's callbacks from a connection's reader.
type connHooks interface {
	observeZxid(zxid int64)
	// touched reports a reply to a request or ping sent at sent (monoNow):
	// the server heard from the session at or after then.
	touched(sent int64)
	// expiryLeft returns how long remains until the client's own expiry
	// deadline for the session (negative once it has passed), and the
	// session's timeout; ok is false when no deadline runs.
	expiryLeft() (left, timeout time.Duration, ok bool)
	onEvent(ev proto.WatcherEvent)
	onAuthFailed(err error)
	// noWatches reports that no watch is set, so no event can come.
	noWatches() bool
}

// keepBuffer is the largest read or write buffer a connection keeps after
// use; bigger ones are dropped so an idle client stays small.
const keepBuffer = 16 * 1024

// conn is one established connection: the FIFO of requests waiting for
// replies, a writer goroutine for requests queued while others are in
// flight, and a reader goroutine that reads whenever no caller reads its
// own reply (read_turn.go).
type conn struct {
	nc          net.Conn
	log         *zap.Logger
	hooks       connHooks
	readTimeout time.Duration
	// pingEvery is how long the connection stays quiet before it pings
	// (pingInterval); zero for a third of readTimeout. Set before start.
	pingEvery time.Duration
	maxFrame  int
	// maxRequest is the largest request frame the server takes (its
	// jute.maxbuffer); 0 for no limit.
	maxRequest int
	// sess is the session the connection serves: a call tied to another
	// (WithSession) must not be sent on it.
	sess *Session

	mu      sync.Mutex
	xid     int32
	pending []*request
	head    int
	out     []byte
	spare   []byte
	closed  bool
	// final says the closeSession request is queued: nothing may follow
	// it, as the server would answer a request behind it as one of an
	// unknown or expired session. Later sends fail as not sent, with
	// ErrClosed as the cause.
	final bool
	err   error
	// writing says a goroutine holds the writer role; writeDeadline is
	// that writer's, and passes on with the role.
	writing       bool
	writeDeadline time.Time

	// Reading: who reads the socket (see read_turn.go), and the state the
	// readers share, used only by the one whose turn it is.
	role     readRole
	specials int // special frames whose replies are still to come
	// setWatchesDone holds, for each setWatches frame still out, in
	// order, what the reader calls when the reply comes (nil for
	// nothing): the server answers a session's frames in order. fail
	// calls the ones left, for a frame lost.
	setWatchesDone []appliedFunc
	// pingsSent holds each ping still out, in order: ping replies come in
	// the order the pings went.
	pingsSent []pingOut
	// answered counts the requests whose replies have been read (or that
	// were popped as lost), so that a ping's reply can tell whether the
	// requests sent ahead of it were all answered first; framesSent and
	// framesAnswered count the other special frames (auth, setWatches)
	// for the same check.
	answered       uint64
	framesSent     uint64
	framesAnswered uint64

	sock         *sockReader
	frames       *frameReader
	dec          proto.Decoder
	readDeadline time.Time
	turn         chan struct{} // gives the turn to the reader goroutine
	parked       *time.Timer   // ends a parked turn after parkedFor
	skipOwn      int           // calls left that must not read their own reply
	ownReads     atomic.Int64  // replies read by their own caller
	// polledOwnReads counts own turns that waited in a blocking poll.
	polledOwnReads atomic.Int64
	slowOwnReads   atomic.Int64 // own reads that ran out of time
	gatherPauses   atomic.Int64 // reader pauses that gathered replies (gather.go)
	writePauses    atomic.Int64 // writer pauses that gathered requests (gather.go)
	// gather says the reader goroutine may pause to gather replies
	// (WithGatherReplies).
	gather bool

	lastWrite atomic.Int64 // when the last batch was written (monoNow)
	// lastReply is when the newest reply (to a request or a special
	// frame, not a watch event) arrived (monoNow).
	lastReply atomic.Int64
	// credits says whether replies on this connection show when the
	// quorum last heard from the session (see Client.establish).
	credits bool
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

func newConn(nc net.Conn, hooks connHooks, log *zap.Logger, readTimeout time.Duration, maxFrame int, lastXid int32) *conn {
	c := &conn{
		nc:          nc,
		hooks:       hooks,
		log:         log,
		readTimeout: readTimeout,
		maxFrame:    maxFrame,
		xid:         lastXid,
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		turn:        make(chan struct{}, 1),
		parked:      time.NewTimer(time.Hour),
	}
	c.parked.Stop()
	now := monoNow()
	c.lastWrite.Store(now)
	c.lastReply.Store(now)
	return c
}

// start runs the reader and the writer; stop or a failure ends them. br
// reads from sock, which reads from the connection.
func (c *conn) start(sock *sockReader, br *bufio.Reader) {
	c.sock = sock
	c.frames = newFrameReader(br, c.maxFrame)
	c.wg.Add(3)
	go c.readLoop()
	go c.writeLoop()
	go c.watchLoop()
}

// refusedLocked is the error of a send the connection no longer takes: it
// failed (its cause), or closeSession is queued (ErrClosed).
func (c *conn) refusedLocked() error {
	if c.err != nil {
		return &notSentError{cause: c.err}
	}
	return &notSentError{cause: ErrClosed}
}

// lastXid returns the request id the connection used last.
func (c *conn) lastXid() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.xid
}

// nextXid returns the next request id, wrapping past 2^31-1 to 1 so it never
// collides with the negative ids of special frames. Called with mu held.
func (c *conn) nextXid() int32 {
	c.xid++
	if c.xid <= 0 {
		c.xid = 1
	}
	return c.xid
}

// outgoing is a request and the caller's record waiting for its reply.
type outgoing struct {
	req proto.Request
	r   *request
}

// send queues req and records r as waiting for its reply. It fails without
// sending anything when the connection is closed.
func (c *conn) send(req proto.Request, r *request) error {
	_, err := c.sendAll(false, outgoing{req, r})
	return err
}

// sendOwn is send for a caller that can read its own reply: when nobody
// reads the socket, it gets the turn, and must then call readOwn.
func (c *conn) sendOwn(req proto.Request, r *request) (own bool, err error) {
	return c.sendAll(true, outgoing{req, r})
}

// sendPairOwn queues two requests in one step, so they travel back to
// back, as sendOwn does.
func (c *conn) sendPairOwn(req1 proto.Request, r1 *request, req2 proto.Request, r2 *request) (own bool, err error) {
	return c.sendAll(true, outgoing{req1, r1}, outgoing{req2, r2})
}

// sendAll queues the requests in order, all or none, and writes them
// unless another goroutine is writing (which then writes them too). It
// makes sure someone reads the replies: with canRead, the caller takes the
// turn when nobody has it (own); otherwise the reader goroutine does.
func (c *conn) sendAll(canRead bool, batch ...outgoing) (own bool, err error) {
	return c.sendBatch(canRead, false, batch...)
}

// sendFinal queues req as the last request the connection takes: later
// sends fail as not sent.
func (c *conn) sendFinal(req proto.Request, r *request) error {
	_, err := c.sendBatch(false, true, outgoing{req, r})
	return err
}

func (c *conn) sendBatch(canRead, final bool, batch ...outgoing) (own bool, err error) {
	c.mu.Lock()
	if c.closed || c.final {
		err := c.refusedLocked()
		c.mu.Unlock()
		return false, err
	}
	mark, xid, queued := len(c.out), c.xid, len(c.pending)
	now := monoNow()
	for _, o := range batch {
		o.r.sent = now
		o.r.xid = c.nextXid()
		o.r.opcode = o.req.Opcode()
		before := len(c.out)
		c.appendFrame(o.r.xid, o.req)
		if err := c.checkFrame(before); err != nil {
			c.out, c.xid, c.pending = c.out[:mark], xid, c.pending[:queued]
			c.mu.Unlock()
			return false, err
		}
		c.pending = append(c.pending, o.r)
	}
	c.final = final
	own = c.wantReaderLocked(canRead)
	// With nothing else in flight the caller writes at once: no hand-off.
	// Under load the writer goroutine writes, so callers' requests gather
	// into one write. So does a large batch, which a server that has
	// stopped reading could leave half written until the write deadline:
	// the caller then waits for its reply, where its ctx ends the wait.
	// Credentials and setWatches frames still unanswered (the latter can
	// run to megabytes after a reconnect) may fill the socket's buffer
	// too, so they rule out writing inline.
	idle := queued == c.head && c.framesSent == c.framesAnswered
	small := len(c.out) <= maxInlineWrite
	write := idle && small && c.claimWriter()
	if write {
		// Counted like the reader and the writer goroutines: a write that
		// fails ends the connection and reports the loss to every request
		// still out, and stop waits for that to be done.
		c.wg.Add(1) // done in writeInline
	}
	c.mu.Unlock()
	if write {
		c.writeInline()
	} else if !idle || !small {
		c.signal()
	}
	return own, nil
}

// maxInlineWrite is the most a caller writes itself. An idle connection's
// socket buffer takes that much at once (Linux starts a TCP socket's send
// buffer at 16 KiB), so a caller is never held in a write, whatever its ctx.
const maxInlineWrite = 8 << 10

// checkFrame refuses the frame appended at mark when it is larger than the
// server takes: the server would close the connection, failing every other
// caller's requests too. Called with mu held.
func (c *conn) checkFrame(mark int) error {
	if n := len(c.out) - mark - 4; c.maxRequest > 0 && n > c.maxRequest {
		return fmt.Errorf("%w: a request of %d bytes, the server takes at most %d", ErrDataTooLarge, n, c.maxRequest)
	}
	return nil
}

// sendSpecial queues a frame with a fixed xid whose reply is handled by the
// reader itself (auth, setWatches, ping, ...).
func (c *conn) sendSpecial(xid int32, req proto.Request) error {
	return c.sendSpecialThen(xid, req, nil)
}

// appliedFunc is called once for a setWatches frame queued with it: with
// the reply's zxid and ok when the reader reads the frame's reply, or
// with ok false when the connection ends first.
type appliedFunc func(zxid int64, ok bool)

// sendSetWatches queues a setWatches frame; applied, if not nil, is
// called once the frame is answered or lost (see appliedFunc). It is not
// called when the frame cannot be queued: the error says so.
func (c *conn) sendSetWatches(req proto.Request, applied appliedFunc) error {
	return c.sendSpecialThen(proto.XidSetWatches, req, applied)
}

func (c *conn) sendSpecialThen(xid int32, req proto.Request, applied appliedFunc) error {
	c.mu.Lock()
	if c.closed || c.final && xid != proto.XidPing {
		// Nothing but pings may follow closeSession (see final).
		err := c.refusedLocked()
		c.mu.Unlock()
		return err
	}
	c.appendFrame(xid, req)
	c.specials++
	if xid != proto.XidPing {
		c.framesSent++
	}
	switch xid {
	case proto.XidPing:
		ahead := c.answered + uint64(len(c.pending)-c.head)
		c.pingsSent = append(c.pingsSent, pingOut{sent: monoNow(), after: ahead, framesAfter: c.framesSent})
	case proto.XidSetWatches:
		c.setWatchesDone = append(c.setWatchesDone, applied)
	}
	c.wantReaderLocked(false)
	c.mu.Unlock()
	c.signal()
	return nil
}

func (c *conn) appendFrame(xid int32, req proto.Request) {
	var start int
	c.out, start = proto.AppendFrameStart(c.out)
	c.out = proto.RequestHeader{Xid: xid, Opcode: req.Opcode()}.Encode(c.out)
	c.out = req.Encode(c.out)
	c.out = proto.FinishFrame(c.out, start)
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// claimWriter makes the caller the connection's writer unless another
// goroutine is writing. Called with mu held.
func (c *conn) claimWriter() bool {
	if c.writing {
		return false
	}
	c.writing = true
	return true
}

// writeInline writes the queued frames from the caller's own goroutine,
// which saves a hand-off to the writer goroutine when the connection is
// idle. It writes one batch and gives the role up; what was queued
// meanwhile goes to the writer goroutine. sendBatch counted it in wg.
func (c *conn) writeInline() {
	defer c.wg.Done()
	if c.writeBatch() {
		c.signal()
	}
}

// writeBatch writes everything queued in one write, as the holder of the
// writer role, and gives the role up. It reports whether more was queued
// meanwhile. Only one goroutine writes at a time, and each takes all that
// is queued, so frames go out in the order they were queued.
func (c *conn) writeBatch() (more bool) {
	c.mu.Lock()
	batch := c.out
	if len(batch) == 0 || c.closed {
		c.writing = false
		c.mu.Unlock()
		return false
	}
	c.out = c.spare[:0]
	c.spare = nil
	c.mu.Unlock()
	now := time.Now()
	if c.writeDeadline.Sub(now) < c.readTimeout*3/4 {
		c.writeDeadline = now.Add(c.readTimeout)
		_ = c.nc.SetWriteDeadline(c.writeDeadline)
	}
	_, err := c.nc.Write(batch)
	c.lastWrite.Store(monoNow())
	if err != nil {
		c.fail(fmt.Errorf("write: %w", err))
	}
	if cap(batch) > keepBuffer {
		batch = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = false
	if c.spare == nil {
		c.spare = batch[:0]
	}
	return err == nil && len(c.out) > 0
}

// writeLoop writes what callers queue while requests are in flight, so
// that many requests share one write.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		for {
			// Let the callers that are about to queue do so, so that one
			// write carries them all.
			runtime.Gosched()
			c.gatherRequests()
			c.mu.Lock()
			claimed := c.claimWriter()
			c.mu.Unlock()
			// A goroutine writing now gives the role up when it is done,
			// and wakes this loop again if more is queued.
			if !claimed || !c.writeBatch() {
				break
			}
		}
	}
}

// readLoop reads frames whenever the turn is the reader goroutine's, until
// the connection fails. It never blocks on a consumer: replies go to
// waiting callers and events to buffered queues.
func (c *conn) readLoop() {
	defer c.wg.Done()
	for c.awaitTurn() {
		for {
			c.extendReadDeadline()
			if err := c.readFrame(); err != nil {
				c.failRead(err)
				return
			}
			// Bytes already buffered are a frame on its way: no need to
			// ask whether the turn may park, nor to pause.
			if c.frames.r.Buffered() == 0 {
				if c.parkIfQuiet() {
					break
				}
				c.gatherReplies()
			}
		}
	}
}

// extendReadDeadline keeps the read deadline at least a read timeout away,
// so that only a full read timeout of silence ends the connection (which
// unanswered usually sees first). Moving it costs a timer update, so it
// moves a quarter of the read timeout further than it must, and then not
// again until that quarter has passed.
func (c *conn) extendReadDeadline() {
	now := time.Now()
	if c.readDeadline.Sub(now) < c.readTimeout {
		c.readDeadline = now.Add(c.readTimeout * 5 / 4)
		_ = c.nc.SetReadDeadline(c.readDeadline)
	}
}

// readFrame reads and handles one frame, as the reader whose turn it is.
// A read error comes back as it is, for the caller to judge; a frame that
// cannot be handled fails the connection.
func (c *conn) readFrame() error {
	frame, err := c.frames.next()
	if err != nil {
		return err
	}
	if err := c.handleFrame(&c.dec, frame); err != nil {
		c.fail(err)
		return err
	}
	return nil
}

// failRead ends the connection after a failed read. A frame over the size
// limit is the reply the oldest request waits for, as replies come in order
// and no event or special reply is that large: that request fails with the
// marshalling error, as would a reply that cannot be decoded (handleFrame),
// since asking again would only bring the same frame. Every other request,
// and every request after garbage that cannot be told apart (a negative
// length, say), fails with connection loss, which the retry policy may
// repeat when that is safe.
func (c *conn) failRead(err error) {
	cause := readError(err)
	if errors.Is(err, proto.ErrFrameTooLarge) {
		c.failOldest(cause)
	}
	c.fail(cause)
}

// failOldest finishes the oldest waiting request with err: its reply came
// and cannot be read. The request may have been applied, and the same
// reply could come again, so err is a marshalling error, which no retry
// policy repeats, rather than a connection loss.
func (c *conn) failOldest(err error) {
	if r := c.popPending(); r != nil {
		r.lose(err)
	}
}

func readError(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: no reply within the read timeout", ErrTimeout)
	case errors.Is(err, proto.ErrFrameTooLarge), errors.Is(err, proto.ErrBadLength):
		return fmt.Errorf("%w: %v", ErrMarshallingError, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("server closed the connection: %w", err)
	}
	return err
}

func (c *conn) handleFrame(dec *proto.Decoder, frame []byte) error {
	dec.Reset(frame)
	var h proto.ReplyHeader
	h.Decode(dec)
	if dec.Err() != nil {
		// Whose reply this was cannot be known: every request in flight
		// fails with connection loss.
		return fmt.Errorf("%w: reply header: %v", ErrMarshallingError, dec.Err())
	}
	if h.Zxid > 0 {
		c.hooks.observeZxid(h.Zxid)
	}
	if h.Xid != proto.XidNotification {
		c.lastReply.Store(monoNow())
	}
	switch h.Xid {
	case proto.XidNotification:
		var ev proto.WatcherEvent
		ev.Decode(dec)
		if dec.Err() != nil {
			return fmt.Errorf("%w: watch event: %v", ErrMarshallingError, dec.Err())
		}
		c.hooks.onEvent(ev)
		return nil
	case proto.XidPing:
		c.specialAnswered(false)
		ping, skipped, ok := c.pingAnswered()
		if !ok {
			return nil
		}
		if skipped > 0 {
			// The server answers a session's frames in order (credentials
			// on arrival, so no later): the frames sent ahead of this ping
			// will not be answered now. They were lost on the way:
			// requests whose callers would wait for them, or the
			// credentials or watches of the session, while the pings kept
			// the connection alive. A new connection sends those again.
			return fmt.Errorf("%w: a ping was answered before %d frames sent ahead of it: they were lost on the way", ErrConnectionLoss, skipped)
		}
		c.credit(ping.sent, h.Err)
		return nil
	case proto.XidAuth:
		c.specialAnswered(true)
		if h.Err != 0 {
			err := &Error{Code: Code(h.Err), Op: "auth"}
			c.hooks.onAuthFailed(err)
			return err
		}
		return nil
	case proto.XidSetWatches:
		c.specialAnswered(true)
		if h.Err != 0 {
			c.log.Warn("zk: setWatches refused", zap.Int32("code", h.Err))
		}
		if applied := c.setWatchesAnswered(); applied != nil {
			applied(h.Zxid, true)
		}
		return nil
	}
	r := c.popPending()
	if r == nil || r.xid != h.Xid {
		if r != nil {
			// Popped, so fail will not see it. The frame is not its reply:
			// for it, the connection was lost.
			r.lose(&Error{Code: CodeConnectionLoss})
		}
		return fmt.Errorf("%w: reply xid %d does not match the oldest request", ErrMarshallingError, h.Xid)
	}
	r.zxid = h.Zxid
	c.credit(r.sent, h.Err)
	var err error
	if h.Err != 0 {
		err = &Error{Code: Code(h.Err)}
	}
	if err == nil || (r.decodeOnError && dec.Remaining() > 0) {
		r.resp.Decode(dec)
		if dec.Err() != nil {
			// The connection ends, and the caller learns why: the request
			// may have been applied, but its reply cannot be read. r
			// belongs to its caller once finished, so read it first.
			err := fmt.Errorf("%w: reply to opcode %d: %v", ErrMarshallingError, r.opcode, dec.Err())
			r.lose(err)
			return err
		}
	}
	r.err = err
	if r.onReply != nil {
		r.onReply(r)
	}
	r.finish(err)
	return nil
}

func (c *conn) popPending() *request {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.head >= len(c.pending) {
		return nil
	}
	r := c.pending[c.head]
	c.pending[c.head] = nil
	c.head++
	c.answered++
	if c.head == len(c.pending) {
		c.pending = c.pending[:0]
		c.head = 0
	}
	return r
}

// fail closes the connection once and fails every request still waiting
// with connection loss.
func (c *conn) fail(cause error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.err = cause
	c.parked.Stop()
	waiting := c.pending[c.head:]
	c.pending, c.head = nil, 0
	c.out, c.spare = nil, nil
	lostFrames := c.setWatchesDone
	c.setWatchesDone = nil
	c.mu.Unlock()
	close(c.done)
	_ = closeSocket(c.nc)
	for _, r := range waiting {
		r.lose(connectionLoss(cause))
	}
	for _, applied := range lostFrames {
		if applied != nil {
			applied(0, false)
		}
	}
}

// stop closes the connection and waits for its goroutines, and for the
// callers reading their own replies or writing their own requests.
func (c *conn) stop(cause error) {
	c.fail(cause)
	c.wg.Wait()
}

func (c *conn) cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
