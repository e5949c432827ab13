package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// Client is a ZooKeeper client: one session at a time over one pipelined
// connection, moved between servers as they fail. It is safe for concurrent
// use.
type Client struct {
	cfg     config
	servers []serverAddr
	root    chroot
	log     *zap.Logger

	mu        sync.Mutex
	state     State
	started   bool
	closed    bool
	ready     chan struct{} // closed while a connection serves requests
	sess      *Session
	orphan    *Session   // a new session Close must end (see abandoned)
	givenUp   []*Session // sessions expired by the client's own timer, oldest first (see expire)
	ending    bool       // an endGivenUp goroutine is under way
	seenRW    bool
	preferred int
	auth      []authInfo
	stopCh    chan struct{}
	closeDone chan struct{} // closed when the first Close has done all it does
	authErr   chan struct{} // closed when the server refuses the credentials
	connErr   error         // why the last connection attempt failed, for Start
	refused   error         // the last connect request a server refused, for Start
	trying    string        // the server of the attempt under way, for Start
	wg        sync.WaitGroup

	live     atomic.Pointer[conn]
	lastZxid atomic.Int64
	// touches keeps when the server last heard from the session, for
	// expiryDeadline (touch.go).
	touches touchLog
	// lastXid is the request id the last connection used: the next one
	// goes on from it, as the Java client does. A server matches the
	// requests it committed to those waiting by session and request id, so
	// ids that started over on each connection could let a request still
	// in flight from an earlier connection, committed later, answer a new
	// request of the same id on another server of the ensemble.
	lastXid atomic.Int32
	// noGrace is set by a Start whose ctx ended: its Close cuts a
	// handshake in progress at once instead of after a grace (see
	// untilStopped), so that Start returns when ctx ends.
	noGrace atomic.Bool

	watches   *watchRegistry
	stats     *statCache
	listeners *listeners
}

// NewClient validates servers ("host:port,host:port[/chroot]") and options
// and returns a client. It does no I/O; Start connects.
func NewClient(servers string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.err != nil {
		return nil, opError("NewClient", "", cfg.err)
	}
	cfg.defaultWireACL = toProtoACL(cfg.defaultACL)
	addrs, root, err := parseServers(servers)
	if err != nil {
		return nil, opError("NewClient", "", err)
	}
	if cfg.chrootSet {
		root = cfg.chroot
	}
	c := &Client{
		cfg:       cfg,
		servers:   addrs,
		root:      chroot(root),
		log:       cfg.logger,
		ready:     make(chan struct{}),
		preferred: -1,
		auth:      append([]authInfo(nil), cfg.auth...),
		stopCh:    make(chan struct{}),
		closeDone: make(chan struct{}),
		authErr:   make(chan struct{}),
		stats:     newStatCache(cfg.statCacheSize),
		listeners: newListeners(),
	}
	c.watches = newWatchRegistry(c.root, cfg.eventBuffer, &c.wg)
	c.watches.limitRequests(cfg.maxDataSize)
	return c, nil
}

// Start connects to a server, waits for the session and creates the chroot
// node when it is missing. It returns when the client is connected or ctx
// ends; on failure the client is closed, and the error says why the last
// connection attempt failed, or which server the attempt still under way
// was trying. When the server refuses the credentials of
// WithAuth, Start fails with ErrAuthFailed.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return opError("Start", "", ErrClosed)
	case c.started:
		c.mu.Unlock()
		return opError("Start", "", ErrInvalidClientState)
	}
	c.started = true
	// Added under mu, so a concurrent Close, which waits after it sets
	// closed under mu, always waits for run too.
	c.wg.Add(1)
	c.mu.Unlock()

	go c.run()
	if err := c.waitReady(ctx); err != nil {
		// Why the last attempt failed, read before Close cuts short the
		// attempt in progress.
		c.mu.Lock()
		last, refused, trying := c.connErr, c.refused, c.trying
		c.mu.Unlock()
		if ctx.Err() != nil {
			// Close cuts a handshake still under way at once: a server
			// that would answer it after all has made a session with
			// nothing in it, which times out there.
			c.noGrace.Store(true)
		}
		_ = c.Close()
		switch {
		case refused != nil && refused != last:
			// A server's refusal tells more than a later attempt that
			// reached no server.
			return &callError{op: "Start", err: fmt.Errorf("%w (last connection attempt: %w; a server refused an earlier one: %w)", err, last, refused)}
		case last != nil:
			// Say why no connection was made, such as a certificate the
			// client does not trust.
			return &callError{op: "Start", err: fmt.Errorf("%w (last connection attempt: %w)", err, last)}
		case trying != "" && !errors.Is(err, ErrClosed):
			// No attempt ended in time: a server that accepts the
			// connection and does not answer, say.
			return &callError{op: "Start", err: fmt.Errorf("%w (the connection attempt to %s had not ended)", err, trying)}
		}
		return opError("Start", "", err)
	}
	// The server answers the credentials, which go first on the
	// connection, before any later request: one round trip tells whether
	// it took them.
	var err error
	switch {
	case c.root != "":
		err = c.ensureServerPath(ctx, string(c.root))
	case c.hasAuth():
		_, err = c.existsServer(ctx, "/")
	}
	if err = c.authOutcome(err); err != nil {
		_ = c.Close()
		return opError("Start", string(c.root), err)
	}
	return nil
}

func (c *Client) hasAuth() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.auth) > 0
}

// authOutcome is the error of a round trip made after credentials were
// sent: ErrAuthFailed when the server refused them. The server closes the
// connection then, and a policy that does not retry reports only the loss.
func (c *Client) authOutcome(err error) error {
	if c.State() == StateAuthFailed {
		return ErrAuthFailed
	}
	return err
}

// Close ends the session on the server, so its ephemeral nodes go at once,
// and stops every goroutine of the client before it returns. The session
// ends for the client (Session.Done) before the request to end it leaves,
// so work tied to it stops before the server lets its nodes go; calls tied
// to it (WithSession) fail with ErrClosed then, even those whose replies
// were on their way. It is idempotent and safe without Start; every call
// returns once the client is closed in full. A state listener must not
// call it: Close waits for the listeners. When the client has no
// connection at the time (it is reconnecting, or stopped after an
// authentication failure), it connects once more to end the session. A
// handshake in progress gets half of Close's time to finish, and a new
// session it brings is ended too, as is a session the client gave up by
// its own timer (see WithSessionTimeout) that the server may still hold.
// Close spends at most a read timeout, and no more than 3 s, ending
// sessions; if no server answers by then, the server ends the session
// when it times out.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.closeDone
		return nil
	}
	c.closed = true
	started := c.started
	sess := c.sess
	c.mu.Unlock()
	if sess != nil {
		// Its users learn that the session ends before the server ends
		// it: a lock tied to it reports the loss before the server
		// deletes its node and another contender takes the lock.
		sess.end(ErrClosed)
	}
	if started {
		deadline := time.Now().Add(c.closeWait())
		ended := false
		if cn := c.live.Load(); cn != nil {
			ended = c.closeSession(cn, deadline)
		}
		close(c.stopCh)
		c.wg.Wait()
		c.closeSessionAnew(deadline, !ended)
	}
	c.mu.Lock()
	sess = c.sess // a session made meanwhile, if any
	c.setState(StateClosed)
	c.mu.Unlock()
	if sess != nil {
		sess.end(ErrClosed)
	}
	c.watches.endAll(ErrClosed)
	c.listeners.wait()
	close(c.closeDone)
	return nil
}

// hold counts a goroutine about to start in the client's WaitGroup, which
// Close waits for, and reports true; on a closed client it counts nothing
// and reports false. The goroutine calls c.wg.Done when it ends.
func (c *Client) hold() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// background runs fn on a goroutine of the client's (hold); on a closed
// client it runs fn at once, as nothing is left for fn to wait for.
func (c *Client) background(fn func()) {
	if !c.hold() {
		fn()
		return
	}
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

// State returns the client's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// AddStateListener calls fn with every state transition from now on, in
// order, on a goroutine of the client's; transitions made before, even
// those not yet delivered to other listeners, do not reach it (State
// tells the current state). A slow listener delays later calls but never
// loses a transition. The returned function removes the listener; a
// transition whose delivery had begun may still reach it once after that.
//
// Close waits for the listeners to see StateClosed, so a listener must not
// call Close itself; it may start it on another goroutine (go c.Close()).
func (c *Client) AddStateListener(fn func(State)) (remove func()) {
	return c.listeners.add(fn)
}

// Session returns the current session, or nil before the first one is
// established and between an expiry and the next session.
//
// A session ends with ErrSessionExpired when the server expires it, or
// when the client cannot reach a server until nine tenths of the session
// timeout have passed since the server last heard from it: the client
// then gives it up itself, before the server can hand its ephemeral nodes
// to someone else (see WithSessionTimeout).
func (c *Client) Session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// WaitSession waits until the client has a live session and returns it.
// It fails with ErrNotStarted, ErrClosed, ErrAuthFailed or ctx's error.
func (c *Client) WaitSession(ctx context.Context) (*Session, error) {
	for {
		if err := c.waitReady(ctx); err != nil {
			return nil, opError("waitSession", "", err)
		}
		c.mu.Lock()
		s := c.sess
		c.mu.Unlock()
		if s != nil && s.Err() == nil {
			return s, nil
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return nil, opError("waitSession", "", err)
		}
	}
}

// Chroot returns the client's chroot, or "" for none.
func (c *Client) Chroot() string { return string(c.root) }

// LastZxid returns the newest zxid the client has seen. A session made
// after an expiry starts again from 0; a read-write session that replaces
// a read-only one keeps what the read-only one saw, so that its watches
// are set again from there.
func (c *Client) LastZxid() int64 { return c.lastZxid.Load() }

// setState records s and queues it for listeners. Called with mu held, so
// listeners see transitions in the order they happened.
func (c *Client) setState(s State) {
	if c.state == s {
		return
	}
	c.state = s
	c.listeners.publish(s)
}

// waitReady blocks until a connection serves requests, the client closes or
// ctx ends.
func (c *Client) waitReady(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case !c.started:
		c.mu.Unlock()
		return ErrNotStarted
	case c.state == StateAuthFailed:
		c.mu.Unlock()
		return ErrAuthFailed
	}
	ready := c.ready
	c.mu.Unlock()
	select {
	case <-ready:
		return nil
	default:
	}
	tied := tiedSession(ctx)
	if err := stoppedBy(ctx, tied); err != nil {
		return err
	}
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-sessionEnded(tied):
		return stoppedBy(ctx, tied)
	case <-c.stopCh:
		return ErrClosed
	case <-c.authErr:
		return ErrAuthFailed
	}
}

// call sends one request on the live connection and waits for its reply or
// ctx. A cancelled call returns at once; its late reply is dropped, but
// onReply still runs for it, or for its loss (see request.abandon).
func (c *Client) call(ctx context.Context, req proto.Request, resp proto.Response, onReply func(*request), decodeOnError bool) (int64, error) {
	began := c.debugStart()
	zxid, err := c.exchange(ctx, req, resp, onReply, decodeOnError)
	c.debugCall(began, req, zxid, err)
	return zxid, err
}

// exchange is call without its Debug log.
func (c *Client) exchange(ctx context.Context, req proto.Request, resp proto.Response, onReply func(*request), decodeOnError bool) (int64, error) {
	cn, tied, err := c.liveFor(ctx)
	if err != nil {
		return 0, err
	}
	r := newRequest(resp)
	r.onReply = onReply
	r.decodeOnError = decodeOnError
	own, err := cn.sendOwn(req, r)
	if err != nil {
		r.release()
		return 0, err
	}
	if own {
		cn.readOwn(ctx, r)
	}
	if !replied(ctx, tied, r) {
		if r.abandon() {
			return 0, stillOut(ctx, tied)
		}
		<-r.done // the outcome came in meanwhile
	}
	zxid, err := r.zxid, r.err
	r.release()
	return zxid, err
}

// stillOut is the error of a call that stops waiting while its request
// is out: ctx's, marked as such (stillOutError), or that of the session
// the call is tied to, which has ended, and the connection with it.
func stillOut(ctx context.Context, tied *Session) error {
	if err := ctx.Err(); err != nil {
		return &stillOutError{cause: err}
	}
	return stoppedBy(ctx, tied)
}

// liveFor returns the live connection for a call made with ctx, and the
// session the call is tied to (WithSession; nil for none), or why the call
// cannot go out: ctx or the tied session ended, the live connection
// belongs to another session, the client is closed (ErrClosed), or there
// is no live connection (not sent, for the retry policy to wait).
func (c *Client) liveFor(ctx context.Context) (*conn, *Session, error) {
	tied := tiedSession(ctx)
	if err := stoppedBy(ctx, tied); err != nil {
		return nil, tied, err
	}
	cn := c.live.Load()
	if cn == nil {
		if c.isClosed() {
			return nil, tied, ErrClosed
		}
		return nil, tied, &notSentError{}
	}
	return cn, tied, sessionMismatch(tied, cn)
}

// replied waits for r's reply and reports true, or reports false when ctx
// ends first, or tied, the session the call is tied to (WithSession; nil
// for none). A reply already in wins over an ended ctx: the call happened.
func replied(ctx context.Context, tied *Session, r *request) bool {
	select {
	case <-r.done:
		return true
	default:
	}
	select {
	case <-r.done:
		return true
	case <-ctx.Done():
		return false
	case <-sessionEnded(tied):
		return false
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// connHooks, called by the live connection's reader.

func (c *Client) observeZxid(zxid int64) {
	for {
		old := c.lastZxid.Load()
		if zxid <= old || c.lastZxid.CompareAndSwap(old, zxid) {
			return
		}
	}
}

// expiryLeft returns how long remains until the client's own expiry
// deadline (see connHooks).
func (c *Client) expiryLeft() (left, timeout time.Duration, ok bool) {
	deadline, timeout, ok := c.expiryDeadline()
	if !ok {
		return 0, 0, false
	}
	return time.Until(deadline), timeout, true
}

// touched records that the server heard from the session at or after
// sent (monoNow).
func (c *Client) touched(sent int64) { c.touches.add(sent) }

func (c *Client) noWatches() bool { return c.watches.empty() }

func (c *Client) onEvent(ev proto.WatcherEvent) {
	if ev.Type == proto.EventNone {
		return
	}
	if !strings.HasPrefix(ev.Path, "/") {
		// No server sends such a path, and the watches, kept by absolute
		// path, could not be its; finding its parents would go wrong.
		c.log.Warn("zk: dropped a watch event whose path is not absolute", zap.String("path", ev.Path))
		return
	}
	c.watches.dispatch(ev)
}

func (c *Client) onAuthFailed(err error) {
	c.log.Warn("zk: authentication failed", zap.Error(err))
	c.mu.Lock()
	var sess *Session
	if c.state != StateAuthFailed {
		c.setState(StateAuthFailed)
		close(c.authErr)
		sess = c.sess
	}
	c.mu.Unlock()
	if sess != nil {
		// The client connects no more, so the session is lost to it, and
		// the server expires it a session timeout from now. It ends here,
		// before the server can give its ephemeral nodes to anyone else.
		lost := fmt.Errorf("%w: %w", ErrSessionExpired, ErrAuthFailed)
		sess.end(lost)
		c.watches.endAll(lost)
	}
}
