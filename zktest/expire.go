package zktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

// ErrNoSession is returned by ExpireSession when the server does not know
// the session: it has expired or been closed already, or the password is
// wrong. ZooKeeper does not tell these apart. (With a wrong password, the
// server still closes the session's current connection; its client
// reconnects and the session goes on.)
var ErrNoSession = errors.New("zktest: the server knows no such session (expired, closed, or wrong password)")

// ExpireSession expires a session the way a server does when the session
// times out, without waiting for the timeout. It opens a second connection
// for the session with its id and password, as a client resuming it would,
// and closes the session on it. The server then deletes the session's
// ephemeral nodes and fires their watches, and closes the session's other
// connection, so the session's client reconnects and learns that its
// session has expired.
//
// connString lists servers as "host:port,..."; the first that accepts the
// connection is used. ExpireSession returns once the server has closed the
// session.
//
// The session's own client may take the session back between the resume
// and the close (it reconnects at once when the server moves the session),
// which ends the second connection; ExpireSession then tries again, up to
// 50 times. A session that is gone on a retry counts as expired.
func ExpireSession(ctx context.Context, connString string, sessionID int64, passwd []byte) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		err = expireOnce(ctx, connString, sessionID, passwd)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrNoSession):
			if attempt > 0 {
				return nil
			}
			return err
		case ctx.Err() != nil:
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
	return err
}

func expireOnce(ctx context.Context, connString string, sessionID int64, passwd []byte) error {
	var errs []error
	for addr := range strings.SplitSeq(connString, ",") {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			continue
		}
		err := expireAt(ctx, addr, sessionID, passwd)
		if err == nil || errors.Is(err, ErrNoSession) || ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return fmt.Errorf("zktest: expire session: empty connection string %q", connString)
	}
	return errors.Join(errs...)
}

func expireAt(ctx context.Context, addr string, sessionID int64, passwd []byte) error {
	c, resp, err := dialRaw(ctx, addr, proto.ConnectRequest{
		TimeoutMs: 30000,
		SessionID: sessionID,
		Passwd:    passwd,
	})
	if err != nil {
		return fmt.Errorf("zktest: expire session 0x%x: %w", uint64(sessionID), err)
	}
	defer c.Close()
	if resp.TimeoutMs <= 0 {
		return fmt.Errorf("%w: 0x%x", ErrNoSession, uint64(sessionID))
	}
	hdr, _, err := c.call(proto.OpCloseSession, nil)
	if err != nil {
		return fmt.Errorf("zktest: close session 0x%x: %w", uint64(sessionID), err)
	}
	if hdr.Err != 0 {
		return fmt.Errorf("zktest: close session 0x%x: server error %d", uint64(sessionID), hdr.Err)
	}
	return nil
}

// rawConn is a bare ZooKeeper client connection: one request at a time,
// no pings, no watches. It is enough to resume and close a session, and for
// zktest's own tests.
type rawConn struct {
	net.Conn
	buf []byte
	xid int32
}

// dialRaw connects to addr and sends req as the connect request.
func dialRaw(ctx context.Context, addr string, req proto.ConnectRequest) (*rawConn, proto.ConnectResponse, error) {
	var resp proto.ConnectResponse
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, resp, err
	}
	c := &rawConn{Conn: nc}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	_ = nc.SetDeadline(deadline)

	b, start := proto.AppendFrameStart(nil)
	b = req.Encode(b)
	if _, err := nc.Write(proto.FinishFrame(b, start)); err != nil {
		nc.Close()
		return nil, resp, err
	}
	frame, err := proto.ReadFrame(nc, c.buf, proto.DefaultMaxFrame)
	if err != nil {
		nc.Close()
		return nil, resp, fmt.Errorf("read connect response: %w", err)
	}
	dec := proto.NewDecoder(frame)
	resp.Decode(dec)
	if err := dec.Err(); err != nil {
		nc.Close()
		return nil, resp, fmt.Errorf("decode connect response: %w", err)
	}
	return c, resp, nil
}

// call sends one request and returns the header and body of its reply,
// skipping watch events and other frames that answer no request.
func (c *rawConn) call(op int32, req proto.Request) (proto.ReplyHeader, []byte, error) {
	c.xid++
	b, start := proto.AppendFrameStart(c.buf[:0])
	b = proto.RequestHeader{Xid: c.xid, Opcode: op}.Encode(b)
	if req != nil {
		b = req.Encode(b)
	}
	c.buf = proto.FinishFrame(b, start)
	if _, err := c.Write(c.buf); err != nil {
		return proto.ReplyHeader{}, nil, err
	}
	for {
		frame, err := proto.ReadFrame(c, nil, proto.DefaultMaxFrame)
		if err != nil {
			return proto.ReplyHeader{}, nil, err
		}
		dec := proto.NewDecoder(frame)
		var hdr proto.ReplyHeader
		hdr.Decode(dec)
		if err := dec.Err(); err != nil {
			return hdr, nil, err
		}
		if hdr.Xid == c.xid {
			return hdr, frame[proto.ReplyHeaderSize:], nil
		}
	}
}
