package core

import (
	"crypto/tls"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// sockReader is the source of a connection's read buffer. A read normally
// waits where the connection does: in Go's network poller, or in a poll of
// its own thread for a connection taken out of it (fdConn), a wait the
// scheduler is told of. A caller reading its own reply
// (read_turn.go) may instead wait in a blocking poll system call of its
// own thread, until a deadline (blockUntil): a reply expected within
// microseconds then costs no trip through the scheduler's idle path (the
// poller's wait, parking the goroutine, waking a thread), which is a sixth
// of a synchronous call's CPU on Linux.
//
// Only the standard library's TCP and Unix connections can wait that way,
// on Linux; TLS and other connections (a custom dialer's wrapper) always
// use the network poller. A thread waiting in a blocking poll keeps its P (the
// right to run Go code). For the first heldWaitFor the wait is held from
// the scheduler (a raw system call, as for a goroutine that computes):
// telling it of a system call that soon ends cost a quarter to a third of
// a synchronous call's CPU in our measurements, apparently in its monitor
// taking the P away and waking threads to no purpose. After that the
// scheduler may take the P back. Such waits never take all of the
// process's procs (with one proc, none wait so), and at most
// maxBlockedReads wait at once. A signal (the scheduler's preemption, or
// the garbage collector stopping the world) ends the held part of a wait
// at once, and the rest goes through the scheduler; with asyncpreemptoff=1
// in GODEBUG no wait is held (heldWaits).
type sockReader struct {
	nc  net.Conn
	raw syscall.RawConn // nil when the connection cannot wait in a blocking poll
	// slots bounds the threads waiting in a blocking poll (blockedReads).
	slots *readSlots

	// blocking says the reads wait in a blocking poll, until until
	// (monoNow); otherwise they wait as the connection does.
	blocking bool
	until    int64
	// waitFirst makes the next blocking read wait for the socket before
	// it reads (waitBeforeRead).
	waitFirst bool
	// heldFor is how long a blocking wait is held from the scheduler
	// (heldWaitFor, or 0 when waits are never held); heldUntil (monoNow)
	// ends the held part of the current one.
	heldFor   time.Duration
	heldUntil int64
	// drained says the last read of a standard connection took less than
	// it had room for: the
	// socket had nothing more then.
	drained bool

	// One raw read's buffer and result, kept here so that its callback,
	// made once, allocates nothing per read.
	buf    []byte
	n      int
	err    error
	readFD func(fd uintptr) bool
}

// heldWaitFor is how long a blocking wait stays hidden from the scheduler
// (sockReader): a reply from a nearby server comes within it.
const heldWaitFor = time.Millisecond

// heldWaits is how long the process's blocking waits are held from the
// scheduler: heldWaitFor, or nothing when the runtime does not preempt
// goroutines by signal (GODEBUG asyncpreemptoff=1), as the signal is what
// ends a held wait when the runtime needs the thread.
var heldWaits = heldWaitsFor(os.Getenv("GODEBUG"), buildGODEBUG())

func heldWaitsFor(env, build string) time.Duration {
	// The environment wins over the build's defaults, and a later
	// setting over an earlier one.
	off := false
	for _, list := range []string{build, env} {
		for _, kv := range strings.Split(list, ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "asyncpreemptoff" {
				off = v == "1"
			}
		}
	}
	if off {
		return 0
	}
	return heldWaitFor
}

// buildGODEBUG returns the GODEBUG defaults the program was built with
// (//go:debug lines, go.mod's godebug).
func buildGODEBUG() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "DefaultGODEBUG" {
			return s.Value
		}
	}
	return ""
}

// maxBlockedReads bounds the threads waiting in a blocking poll at once,
// over all connections of the process.
const maxBlockedReads = 8

// blockedReads are the process's places for threads waiting in a
// blocking poll.
var blockedReads = readSlots{max: maxBlockedReads}

// readSlots counts the threads waiting in a blocking poll: at most max,
// and fewer than the procs (GOMAXPROCS, read at each take, as it may
// change while the program runs).
type readSlots struct {
	n     atomic.Int32
	max   int32
	procs func() int
}

func (r *readSlots) take() bool {
	var procs int
	if r.procs != nil {
		procs = r.procs()
	} else {
		procs = runtime.GOMAXPROCS(0)
	}
	limit := min(r.max, int32(procs-1))
	if r.n.Add(1) > limit {
		r.n.Add(-1)
		return false
	}
	return true
}

func (r *readSlots) give() { r.n.Add(-1) }

func newSockReader(nc net.Conn) *sockReader {
	return newSockReaderSlots(nc, &blockedReads)
}

// newSockReaderSlots makes a reader whose blocking waits take places of
// slots.
func newSockReaderSlots(nc net.Conn, slots *readSlots) *sockReader {
	s := &sockReader{nc: nc, slots: slots, heldFor: heldWaits}
	if !canBlockRead {
		return s
	}
	// Only the standard library's own connections: a wrapper that merely
	// embeds one would see its Read bypassed.
	sc, ok := standardConn(nc)
	if !ok {
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
	if s.raw == nil || !s.slots.take() {
		return false
	}
	s.blocking = true
	now := monoNow()
	s.until = now + int64(time.Until(deadline))
	s.heldUntil = now + int64(s.heldFor)
	return true
}

// waitBeforeRead makes the next blocking read wait in its poll before it
// reads: a caller that has just sent its request knows that the reply is
// not in yet, so a first read would only fail with EAGAIN, one system call
// of the three a synchronous call would otherwise make to read.
func (s *sockReader) waitBeforeRead() { s.waitFirst = s.blocking }

// endBlocking returns the reads to the connection's own wait.
func (s *sockReader) endBlocking() {
	s.waitFirst = false
	if s.blocking {
		s.blocking = false
		s.slots.give()
	}
}

// Read reads from the socket, waiting as the connection does or, after
// blockUntil, in a blocking poll; past that deadline it fails with
// os.ErrDeadlineExceeded, as the network poller would.
func (s *sockReader) Read(p []byte) (int, error) {
	if !s.blocking || len(p) == 0 {
		n, err := s.nc.Read(p)
		// A TLS or wrapped connection returns less than it has in hand
		// (a TLS record at a time): never drained, so never gathered.
		s.drained = s.raw != nil && n < len(p)
		return n, err
	}
	s.buf = p
	err := s.raw.Read(s.readFD)
	s.buf = nil
	if err != nil {
		// The connection is closed, or its own read deadline passed.
		return 0, err
	}
	s.drained = s.n < len(p)
	if _, ok := s.err.(*os.SyscallError); ok {
		// As the network poller reports it, with the addresses.
		local := s.nc.LocalAddr()
		return s.n, &net.OpError{Op: "read", Net: local.Network(), Source: local, Addr: s.nc.RemoteAddr(), Err: s.err}
	}
	return s.n, s.err
}

// closeSocket closes nc. A standard connection's reading side is shut
// first: that wakes a reader waiting in a blocking poll, which would
// otherwise hold the socket open until its deadline. A socket taken out
// of the network poller wakes its waiters itself, once marked closed, so
// that they report the close rather than an end of stream.
//
// A TLS connection's own Close first sends a close_notify alert, for up
// to five seconds: against a server that stopped reading, with the
// socket's send buffer full, that would hold up the failure of the
// requests waiting, and the reconnect, as long. The client is done with
// the connection either way, and ZooKeeper needs no alert, so the socket
// under it is closed instead, which also ends the TLS connection's reads
// and writes.
func closeSocket(nc net.Conn) error {
	if tc, ok := nc.(*tls.Conn); ok {
		return tc.NetConn().Close()
	}
	if _, owned := nc.(ownedSocket); owned {
		return nc.Close()
	}
	if sc, ok := standardConn(nc); ok {
		_ = sc.CloseRead()
	}
	return nc.Close()
}

// socket is what the standard library's TCP and Unix connections offer
// beyond net.Conn.
type socket interface {
	syscall.Conn
	CloseRead() error
}

// ownedSocket is a connection taken out of Go's network poller (fdConn).
type ownedSocket interface {
	socket
	ownedByClient()
}

// standardConn returns nc as a socket when it is the standard library's
// own TCP or Unix connection, or one taken out of the network poller, not
// a type that wraps one.
func standardConn(nc net.Conn) (socket, bool) {
	switch conn := nc.(type) {
	case *net.TCPConn:
		return conn, true
	case *net.UnixConn:
		return conn, true
	case ownedSocket:
		return conn, true
	}
	return nil, false
}
