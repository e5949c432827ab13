package zktest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

// ErrNoSession is returned by ExpireSession when the server does not know
// the session: it has expired or been closed already, or the password is
// wrong. ZooKeeper does not tell these apart. (With a wrong password, the
// server still closes the session's current connection; its client
// reconnects and the session goes on.)
var ErrNoSession = errors.New("zktest: the server knows no such session (expired, closed, or wrong password)")

const (
	// expireTimeout bounds a whole ExpireSession whose context has no
	// earlier deadline.
	expireTimeout = 30 * time.Second
	// expireAttemptTimeout bounds one attempt at one server: a server
	// that answers at all resumes and closes a session in milliseconds.
	expireAttemptTimeout = 5 * time.Second
	// expireTries bounds the attempts that the session's client can
	// spoil by taking its session back.
	expireTries = 50
)

var (
	// errTakenBack marks an attempt whose connection the server closed
	// before it closed the session, as it does when the session's own
	// client resumes the session on another connection: the race that
	// ExpireSession retries.
	errTakenBack = errors.New("the server closed the connection before closing the session (did the session's client take it back, or is the server not serving?)")
	// errExpireTimeout is why ExpireSession gives up when its context
	// has no earlier deadline. It matches context.DeadlineExceeded.
	errExpireTimeout = fmt.Errorf("zktest: expire session: gave up after %v: %w", expireTimeout, context.DeadlineExceeded)
)

// ExpireSession expires a session the way a server does when the session
// times out, without waiting for the timeout. It opens a second connection
// for the session with its id and password, as a client resuming it would,
// and closes the session on it. The server then deletes the session's
// ephemeral nodes and fires their watches, and closes the session's other
// connection, so the session's client reconnects and learns that its
// session has expired.
//
// connString is a client's connection string, "host:port,...", possibly
// with a chroot ("host:port,.../chroot"), which does not matter here; a
// server without a port is on 2181. The first server that takes the
// connection is used. ExpireSession returns once the server has closed the
// session. Session id 0, which names no session, is an error.
//
// The session's own client may take the session back between the resume
// and the close (it reconnects at once when the server moves the session),
// which ends the second connection; ExpireSession then tries again, up to
// 50 times. A session that is gone on a retry counts as expired. Nothing
// else is tried again: a server that refuses the connection, or does not
// answer within 5 s, is an error once every server has been tried. The
// whole call gives up after 30 s, or when ctx is done if that is earlier.
func ExpireSession(ctx context.Context, connString string, sessionID int64, passwd []byte) error {
	if sessionID == 0 {
		return errors.New("zktest: expire session: session id 0 names no session (a connect request with id 0 asks for a new one); pass the id of the client's session, once it has one")
	}
	addrs, err := serverAddrs(connString)
	if err != nil {
		return fmt.Errorf("zktest: expire session: %w", err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, expireTimeout, errExpireTimeout)
	defer cancel()
	for try := 1; ; try++ {
		err = expireOnce(ctx, addrs, sessionID, passwd)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrNoSession):
			if try > 1 {
				return nil
			}
			return err
		case !errors.Is(err, errTakenBack) || try == expireTries:
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (then: %w)", err, context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// expireOnce tries to expire the session at each server in turn, until one
// expires it or knows no such session, or ctx is done.
func expireOnce(ctx context.Context, addrs []string, sessionID int64, passwd []byte) error {
	var errs []error
	for _, addr := range addrs {
		err := expireAt(ctx, addr, sessionID, passwd)
		if err == nil || errors.Is(err, ErrNoSession) {
			return err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// expireAt tries once to expire the session at the server at addr, and
// tells in its error why that failed: a done ctx, no answer within
// expireAttemptTimeout, or errTakenBack.
func expireAt(ctx context.Context, addr string, sessionID int64, passwd []byte) error {
	attempt, cancel := context.WithTimeout(ctx, expireAttemptTimeout)
	defer cancel()
	err := closeSession(attempt, addr, sessionID, passwd)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline is attempt's, whose timer may lag.
		<-attempt.Done()
	}
	switch {
	case err == nil, errors.Is(err, ErrNoSession):
		return err
	case ctx.Err() != nil:
		err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	case attempt.Err() != nil:
		err = fmt.Errorf("no answer within %v (%w)", expireAttemptTimeout, err)
	case connEnded(err):
		err = fmt.Errorf("%w: %w", errTakenBack, err)
	}
	return fmt.Errorf("zktest: expire session 0x%x at %s: %w", uint64(sessionID), addr, err)
}

// closeSession resumes the session on a new connection to addr and closes
// it there.
func closeSession(ctx context.Context, addr string, sessionID int64, passwd []byte) error {
	c, resp, err := dialRaw(ctx, addr, proto.ConnectRequest{
		TimeoutMs: 30000,
		SessionID: sessionID,
		Passwd:    passwd,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if resp.TimeoutMs <= 0 {
		return fmt.Errorf("%w: 0x%x", ErrNoSession, uint64(sessionID))
	}
	hdr, _, err := c.call(proto.OpCloseSession, nil)
	if err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	if hdr.Err != 0 {
		return fmt.Errorf("close session: server error %d", hdr.Err)
	}
	return nil
}

// connEnded reports whether err says that the other end closed or reset
// the connection.
func connEnded(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// serverAddrs reads the servers of a client's connection string,
// "host:port,host:port/chroot", as zkit's client does: the chroot, which
// only the client uses, is dropped, and a server without a port is on
// ZooKeeper's port 2181.
func serverAddrs(connString string) ([]string, error) {
	hosts, _, _ := strings.Cut(strings.TrimSpace(connString), "/")
	if strings.TrimSpace(hosts) == "" {
		return nil, fmt.Errorf("no servers in connection string %q", connString)
	}
	var addrs []string
	for item := range strings.SplitSeq(hosts, ",") {
		addr, err := serverAddr(strings.TrimSpace(item))
		if err != nil {
			return nil, fmt.Errorf("connection string %q: %w", connString, err)
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// serverAddr reads one server of a connection string: host:port, a host
// alone, or a bracketed IPv6 address with or without a port.
func serverAddr(item string) (string, error) {
	if item == "" {
		return "", errors.New("empty server entry")
	}
	host, port, err := net.SplitHostPort(item)
	if err != nil {
		bracketed := strings.HasPrefix(item, "[") && strings.HasSuffix(item, "]")
		if !bracketed && strings.ContainsAny(item, ":[]") {
			return "", fmt.Errorf("server %q: %w", item, err)
		}
		host, port = strings.TrimSuffix(strings.TrimPrefix(item, "["), "]"), "2181"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("server %q: bad port %q", item, port)
	}
	if host == "" || strings.ContainsAny(host, " \t") {
		return "", fmt.Errorf("server %q: bad host", item)
	}
	return net.JoinHostPort(host, port), nil
}

// rawConn is a bare ZooKeeper client connection: one request at a time,
// no pings, no watches. It is enough to resume and close a session, and for
// zktest's own tests.
type rawConn struct {
	net.Conn
	buf  []byte
	xid  int32
	stop func() bool // unhooks the connection from its context
}

// Close closes the connection and unhooks it from its context.
func (c *rawConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// dialRaw connects to addr and sends req as the connect request. The
// connection's deadline is ctx's, or 30 s away, and it ends when ctx is done.
func dialRaw(ctx context.Context, addr string, req proto.ConnectRequest) (*rawConn, proto.ConnectResponse, error) {
	var resp proto.ConnectResponse
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, resp, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	_ = nc.SetDeadline(deadline)
	// A done ctx ends whatever the connection waits for, at once.
	c := &rawConn{Conn: nc, stop: context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })}

	b, start := proto.AppendFrameStart(nil)
	b = req.Encode(b)
	if _, err := nc.Write(proto.FinishFrame(b, start)); err != nil {
		c.Close()
		return nil, resp, fmt.Errorf("send connect request: %w", err)
	}
	frame, err := proto.ReadFrame(nc, c.buf, proto.DefaultMaxFrame)
	if err != nil {
		c.Close()
		return nil, resp, fmt.Errorf("read connect response: %w", err)
	}
	dec := proto.NewDecoder(frame)
	resp.Decode(dec)
	if err := dec.Err(); err != nil {
		c.Close()
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
