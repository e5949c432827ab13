package core

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// readBufferSize is the connection's read buffer: room for many replies
// per read system call, and still little memory for an idle client.
const readBufferSize = 16 * 1024

// errMovingToReadWrite ends a read-only connection once a read-write
// server answers.
var errMovingToReadWrite = errors.New("zk: moving to a read-write server")

// servedLongEnough is how long a connection must serve before its end
// counts as news rather than as one more failed attempt: only then does the
// reconnect backoff start over. A server that accepts a connection and
// drops it at once is retried with growing pauses, not in a tight loop.
const servedLongEnough = 2 * time.Second

// run owns the connection: it connects, serves until the connection fails,
// and reconnects, trying the servers in shuffled order with jittered
// backoff after each full round (at most a tenth of the session timeout,
// reconnectPause). A connection that served for less than
// servedLongEnough counts as a failed attempt.
func (c *Client) run() {
	defer c.wg.Done()
	bo := jittered(50*time.Millisecond, 2*time.Second)()
	order := rand.Perm(len(c.servers))
	tried := 0
	for {
		select {
		case <-c.stopCh:
			return
		default:
		}
		idx := c.nextServer(order, tried)
		tried++
		c.mu.Lock()
		c.trying = c.servers[idx].String()
		c.mu.Unlock()
		cn, ro, err := c.connect(c.servers[idx])
		if err != nil {
			if errors.Is(err, ErrSessionExpired) && c.expire("the server reports the session expired", false) {
				// Reconnect at once, with a new session.
				continue
			}
			c.log.Info("zk: connection attempt failed", zap.Stringer("server", c.servers[idx]), zap.Error(err))
			c.mu.Lock()
			c.connErr = err
			c.mu.Unlock()
			if c.checkLocalExpiry() {
				// As above: a new session is wanted now, not after a pause.
				continue
			}
			if !c.afterAttempt(tried, &order, bo) {
				return
			}
			continue
		}
		began := time.Now()
		if ro {
			c.wg.Add(1)
			go c.probeReadWrite(cn, idx)
		}
		select {
		case <-cn.done:
		case <-c.stopCh:
		}
		c.disconnected(cn)
		select {
		case <-c.stopCh:
			return
		default:
		}
		if c.State() == StateAuthFailed {
			// Refused credentials are final, as in the Java client: the
			// client stops connecting and calls fail with ErrAuthFailed.
			c.log.Warn("zk: stopped reconnecting after an authentication failure")
			return
		}
		if time.Since(began) >= servedLongEnough || errors.Is(cn.cause(), errMovingToReadWrite) {
			bo.Reset()
		} else if !c.afterAttempt(tried, &order, bo) {
			return
		}
	}
}

// afterAttempt ends a failed attempt, the tried-th: after each full round
// of the servers it shuffles their order again and pauses for the next
// backoff. It reports false when the client closed during the pause.
func (c *Client) afterAttempt(tried int, order *[]int, bo backoff.BackOff) bool {
	if tried%len(c.servers) != 0 {
		return true
	}
	*order = rand.Perm(len(c.servers))
	return c.pause(reconnectPause(bo.NextBackOff(), c.sessionTimeout()))
}

// reconnectPause is the pause before the next round of connection
// attempts: the backoff's, but at most a tenth of the session timeout
// (jittered between half of that and all of it). A network that keeps
// failing connections soon after they are made grows the backoff to its
// maximum of two seconds; a client whose session is at stake still tries
// several times before it has to give the session up, and makes use of a
// short spell in which the network works.
func reconnectPause(next, sessionTimeout time.Duration) time.Duration {
	limit := sessionTimeout / 10
	if limit <= 0 || next <= limit {
		return next
	}
	return limit/2 + rand.N(limit/2+1)
}

// sessionTimeout is the current session's timeout, or the one asked for
// when there is no session.
func (c *Client) sessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil {
		return c.sess.Timeout()
	}
	return c.cfg.sessionTimeout
}

func (c *Client) nextServer(order []int, tried int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.preferred >= 0 {
		p := c.preferred
		c.preferred = -1
		return p
	}
	return order[tried%len(order)]
}

// pause sleeps d, or less: when the session's local deadline passes first,
// it expires the session and returns at once, so that the client asks for
// a new session without waiting out the rest of the pause. It returns
// false when the client is closing.
func (c *Client) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var et *time.Timer // the local expiry's, made once
	defer func() {
		if et != nil {
			et.Stop()
		}
	}()
	for {
		var expiry <-chan time.Time
		if deadline, _, ok := c.expiryDeadline(); ok {
			if et == nil {
				et = time.NewTimer(time.Until(deadline))
			} else {
				et.Reset(time.Until(deadline))
			}
			expiry = et.C
		}
		select {
		case <-t.C:
			return true
		case <-c.stopCh:
			return false
		case <-expiry:
			if c.checkLocalExpiry() {
				return true
			}
		}
	}
}

// expiryDeadline is when the client gives its session up while it cannot
// reach a server: nine tenths of the session timeout after the server last
// heard from it, as far as the ensemble's leader knows for sure (see
// touchLog), so it reports the loss before the server hands the session's
// ephemeral nodes to anyone else. It returns the session's timeout too.
func (c *Client) expiryDeadline() (deadline time.Time, timeout time.Duration, ok bool) {
	c.mu.Lock()
	sess := c.sess
	c.mu.Unlock()
	if sess == nil || sess.Err() != nil {
		return time.Time{}, 0, false
	}
	timeout = sess.Timeout()
	ref := c.touches.relayed(int64(relayLag(timeout)))
	return monoTime(ref).Add(timeout * 9 / 10), timeout, true
}

// relayLag is how long a follower may take to pass a session's touch on
// to the leader, as the client reckons it (see touchLog).
func relayLag(sessionTimeout time.Duration) time.Duration { return sessionTimeout / 10 }

// failoverReserve is how long before the client's own expiry a connection
// whose server has gone silent ends (see conn.unanswered), so that the
// client can resume the session on another server in time: a fifth of the
// session timeout. The read timeout alone (two thirds of it) may come too
// late, as the expiry counts from a touch up to about a quarter of the
// timeout older than the newest.
func failoverReserve(sessionTimeout time.Duration) time.Duration { return sessionTimeout / 5 }

// pingInterval is how long a connection may stay quiet before it pings:
// a third of its read timeout, and no more than relayLag.
func pingInterval(readTimeout, sessionTimeout time.Duration) time.Duration {
	return min(readTimeout/3, relayLag(sessionTimeout))
}

// checkLocalExpiry expires the session when its local deadline has passed,
// and reports whether it did.
func (c *Client) checkLocalExpiry() bool {
	if deadline, _, ok := c.expiryDeadline(); ok && !time.Now().Before(deadline) {
		return c.expire("disconnected for longer than the session timeout", true)
	}
	return false
}

// endGivenUp ends the sessions the client gave up (see expire) on the
// server, first on srv, the server the client has just connected to. It
// takes at most Close's time for ending sessions (closeWait), shared
// between them, so a Close that begins meanwhile keeps its bound. Those
// no server let it end stay given up, for the next connection or Close to
// try again.
func (c *Client) endGivenUp(sessions []*Session, srv serverAddr) {
	defer c.wg.Done()
	deadline := time.Now().Add(c.closeWait())
	var ended []*Session
	for i, s := range sessions {
		err := c.closeSessionWith(resumeRequest(s, 0), shareOf(deadline, len(sessions)-i), srv)
		id := zap.String("session", fmt.Sprintf("0x%x", s.id))
		switch {
		case err == nil:
			c.log.Info("zk: ended on the server the session the client gave up", id)
		case errors.Is(err, ErrSessionExpired):
			c.log.Info("zk: the session the client gave up had expired on the server", id)
		default:
			continue
		}
		ended = append(ended, s)
	}
	c.mu.Lock()
	c.ending = false
	c.givenUp = slices.DeleteFunc(c.givenUp, func(s *Session) bool { return slices.Contains(ended, s) })
	c.mu.Unlock()
}

// maxGivenUp is how many sessions given up by the client's own timer, and
// not yet ended on the server, the client remembers (see expire).
const maxGivenUp = 4

// expire ends the current session: listeners see Expired, every watch ends
// with ErrSessionExpired, and the next connection makes a new session.
//
// local says the client gives the session up by its own timer. The server
// may hold it for a while yet, with its ephemeral nodes: the rest of its
// timeout, or a whole new timeout when a new leader took the sessions
// over. So it joins givenUp: each read-write connection that follows
// tries to end it there (endGivenUp) until one does, and Close tries if
// none has, so that its nodes go at once rather than stand in the way of
// the new session's, such as a lock's. The client remembers maxGivenUp
// such sessions; past that, the oldest is left to time out on the server.
// A read-only session that never met a read-write server is left alone,
// as closeSessionAnew leaves it.
//
// It reports whether there was a session to end.
func (c *Client) expire(reason string, local bool) bool {
	c.mu.Lock()
	sess := c.sess
	if sess == nil || c.closed {
		c.mu.Unlock()
		return false
	}
	var forgotten *Session
	if local && (c.seenRW || !c.cfg.allowReadOnly) {
		c.givenUp = append(c.givenUp, sess)
		if len(c.givenUp) > maxGivenUp {
			forgotten = c.givenUp[0]
			c.givenUp = slices.Delete(c.givenUp, 0, 1)
		}
	}
	c.sess = nil
	c.seenRW = false
	c.setState(StateExpired)
	c.setState(StateConnecting)
	c.mu.Unlock()
	c.log.Warn("zk: session expired", zap.String("session", fmt.Sprintf("0x%x", sess.id)), zap.String("reason", reason))
	if forgotten != nil {
		c.log.Warn("zk: too many sessions given up and not yet ended on the server; the oldest ends when it times out there",
			zap.String("session", fmt.Sprintf("0x%x", forgotten.id)))
	}
	sess.end(ErrSessionExpired)
	c.watches.endAll(ErrSessionExpired)
	c.stats.clear()
	return true
}

func (c *Client) connectTimeout() time.Duration {
	if c.cfg.connectTimeout > 0 {
		return c.cfg.connectTimeout
	}
	d := c.cfg.sessionTimeout / time.Duration(len(c.servers))
	if d < time.Second {
		d = time.Second
	}
	return d
}

// connect dials srv, performs the session handshake and, on success, makes
// the connection live. ro reports a read-only server.
func (c *Client) connect(srv serverAddr) (cn *conn, ro bool, err error) {
	deadline := time.Now().Add(c.connectTimeout())
	if exp, _, ok := c.expiryDeadline(); ok && exp.Before(deadline) {
		deadline = exp
	}
	bounded, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ctx, stop := c.untilStopped(bounded, nil, 0)
	defer stop()

	nc, err := c.dial(ctx, srv)
	if err != nil {
		return nil, false, err
	}
	if c.cfg.ownPolling && runtime.GOMAXPROCS(0) > 1 {
		// With one proc, every wait of the reader that the scheduler
		// hears of hands that proc to another thread and back; the
		// network poller parks the goroutine instead, which costs less.
		nc = ownSocket(nc)
	}
	if ctx.Err() != nil {
		_ = nc.Close()
		return nil, false, fmt.Errorf("%w: connection attempt ended", ErrConnectionLoss)
	}
	// The deadline interrupts the handshake's I/O, and so does closing the
	// client, after a grace in which the server's answer may still come
	// (see abandoned).
	hctx, hstop := c.untilStopped(bounded, nil, c.closeWait()/2)
	defer hstop()
	release := closeOnDone(hctx, nc)
	defer release()
	_ = nc.SetDeadline(deadline)
	sock := newSockReader(nc)
	br := bufio.NewReaderSize(sock, readBufferSize)
	sent := monoNow() // before the connect request leaves
	resp, err := c.handshake(nc, br)
	if err != nil {
		_ = nc.Close()
		// Name the server, as a failed dial does.
		return nil, false, &ConnectError{Host: srv.host, Port: srv.port, Err: err}
	}
	if !release() {
		c.abandoned(resp)
		return nil, false, fmt.Errorf("%w: connection attempt ended", ErrConnectionLoss)
	}
	_ = nc.SetDeadline(time.Time{})
	cn, err = c.establish(srv, nc, sock, br, resp, sent)
	if err != nil {
		_ = nc.Close()
		c.abandoned(resp)
		return nil, false, err
	}
	c.log.Info("zk: connected", zap.Stringer("server", srv),
		zap.String("session", fmt.Sprintf("0x%x", resp.SessionID)),
		zap.Duration("timeout", time.Duration(resp.TimeoutMs)*time.Millisecond),
		zap.Bool("readOnly", resp.ReadOnly))
	return cn, resp.ReadOnly, nil
}

func (c *Client) dial(ctx context.Context, srv serverAddr) (net.Conn, error) {
	dial := c.cfg.dialer
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", srv.String())
	if err != nil {
		return nil, &ConnectError{Host: srv.host, Port: srv.port, Err: err}
	}
	if c.cfg.tlsConfig == nil {
		return nc, nil
	}
	cfg := c.cfg.tlsConfig.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = srv.host
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		// Say it was TLS that failed: a server that does not speak it
		// closes the connection, which the TLS library reports as a
		// bare EOF.
		return nil, &ConnectError{Host: srv.host, Port: srv.port, Err: fmt.Errorf("TLS handshake: %w", err)}
	}
	return tc, nil
}

// handshake asks the server at the other end of nc for the client's
// session: the current one, or a new one when there is none.
func (c *Client) handshake(nc net.Conn, br *bufio.Reader) (*proto.ConnectResponse, error) {
	return exchangeConnect(nc, br, c.connectRequest())
}

// connectRequest is the request for the client's current session, or for a
// new one.
func (c *Client) connectRequest() proto.ConnectRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := proto.ConnectRequest{
		LastZxidSeen: c.lastZxid.Load(),
		TimeoutMs:    int32(c.cfg.sessionTimeout / time.Millisecond),
		ReadOnly:     c.cfg.allowReadOnly,
	}
	if c.sess != nil && (c.seenRW || !c.cfg.allowReadOnly) {
		req.SessionID = c.sess.id
		req.Passwd = c.sess.passwd
	}
	if c.sess == nil {
		// A new session has seen nothing. Asking for it with the zxid an
		// ended session saw would have servers that are behind it (an
		// ensemble restored or rebuilt) refuse the client for ever, as a
		// new handle of the Java client would not be.
		req.LastZxidSeen = 0
	}
	return req
}

// exchangeConnect sends req over nc and reads the server's answer.
func exchangeConnect(nc net.Conn, br *bufio.Reader, req proto.ConnectRequest) (*proto.ConnectResponse, error) {
	buf, start := proto.AppendFrameStart(nil)
	buf = req.Encode(buf)
	buf = proto.FinishFrame(buf, start)
	if _, err := nc.Write(buf); err != nil {
		return nil, fmt.Errorf("%w: handshake: %w", ErrConnectionLoss, err)
	}
	frame, err := proto.ReadFrame(br, nil, 4096)
	if err != nil {
		if errors.Is(err, io.EOF) {
			// A server refuses a client that has seen a newer zxid than its
			// own by closing the connection; the next server may be ahead.
			return nil, fmt.Errorf("%w: server closed the connection during the handshake", ErrConnectionLoss)
		}
		if errors.Is(err, proto.ErrFrameTooLarge) || errors.Is(err, proto.ErrBadLength) {
			// Not a connect response: malformed, as a body that does not
			// decode is below.
			return nil, fmt.Errorf("%w: connect response: %w", ErrMarshallingError, err)
		}
		return nil, fmt.Errorf("%w: handshake: %w", ErrConnectionLoss, err)
	}
	var resp proto.ConnectResponse
	d := proto.NewDecoder(frame)
	resp.Decode(d)
	if d.Err() != nil {
		return nil, fmt.Errorf("%w: connect response: %w", ErrMarshallingError, d.Err())
	}
	if resp.TimeoutMs <= 0 {
		return nil, ErrSessionExpired
	}
	return &resp, nil
}

// abandoned notes the session of a handshake whose connection never went
// live: the client was closing, or the attempt's deadline passed just
// after the server's answer came. When it is a new session, nothing else
// knows of it, and it would live on for a session timeout. A closing
// client leaves it to Close, which ends it on the server
// (closeSessionAnew); otherwise it is ended there at once, in the
// background (endAbandoned), while the client goes on connecting. A
// session from a read-only server is left alone, as closeSessionAnew
// leaves it.
func (c *Client) abandoned(resp *proto.ConnectResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if resp.ReadOnly || (c.sess != nil && c.sess.id == resp.SessionID) {
		return
	}
	s := newSession(resp.SessionID, resp.Passwd, time.Duration(resp.TimeoutMs)*time.Millisecond)
	if c.closed {
		c.orphan = s
		return
	}
	// Added under mu while the client is open, so Close waits for it.
	c.wg.Add(1)
	go c.endAbandoned(s)
}

// endAbandoned ends s, a new session whose handshake the client gave up,
// on the server. It takes at most Close's time for ending sessions
// (closeWait), so a Close that begins meanwhile keeps its bound.
func (c *Client) endAbandoned(s *Session) {
	defer c.wg.Done()
	c.log.Info("zk: ending the session of a handshake that ran out of time",
		zap.String("session", fmt.Sprintf("0x%x", s.id)))
	_ = c.closeSessionWith(resumeRequest(s, 0), time.Now().Add(c.closeWait()), serverAddr{})
}

// establish makes nc the live connection: credentials first, then the
// re-registration of watches, then the callers waiting for a connection.
// sent is when the connect request was sent.
func (c *Client) establish(srv serverAddr, nc net.Conn, sock *sockReader, br *bufio.Reader, resp *proto.ConnectResponse, sent int64) (*conn, error) {
	timeout := time.Duration(resp.TimeoutMs) * time.Millisecond
	readTimeout := effectiveReadTimeout(c.cfg.readTimeout, timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.sess == nil || c.sess.id != resp.SessionID {
		if c.sess != nil {
			// A read-only session gave way to a new read-write one. It ends
			// before the new connection is published, so a call tied to it
			// finds it ended.
			c.sess.end(ErrSessionExpired)
		}
		if c.sess == nil {
			// A new session after an expiry: the zxids the ended one saw
			// may be ahead of these servers (see handshake), and resuming
			// this session must not be refused for them.
			c.lastZxid.Store(0)
		}
		c.sess = newSession(resp.SessionID, resp.Passwd, timeout)
	} else {
		// The same session on a server with other bounds: the server
		// measures its expiry by this connection's timeout from now on.
		c.sess.timeout.Store(int64(timeout))
	}
	if !resp.ReadOnly {
		c.seenRW = true
	}
	// A read-only server refreshes a session only in its own minority,
	// while the quorum may expire it: its answers say nothing of when the
	// quorum last heard from a session that a read-write server knows.
	credits := !resp.ReadOnly || !c.seenRW
	if credits {
		c.touches.join(sent, int64(relayLag(timeout)))
	}
	cn := newConn(nc, c, c.log, readTimeout, replyFrameLimit(c.cfg.maxDataSize), c.lastXid.Load())
	cn.pingEvery = pingInterval(readTimeout, timeout)
	cn.credits = credits
	cn.maxRequest = c.cfg.maxDataSize
	cn.gather = c.cfg.gatherReplies
	cn.sess = c.sess
	for _, a := range c.auth {
		_ = cn.sendSpecial(proto.XidAuth, &proto.AuthRequest{Scheme: a.scheme, Auth: a.auth})
	}
	frames := c.watches.rearmRequests(c.lastZxid.Load())
	for _, req := range frames.main {
		_ = cn.sendSpecial(proto.XidSetWatches, req)
	}
	for _, g := range frames.behind {
		for i, req := range g.reqs {
			var applied appliedFunc
			if i == len(g.reqs)-1 {
				applied = g.applied
			}
			_ = cn.sendSetWatches(req, applied)
		}
	}
	cn.start(sock, br)
	c.live.Store(cn)
	close(c.ready)
	if len(c.givenUp) > 0 && !resp.ReadOnly && !c.ending {
		// Under mu with the client open, so Close waits for it.
		c.ending = true
		c.wg.Add(1)
		go c.endGivenUp(slices.Clone(c.givenUp), srv)
	}
	if resp.ReadOnly {
		c.setState(StateConnectedReadOnly)
	} else {
		c.setState(StateConnected)
	}
	return cn, nil
}

// effectiveReadTimeout is a connection's read timeout: two thirds of the
// negotiated session timeout, or the configured read timeout (0 for none)
// when that is shorter. The client pings after a third of it at most (see
// pingInterval), so the server hears from an idle session well within the
// session timeout.
func effectiveReadTimeout(configured, session time.Duration) time.Duration {
	d := session * 2 / 3
	if configured > 0 && configured < d {
		d = configured
	}
	return d
}

// replyFrameLimit is the largest reply frame the client reads: a node's
// data of maxDataSize bytes, with room for the record around it, and never
// less than for the server's default jute.maxbuffer.
func replyFrameLimit(maxDataSize int) int {
	const headroom = proto.DefaultMaxFrame - 0xfffff
	if maxDataSize > math.MaxInt32-headroom {
		return math.MaxInt32 // as long as a frame's length can say
	}
	return max(proto.DefaultMaxFrame, maxDataSize+headroom)
}

// disconnected retires a failed connection and, unless the client is
// closing, reports the session as suspended.
func (c *Client) disconnected(cn *conn) {
	cn.stop(errors.New("connection retired"))
	c.lastXid.Store(cn.lastXid())
	c.mu.Lock()
	if c.live.Load() == cn {
		c.live.Store(nil)
		c.ready = make(chan struct{})
	}
	if !c.closed && c.state != StateAuthFailed && c.sess != nil {
		c.setState(StateSuspended)
	}
	c.mu.Unlock()
	if cause := cn.cause(); cause != nil && !c.isClosed() {
		c.log.Info("zk: disconnected", zap.Error(cause))
	}
}

// probeReadWrite looks for a read-write server while the client is served
// by a read-only one, and moves the client there when one answers "rw" to
// the isro command. Close, or the end of the read-only connection, stops
// it at once, a probe in progress included.
func (c *Client) probeReadWrite(cn *conn, current int) {
	defer c.wg.Done()
	ctx, stop := c.untilStopped(context.Background(), cn.done, 0)
	defer stop()
	bo := jittered(100*time.Millisecond, 5*time.Second)()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(bo.NextBackOff()):
		}
		for i, srv := range c.servers {
			if ctx.Err() != nil {
				return
			}
			if i == current && len(c.servers) > 1 {
				continue
			}
			if c.isReadWrite(ctx, srv) {
				c.mu.Lock()
				c.preferred = i
				c.mu.Unlock()
				c.log.Info("zk: found a read-write server", zap.Stringer("server", srv))
				cn.fail(errMovingToReadWrite)
				return
			}
		}
	}
}

// isReadWrite asks srv whether it serves writes, within a second and
// until ctx ends.
func (c *Client) isReadWrite(ctx context.Context, srv serverAddr) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	nc, err := c.dial(ctx, srv)
	if err != nil {
		return false
	}
	defer nc.Close()
	release := closeOnDone(ctx, nc)
	defer release()
	if _, err := nc.Write([]byte("isro")); err != nil {
		return false
	}
	answer := make([]byte, 2)
	if _, err := io.ReadFull(nc, answer); err != nil {
		return false
	}
	return string(answer) == "rw"
}
