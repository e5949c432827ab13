package core

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// closeWaitLimit bounds how long Close waits to end the session on the
// server.
const closeWaitLimit = 3 * time.Second

// closeWait is how long Close may spend ending the session on the server:
// a read timeout, at most closeWaitLimit.
func (c *Client) closeWait() time.Duration {
	return min(effectiveReadTimeout(c.cfg.readTimeout, c.sessionTimeout()), closeWaitLimit)
}

// closeSession ends the session on the live connection cn, waiting for
// the reply until deadline. It reports whether the server answered that
// it did.
func (c *Client) closeSession(cn *conn, deadline time.Time) bool {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	r := newRequest(&proto.EmptyResponse{})
	if err := cn.sendFinal(&proto.EmptyRequest{Op: proto.OpCloseSession}, r); err != nil {
		return false
	}
	select {
	case <-r.done:
		// A connection lost with the request out finishes it too: the
		// session may live on, and closeSessionAnew tries again.
		err := r.err
		r.release()
		return err == nil
	case <-ctx.Done():
		c.log.Warn("zk: closeSession got no reply")
		return false
	}
}

// closeSessionAnew ends sessions on the server that Close could not end on
// a live connection: the client's own when current is set (the client was
// between connections, or had stopped connecting after an authentication
// failure), a new session whose handshake Close interrupted (see
// abandoned), and the sessions the client gave up by its own timer that no
// connection has ended yet (see expire). Once the client's goroutines have
// stopped, it connects again with each session's id and password, sends
// no credentials (ending a session needs none), and asks the server to
// end the session, trying the servers in turn until deadline; the
// sessions other than the client's own share the time it leaves. Without it
// the session, and its ephemeral nodes, would live on for a session
// timeout. A session the server reported expired is gone already, and a
// read-only one that never met a read-write server (the client asks for a
// new session each time then) is left alone.
func (c *Client) closeSessionAnew(deadline time.Time, current bool) {
	var ending []proto.ConnectRequest
	c.mu.Lock()
	own := current && c.sess != nil && (c.seenRW || !c.cfg.allowReadOnly)
	if own {
		ending = append(ending, resumeRequest(c.sess, c.lastZxid.Load()))
	}
	if c.orphan != nil {
		// It has seen nothing: any server may take it back.
		ending = append(ending, resumeRequest(c.orphan, 0))
	}
	for _, s := range c.givenUp {
		// The client ended it by its own timer; any server may take it
		// back to end it.
		ending = append(ending, resumeRequest(s, 0))
	}
	c.mu.Unlock()
	for i, req := range ending {
		// The client's own session, whose nodes its users hold now, may
		// take all the time; the others each get a share of what is left,
		// so that one unreachable session's servers cannot take it all.
		share := deadline
		if i > 0 || !own {
			share = firstTurnEnds(deadline, len(ending)-i)
		}
		_ = c.closeSessionWith(req, share, serverAddr{})
	}
}

// firstTurnEnds is when the first of n turns that share the time left until
// deadline ends.
func firstTurnEnds(deadline time.Time, n int) time.Time {
	return time.Now().Add(time.Until(deadline) / time.Duration(n))
}

// resumeRequest is the connect request that takes sess back.
func resumeRequest(sess *Session, lastZxid int64) proto.ConnectRequest {
	return proto.ConnectRequest{
		LastZxidSeen: lastZxid,
		TimeoutMs:    int32(sess.Timeout() / time.Millisecond),
		SessionID:    sess.id,
		Passwd:       sess.passwd,
	}
}

// closeSessionWith ends the session req resumes, on the first server that
// lets it: first (when set, as the server the client has just reached),
// then the others in random order, each with an equal share of the time
// left until deadline, so that one silent server cannot take it all. It
// returns nil when it ended the session, an error matching
// ErrSessionExpired when a server said the session had ended already, and
// another error when no server let it.
func (c *Client) closeSessionWith(req proto.ConnectRequest, deadline time.Time, first serverAddr) error {
	order := rand.Perm(len(c.servers))
	if i := slices.Index(c.servers, first); i >= 0 {
		order = slices.Insert(slices.DeleteFunc(order, func(j int) bool { return j == i }), 0, i)
	}
	err := errors.New("no time left")
	for k, i := range order {
		if !time.Now().Before(deadline) {
			break
		}
		err = c.closeSessionOn(c.servers[i], req, firstTurnEnds(deadline, len(order)-k))
		if err == nil || errors.Is(err, ErrSessionExpired) {
			return err
		}
		c.log.Info("zk: could not end the session on a server", zap.Stringer("server", c.servers[i]),
			zap.String("session", fmt.Sprintf("0x%x", req.SessionID)), zap.Error(err))
	}
	c.log.Warn("zk: could not end the session on the server; it ends when it times out",
		zap.String("session", fmt.Sprintf("0x%x", req.SessionID)),
		zap.Duration("sessionTimeout", time.Duration(req.TimeoutMs)*time.Millisecond))
	return fmt.Errorf("the session was not ended: %w", err)
}

// closeSessionOn connects to srv with req, which resumes a session, and
// ends the session there. A server that reports the session expired has
// ended it already: the error matches ErrSessionExpired.
func (c *Client) closeSessionOn(srv serverAddr, req proto.ConnectRequest, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	nc, err := c.dial(ctx, srv)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(deadline)
	br := bufio.NewReaderSize(nc, 512)
	resp, err := exchangeConnect(nc, br, req)
	switch {
	case err != nil:
		return err
	case resp.ReadOnly:
		return errors.New("a read-only server cannot end a session")
	}
	const xid = 1
	buf, start := proto.AppendFrameStart(nil)
	buf = proto.RequestHeader{Xid: xid, Opcode: proto.OpCloseSession}.Encode(buf)
	buf = proto.FinishFrame(buf, start)
	if _, err := nc.Write(buf); err != nil {
		return err
	}
	for {
		frame, err := proto.ReadFrame(br, nil, 4096)
		if err != nil {
			return err
		}
		var h proto.ReplyHeader
		h.Decode(proto.NewDecoder(frame))
		if h.Xid == xid {
			return nil
		}
	}
}
