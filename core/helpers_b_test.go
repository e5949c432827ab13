package core_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// Bounds for waits in these tests. They are generous: the machine is small
// and shared, and a wait that runs out fails the test rather than hiding a
// hang.
const (
	waitB = 45 * time.Second
	tickB = 10 * time.Millisecond
)

// ctxB returns a context that ends after d or with the test.
func ctxB(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// newClientB makes a client that the test closes when it ends, without
// starting it.
func newClientB(t testing.TB, servers string, opts ...core.Option) *core.Client {
	t.Helper()
	c, err := core.NewClient(servers, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startClientB makes and starts a client that the test closes when it ends.
func startClientB(t testing.TB, servers string, opts ...core.Option) *core.Client {
	t.Helper()
	c := newClientB(t, servers, opts...)
	require.NoError(t, c.Start(ctxB(t, waitB)))
	return c
}

// chrootB returns a fresh chroot for the test on the servers and removes it,
// with everything below it, when the test ends.
func chrootB(t testing.TB, servers string) string {
	t.Helper()
	root := zktest.UniquePath(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitB)
		defer cancel()
		c, err := core.NewClient(servers)
		if err != nil {
			t.Errorf("cleanup of %s: %v", root, err)
			return
		}
		defer c.Close()
		if err := c.Start(ctx); err != nil {
			t.Logf("cleanup of %s: %v", root, err)
			return
		}
		if err := c.DeleteAll(ctx, root); err != nil {
			t.Logf("cleanup of %s: %v", root, err)
		}
	})
	return root
}

// sharedClientB starts a client on the shared server, under a chroot of the
// test's own, and returns it with the server's address and the chroot.
func sharedClientB(t testing.TB, opts ...core.Option) (*core.Client, string, string) {
	t.Helper()
	addr := zktest.Shared(t).ConnString()
	root := chrootB(t, addr)
	c := startClientB(t, addr, append([]core.Option{core.WithChroot(root)}, opts...)...)
	return c, addr, root
}

// stateLog records the transitions a state listener sees.
type stateLog struct {
	mu     sync.Mutex
	states []core.State
}

func (l *stateLog) record(s core.State) {
	l.mu.Lock()
	l.states = append(l.states, s)
	l.mu.Unlock()
}

func (l *stateLog) snapshot() []core.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]core.State(nil), l.states...)
}

func (l *stateLog) count(s core.State) int {
	n := 0
	for _, got := range l.snapshot() {
		if got == s {
			n++
		}
	}
	return n
}

// listenB records every transition c reports from now on.
func listenB(t testing.TB, c *core.Client) *stateLog {
	t.Helper()
	l := &stateLog{}
	remove := c.AddStateListener(l.record)
	t.Cleanup(remove)
	return l
}

// waitCountB waits until the log holds at least n transitions to s.
func waitCountB(t testing.TB, l *stateLog, s core.State, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return l.count(s) >= n }, waitB, tickB,
		"waiting for %d × %v; seen %v", n, s, l.snapshot())
}

// waitStateB waits until c is in state s.
func waitStateB(t testing.TB, c *core.Client, s core.State) {
	t.Helper()
	require.Eventually(t, func() bool { return c.State() == s }, waitB, tickB,
		"waiting for state %v; still %v", s, c.State())
}

// recvB receives one event from ch, failing the test if none comes in time
// or the channel is closed.
func recvB(t testing.TB, ch <-chan core.Event) core.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "watch channel closed without an event")
		return ev
	case <-time.After(waitB):
		t.Fatal("no watch event in time")
	}
	return core.Event{}
}

// requireClosedB checks that ch is closed and holds nothing more.
func requireClosedB(t testing.TB, ch <-chan core.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.False(t, ok, "unexpected event %+v", ev)
	case <-time.After(waitB):
		t.Fatal("watch channel not closed")
	}
}

// requireNoEventB checks that ch holds no event right now and is not closed.
func requireNoEventB(t testing.TB, ch <-chan core.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		t.Fatalf("unexpected event %+v (open %v)", ev, ok)
	default:
	}
}

// wantEventB receives one event and checks its type and path.
func wantEventB(t testing.TB, ch <-chan core.Event, typ core.EventType, path string) {
	t.Helper()
	ev := recvB(t, ch)
	require.Equal(t, typ, ev.Type, "event %+v", ev)
	require.Equal(t, path, ev.Path, "event %+v", ev)
}

// wantNotWatchingB receives the final event of a watch and checks that it
// ends the watch with cause, and that the channel then closes.
func wantNotWatchingB(t testing.TB, ch <-chan core.Event, cause error) {
	t.Helper()
	ev := recvB(t, ch)
	require.Equal(t, core.EventNotWatching, ev.Type, "event %+v", ev)
	require.ErrorIs(t, ev.Err, cause)
	requireClosedB(t, ch)
}

// spyReq is one request the client wrote, as a wireSpy saw it.
type spyReq struct {
	op  int32
	xid int32
	at  time.Time
	// path is the request's first field when it reads as a path, as it
	// does for every request that names one node.
	path string
	// write counts the client's writes, on any connection, up to the one
	// that carried the request: requests with the same write went out
	// together.
	write int
}

// leadingPath returns the string a request body (after its header) starts
// with, if it is a path.
func leadingPath(body []byte) string {
	if len(body) < 4 {
		return ""
	}
	n := int(int32(binary.BigEndian.Uint32(body)))
	if n <= 0 || n > len(body)-4 || body[4] != '/' {
		return ""
	}
	return string(body[4 : 4+n])
}

// wireSpy is a client dialer that watches the client's side of every
// connection: it counts dials, can refuse or slow them, reads the framing of
// what the client writes to record each request's opcode, and can cut a
// connection right after chosen requests: the request reaches the server,
// but the connection is closed and nothing more is read from it, so the
// reply is lost in flight. It stands between the client and a real server;
// it is not a server.
type wireSpy struct {
	mu        sync.Mutex
	dials     []string
	dialedAt  []time.Time // when each of dials was made
	refuse    map[string]bool
	dialDelay time.Duration
	reqs      []spyReq
	writes    int           // Write calls on the spy's connections
	cuts      map[int32]int // opcode → requests still to cut; <0 for all
	swallow   bool          // a cut request does not reach the server
	conns     []*spyConn
}

func newWireSpy() *wireSpy {
	return &wireSpy{refuse: map[string]bool{}, cuts: map[int32]int{}}
}

// wrapDialer dials TCP and hands the connection to wrap, which returns
// what the client gets.
func wrapDialer(wrap func(net.Conn) net.Conn) core.Dialer {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return wrap(nc), nil
	}
}

// dialer returns the core.Dialer to give the client.
func (s *wireSpy) dialer() core.Dialer {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		s.mu.Lock()
		s.dials = append(s.dials, address)
		s.dialedAt = append(s.dialedAt, time.Now())
		refused := s.refuse[address]
		delay := s.dialDelay
		s.mu.Unlock()
		if refused {
			return nil, errors.New("wireSpy: refused")
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		sc := &spyConn{Conn: nc, spy: s}
		s.mu.Lock()
		s.conns = append(s.conns, sc)
		s.mu.Unlock()
		return sc, nil
	}
}

func (s *wireSpy) setRefuse(address string, on bool) {
	s.mu.Lock()
	s.refuse[address] = on
	s.mu.Unlock()
}

func (s *wireSpy) setDialDelay(d time.Duration) {
	s.mu.Lock()
	s.dialDelay = d
	s.mu.Unlock()
}

// cut makes the spy cut the connection after each of the next n requests
// with opcode op (n < 0: all of them).
func (s *wireSpy) cut(op int32, n int) {
	s.mu.Lock()
	s.cuts[op] = n
	s.mu.Unlock()
}

// setSwallow makes cut requests vanish before they reach the server (on),
// or reach it before the cut (off, the default).
func (s *wireSpy) setSwallow(on bool) {
	s.mu.Lock()
	s.swallow = on
	s.mu.Unlock()
}

// dialsTo counts the dials to address.
func (s *wireSpy) dialsTo(address string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.dials {
		if d == address {
			n++
		}
	}
	return n
}

// dialTimes returns when each dial so far was made.
func (s *wireSpy) dialTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.dialedAt...)
}

func (s *wireSpy) dialLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.dials...)
}

// requests returns the requests with opcode op, in the order written.
func (s *wireSpy) requests(op int32) []spyReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []spyReq
	for _, r := range s.reqs {
		if r.op == op {
			out = append(out, r)
		}
	}
	return out
}

// record notes a frame the client wrote.
func (s *wireSpy) record(op, xid int32, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, spyReq{op: op, xid: xid, at: time.Now(), path: path})
}

// written returns how many frames the client has written so far.
func (s *wireSpy) written() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// opsSince returns the opcodes of the frames written after the first n.
func (s *wireSpy) opsSince(n int) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ops []int32
	for _, r := range s.reqs[n:] {
		ops = append(ops, r.op)
	}
	return ops
}

// observe records a request and says whether to cut after it, and
// whether the request itself is to be swallowed.
func (s *wireSpy) observe(op, xid int32, path string) (cut, swallow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, spyReq{op: op, xid: xid, at: time.Now(), path: path, write: s.writes})
	n, ok := s.cuts[op]
	if !ok || n == 0 {
		return false, false
	}
	if n > 0 {
		s.cuts[op] = n - 1
	}
	return true, s.swallow
}

// spyConn is one connection of a wireSpy. The client writes whole frames in
// each Write, but the parser keeps any partial frame for the next one.
type spyConn struct {
	net.Conn
	spy *wireSpy

	wmu       sync.Mutex
	carry     []byte
	handshake bool // the connect request has been written
	dead      atomic.Bool
}

func (c *spyConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.dead.Load() {
		return 0, net.ErrClosed
	}
	c.spy.mu.Lock()
	c.spy.writes++
	c.spy.mu.Unlock()
	before := len(c.carry)
	c.carry = append(c.carry, b...)
	off := 0
	for len(c.carry)-off >= 4 {
		n := int(binary.BigEndian.Uint32(c.carry[off:]))
		if len(c.carry)-off-4 < n {
			break
		}
		body := c.carry[off+4 : off+4+n]
		off += 4 + n
		if !c.handshake {
			c.handshake = true
			continue
		}
		if len(body) < 8 {
			continue
		}
		xid := int32(binary.BigEndian.Uint32(body))
		op := int32(binary.BigEndian.Uint32(body[4:]))
		if xid < 0 {
			// A special frame (auth, setWatches, ping) is recorded, never cut.
			c.spy.record(op, xid, "")
			continue
		}
		cut, swallow := c.spy.observe(op, xid, leadingPath(body[8:]))
		if !cut {
			continue
		}
		// Forward everything up to the end of this request (or up to its
		// start, to swallow it), then cut.
		c.dead.Store(true)
		end := off - before
		if swallow {
			end -= 4 + n
		}
		if end > 0 {
			_, _ = c.Conn.Write(b[:end])
		}
		_ = c.Conn.Close()
		c.carry = nil
		return len(b), nil
	}
	c.carry = append(c.carry[:0], c.carry[off:]...)
	return c.Conn.Write(b)
}

func (c *spyConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.dead.Load() {
		return 0, net.ErrClosed
	}
	return n, err
}

// countB counts the occurrences of s in list.
func countB(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// opGetData and friends name the opcodes the spy counts.
const (
	opGetData = proto.OpGetData
	opSetData = proto.OpSetData
	opCreate  = proto.OpCreate
	opCreate2 = proto.OpCreate2
	opExists  = proto.OpExists
	opMulti   = proto.OpMulti
	opSetACL  = proto.OpSetACL
)

// proxiedB is a client behind a proxy of its own, under a fresh chroot on
// the shared server, for tests that inject network faults.
type proxiedB struct {
	srv   *zktest.Server
	proxy *zktest.Proxy
	root  string
	c     *core.Client
}

// startProxiedB starts a proxied client with the given session timeout and
// a short connect timeout, so that it retries soon after a fault.
func startProxiedB(t testing.TB, sessionTimeout time.Duration) proxiedB {
	t.Helper()
	p := proxiedB{srv: zktest.Shared(t)}
	p.proxy = zktest.StartProxy(t, p.srv.Addr())
	p.root = chrootB(t, p.srv.ConnString())
	p.c = startClientB(t, p.proxy.Addr(), core.WithChroot(p.root),
		core.WithSessionTimeout(sessionTimeout), core.WithConnectTimeout(500*time.Millisecond))
	return p
}

// direct starts a client of the same server and chroot, with no proxy.
func (p proxiedB) direct(t testing.TB) *core.Client {
	t.Helper()
	return startClientB(t, p.srv.ConnString(), core.WithChroot(p.root))
}

// waitParkedB waits until some goroutine's stack holds every one of frames
// (function names as runtime.Stack prints them): a call has reached the
// point where it waits.
func waitParkedB(t testing.TB, frames ...string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	require.Eventually(t, func() bool {
		all := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(all, "\n\n") {
			held := true
			for _, f := range frames {
				held = held && strings.Contains(g, f)
			}
			if held {
				return true
			}
		}
		return false
	}, waitB, tickB, "no goroutine waits in %v", frames)
}

// leaderAndFollowerB waits for e's leader and returns it with one of its
// followers.
func leaderAndFollowerB(t testing.TB, ctx context.Context, e *zktest.Ensemble) (leader, follower *zktest.Server) {
	t.Helper()
	leader, err := e.WaitLeader(ctx)
	require.NoError(t, err)
	for _, s := range e.Servers() {
		if s != leader {
			return leader, s
		}
	}
	t.Fatal("an ensemble without followers")
	return nil, nil
}
