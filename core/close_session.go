package core

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
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

// closeSessionAnew ends the session on the server when Close found no live
// connection to end it on: the client was between connections, or had
// stopped connecting after an authentication failure. Once the client's
// goroutines have stopped, it connects again with the session's id and
// password, sends no credentials (ending a session needs none), and asks
// the server to end the session, trying the servers in turn until
// deadline. Without it the session, and its ephemeral nodes, would live on
// for a session timeout. A session the client knows has expired is gone
// already, and a read-only one that never met a read-write server (the
// client asks for a new session each time then) is left alone.
func (c *Client) closeSessionAnew(deadline time.Time) {
	c.mu.Lock()
	sess := c.sess
	ours := sess != nil && (c.seenRW || !c.cfg.allowReadOnly)
	c.mu.Unlock()
	if !ours {
		return
	}
	for _, i := range rand.Perm(len(c.servers)) {
		if !time.Now().Before(deadline) {
			break
		}
		if err := c.closeSessionOn(c.servers[i], deadline); err == nil {
			return
		} else {
			c.log.Info("zk: could not end the session on a server", zap.Stringer("server", c.servers[i]), zap.Error(err))
		}
	}
	c.log.Warn("zk: could not end the session on the server; it ends when it times out",
		zap.Duration("sessionTimeout", sess.Timeout()))
}

// closeSessionOn connects to srv with the session and ends it there. A
// server that reports the session expired has ended it already.
func (c *Client) closeSessionOn(srv serverAddr, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	nc, err := c.dial(ctx, srv)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(deadline)
	br := bufio.NewReaderSize(nc, 512)
	resp, err := c.handshake(nc, br)
	switch {
	case errors.Is(err, ErrSessionExpired):
		return nil
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
