package core

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// fdConn is a TCP or Unix connection that Go's network poller does not
// watch: its reads and writes wait in ppoll on their own thread. Data
// arriving on a socket the poller watches wakes a thread of the runtime
// for it too, even when the reader waits in its own poll; for a caller
// that reads its own reply (read_turn.go) that wake-up was about a sixth of
// a call's CPU. The price is that a read or write waiting here holds its
// thread, as in the Java and C clients.
//
// A deadline applies to the waits that begin after it is set; Close ends
// every wait at once. The connection's own use fits that: only the
// goroutine about to read (or write) moves the read (or write) deadline,
// and other goroutines only close.
type fdConn struct {
	fd            int
	local, remote net.Addr
	// state is fdClosed once Close has begun, plus fdUser for each read,
	// write or close in progress; the last of them to leave closes the
	// descriptor, so that no system call ever sees it reused.
	state atomic.Int64
	// Deadlines as monoNow readings; 0 for none.
	readDeadline, writeDeadline atomic.Int64
}

const (
	fdClosed = 1
	fdUser   = 2
)

// ownSocket moves a standard TCP or Unix connection out of Go's network
// poller: it duplicates the descriptor and closes nc, whose own close
// removes it from the poller. Any other connection, or one that cannot be
// moved, comes back as it is.
func ownSocket(nc net.Conn) net.Conn {
	if _, owned := nc.(ownedSocket); owned {
		return nc
	}
	sc, ok := standardConn(nc)
	if !ok {
		return nc
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(orig uintptr) {
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, orig, syscall.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			dupErr = errno
			return
		}
		fd = int(r)
	}); err != nil || dupErr != nil {
		return nc
	}
	// The descriptor description is shared, non-blocking as Go made it.
	c := &fdConn{fd: fd, local: nc.LocalAddr(), remote: nc.RemoteAddr()}
	_ = nc.Close()
	return c
}

func (c *fdConn) enter() bool {
	for {
		s := c.state.Load()
		if s&fdClosed != 0 {
			return false
		}
		if c.state.CompareAndSwap(s, s+fdUser) {
			return true
		}
	}
}

func (c *fdConn) leave() {
	if c.state.Add(-fdUser) == fdClosed {
		_ = syscall.Close(c.fd)
	}
}

func (c *fdConn) ownedByClient() {}

func (c *fdConn) closed() bool { return c.state.Load()&fdClosed != 0 }

// Close shuts the socket down, which ends the waits in progress, and
// closes the descriptor once they have returned.
func (c *fdConn) Close() error {
	for {
		s := c.state.Load()
		if s&fdClosed != 0 {
			return c.opError("close", net.ErrClosed)
		}
		if c.state.CompareAndSwap(s, (s+fdUser)|fdClosed) {
			break
		}
	}
	_ = syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
	c.leave()
	return nil
}

// CloseRead shuts the reading side down, ending a read's wait.
func (c *fdConn) CloseRead() error {
	if !c.enter() {
		return c.opError("close", net.ErrClosed)
	}
	defer c.leave()
	if err := syscall.Shutdown(c.fd, syscall.SHUT_RD); err != nil {
		return c.opError("close", os.NewSyscallError("shutdown", err))
	}
	return nil
}

func (c *fdConn) Read(p []byte) (int, error) {
	if !c.enter() {
		return 0, c.opError("read", net.ErrClosed)
	}
	defer c.leave()
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(c.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if err := c.wait(pollIn, &c.readDeadline); err != nil {
				return 0, c.opError("read", err)
			}
			continue
		case c.closed():
			return 0, c.opError("read", net.ErrClosed)
		case err != nil:
			return 0, c.opError("read", os.NewSyscallError("read", err))
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *fdConn) Write(p []byte) (int, error) {
	if !c.enter() {
		return 0, c.opError("write", net.ErrClosed)
	}
	defer c.leave()
	done := 0
	for done < len(p) {
		// A plain write, as the net package's: Go ignores the SIGPIPE of
		// a reset socket (see os/signal).
		n, err := syscall.Write(c.fd, p[done:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if err := c.wait(pollOut, &c.writeDeadline); err != nil {
				return done, c.opError("write", err)
			}
			continue
		case c.closed():
			return done, c.opError("write", net.ErrClosed)
		case err != nil:
			return done, c.opError("write", os.NewSyscallError("write", err))
		}
		done += n
	}
	return done, nil
}

// wait blocks the thread until the socket is ready for events, the
// deadline passes (os.ErrDeadlineExceeded) or the connection closes
// (net.ErrClosed).
func (c *fdConn) wait(events int16, deadline *atomic.Int64) error {
	for {
		if c.closed() {
			return net.ErrClosed
		}
		var ts *syscall.Timespec
		if d := deadline.Load(); d != 0 {
			left := d - monoNow()
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			t := syscall.NsecToTimespec(left)
			ts = &t
		}
		pfd := pollFD{fd: int32(c.fd), events: events}
		switch errno := ppoll(&pfd, ts, false); errno {
		case 0, syscall.EINTR:
		default:
			return os.NewSyscallError("ppoll", errno)
		}
		if pfd.revents != 0 {
			return nil
		}
	}
}

func (c *fdConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *fdConn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(&c.readDeadline, t)
}

func (c *fdConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(&c.writeDeadline, t)
}

func (c *fdConn) setDeadline(d *atomic.Int64, t time.Time) error {
	if c.closed() {
		return c.opError("set deadline", net.ErrClosed)
	}
	if t.IsZero() {
		d.Store(0)
		return nil
	}
	// A deadline already past stays a past one (never 0).
	d.Store(max(monoNow()+int64(time.Until(t)), 1))
	return nil
}

func (c *fdConn) LocalAddr() net.Addr  { return c.local }
func (c *fdConn) RemoteAddr() net.Addr { return c.remote }

// SyscallConn gives the descriptor to a blocking read of sockReader.
func (c *fdConn) SyscallConn() (syscall.RawConn, error) { return fdRawConn{c}, nil }

func (c *fdConn) opError(op string, err error) error {
	netw := "tcp"
	if c.local != nil {
		netw = c.local.Network()
	}
	return &net.OpError{Op: op, Net: netw, Source: c.local, Addr: c.remote, Err: err}
}

// fdRawConn is fdConn's syscall.RawConn: f runs with the descriptor held
// open, and Read and Write wait between calls of f as the connection's own
// reads and writes do.
type fdRawConn struct{ c *fdConn }

func (r fdRawConn) Control(f func(fd uintptr)) error {
	if !r.c.enter() {
		return net.ErrClosed
	}
	defer r.c.leave()
	f(uintptr(r.c.fd))
	return nil
}

func (r fdRawConn) Read(f func(fd uintptr) bool) error {
	return r.loop(f, pollIn, &r.c.readDeadline)
}

func (r fdRawConn) Write(f func(fd uintptr) bool) error {
	return r.loop(f, pollOut, &r.c.writeDeadline)
}

func (r fdRawConn) loop(f func(fd uintptr) bool, events int16, deadline *atomic.Int64) error {
	if !r.c.enter() {
		return net.ErrClosed
	}
	defer r.c.leave()
	for !f(uintptr(r.c.fd)) {
		if err := r.c.wait(events, deadline); err != nil {
			return err
		}
	}
	if r.c.closed() {
		// What f read or wrote went with the connection.
		return net.ErrClosed
	}
	return nil
}
