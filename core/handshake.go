package core

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// Dialing a server and the session handshake: the connect request and its
// reply, and what becomes of a session whose handshake the client gave up.

// connectTimeout is how long one connection attempt may take, dial and
// handshake: WithConnectTimeout's, or the session timeout shared among the
// servers, at least a second.
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
		if err := refusedConnect(frame); err != nil {
			return nil, err
		}
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

// refusedConnect returns the error of a connect request that a read-only
// ZooKeeper server refused with a bare reply header carrying NotReadOnly
// instead of a connect response, as it does when it cannot make a session
// because local sessions are off; nil for any other frame, which stays a
// malformed answer. A connect response is at least 20 bytes.
func refusedConnect(frame []byte) error {
	const headerSize = 4 + 8 + 4 // xid, zxid, error code
	if len(frame) != headerSize {
		return nil
	}
	var h proto.ReplyHeader
	d := proto.NewDecoder(frame)
	h.Decode(d)
	if d.Err() != nil || h.Xid != 0 || Code(h.Err) != CodeNotReadOnly {
		return nil
	}
	return fmt.Errorf("%w (a read-only server makes new sessions only with localSessionsEnabled=true)", &Error{Code: CodeNotReadOnly, Op: "connect"})
}
