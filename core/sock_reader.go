package core

import (
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// sockReader is the source of a connection's read buffer. A read normally
// waits in Go's network poller. A caller reading its own reply
// (read_turn.go) may instead wait in a blocking poll system call of its
// own thread, until a deadline (blockUntil): a reply expected within
// microseconds then costs no trip through the scheduler's idle path (the
// poller's wait, parking the goroutine, waking a thread), which is a sixth
// of a synchronous call's CPU on Linux.
//
// Only the standard library's TCP and Unix connections can wait that way,
// on Linux; TLS and other connections (a custom dialer's) always use the
// network poller. At most maxBlockedReads threads of the process wait in a
// blocking poll at once, so that many clients reading their own replies do
// not each hold a thread.
type sockReader struct {
	nc  net.Conn
	raw syscall.RawConn // nil when the connection cannot wait in a blocking poll
	// slots bounds the threads waiting in a blocking poll (blockedReads),
	// to limit at most for this connection's waits.
	slots *readSlots
	limit int32

	// until is the deadline of a blocking wait (monoNow), or 0 for a read
	// in the network poller.
	until int64

	// One raw read's buffer and result, kept here so that its callback,
	// made once, allocates nothing per read.
	buf    []byte
	n      int
	err    error
	readFD func(fd uintptr) bool
}

// maxBlockedReads bounds the threads waiting in a blocking poll at once,
// over all connections of the process.
const maxBlockedReads = 8

// blockedReads are the process's places for threads waiting in a
// blocking poll.
var blockedReads = readSlots{max: maxBlockedReads}

// readSlots counts the threads waiting in a blocking poll, up to max.
type readSlots struct {
	n   atomic.Int32
	max int32
}

// take takes a place, unless limit (or max) are taken already.
func (r *readSlots) take(limit int32) bool {
	if r.n.Add(1) > min(limit, r.max) {
		r.n.Add(-1)
		return false
	}
	return true
}

func (r *readSlots) give() { r.n.Add(-1) }

func newSockReader(nc net.Conn) *sockReader {
	return newSockReaderSlots(nc, &blockedReads, runtime.GOMAXPROCS(0))
}

// newSockReaderSlots makes a reader whose blocking waits take places of
// slots. A thread waiting in a blocking poll keeps its P (the right to
// run Go code) until the scheduler takes it back, so the waits leave at
// least one of the procs the process had when the connection was made to
// the rest of the program: with one, there are none.
func newSockReaderSlots(nc net.Conn, slots *readSlots, procs int) *sockReader {
	s := &sockReader{nc: nc, slots: slots, limit: int32(procs - 1)}
	if !canBlockRead || s.limit < 1 {
		return s
	}
	// Only the standard library's own connections: a wrapper that merely
	// embeds one would see its Read bypassed.
	var sc syscall.Conn
	switch conn := nc.(type) {
	case *net.TCPConn:
		sc = conn
	case *net.UnixConn:
		sc = conn
	default:
		return s
	}
	if raw, err := sc.SyscallConn(); err == nil {
		s.raw = raw
		s.readFD = s.readRaw
	}
	return s
}

// blockUntil makes the following reads wait in a blocking poll, until
// deadline at the latest, and reports whether they will: false when the
// connection cannot, or enough threads wait so already. endBlocking
// undoes a true answer.
func (s *sockReader) blockUntil(deadline time.Time) bool {
	if s.raw == nil || !s.slots.take(s.limit) {
		return false
	}
	s.until = monoNow() + int64(time.Until(deadline))
	return true
}

// endBlocking returns the reads to the network poller.
func (s *sockReader) endBlocking() {
	if s.until != 0 {
		s.until = 0
		s.slots.give()
	}
}

// Read reads from the socket, in the network poller or, after blockUntil,
// in a blocking poll; past that deadline it fails with
// os.ErrDeadlineExceeded, as the network poller would.
func (s *sockReader) Read(p []byte) (int, error) {
	if s.until == 0 || len(p) == 0 {
		return s.nc.Read(p)
	}
	s.buf = p
	err := s.raw.Read(s.readFD)
	s.buf = nil
	if err != nil {
		// The connection is closed, or its own read deadline passed.
		return 0, err
	}
	return s.n, s.err
}
