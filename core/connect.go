package core

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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
			if ze := (*Error)(nil); errors.As(err, &ze) && ze.Op == "connect" {
				c.refused = err // a server answered with a refusal
			}
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
