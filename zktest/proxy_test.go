package zktest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeBackend speaks ZooKeeper's framing, nothing more: it answers the
// first frame of a connection with a connect response and echoes every later
// frame, so that the echo starts with the request's xid. The proxy is not
// ZooKeeper, so a fake stands in for the server here.
type fakeBackend struct {
	ln net.Listener
	wg sync.WaitGroup

	mu       sync.Mutex
	accepted int
	requests [][]byte // payloads after the connect frame, in order
	conns    []net.Conn
	prefix   []byte        // written before the next echo, in the same write
	changed  chan struct{} // closed and replaced when any of the above changes
}

var connectResponse = []byte("connect-response-0123456789")

func startBackend(t *testing.T) *fakeBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{ln: ln, changed: make(chan struct{})}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		for _, c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

func (b *fakeBackend) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.update(func() { b.accepted++; b.conns = append(b.conns, c) })
		b.wg.Add(1)
		go b.serve(c)
	}
}

func (b *fakeBackend) serve(c net.Conn) {
	defer b.wg.Done()
	defer c.Close()
	for first := true; ; first = false {
		payload, err := readTestFrame(c)
		if err != nil {
			return
		}
		var out []byte
		if first {
			out = frame(connectResponse)
		} else {
			b.update(func() {
				b.requests = append(b.requests, payload)
				out, b.prefix = append(b.prefix, frame(payload)...), nil
			})
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (b *fakeBackend) update(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	close(b.changed)
	b.changed = make(chan struct{})
}

// waitFor waits until cond, called with b.mu held, holds.
func (b *fakeBackend) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		b.mu.Lock()
		ok, ch := cond(), b.changed
		b.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("backend: waiting for %s: %v", what, ctx.Err())
		}
	}
}

// push writes data to the backend's latest connection.
func (b *fakeBackend) push(t *testing.T, data []byte) {
	t.Helper()
	b.mu.Lock()
	c := b.conns[len(b.conns)-1]
	b.mu.Unlock()
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
}

func frame(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// request returns a request frame's payload: xid, opcode and body.
func request(xid, op int32, body string) []byte {
	p := binary.BigEndian.AppendUint32(nil, uint32(xid))
	p = binary.BigEndian.AppendUint32(p, uint32(op))
	return append(p, body...)
}

func readTestFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	p := make([]byte, binary.BigEndian.Uint32(n[:]))
	_, err := io.ReadFull(r, p)
	return p, err
}

// dialProxy connects through the proxy and does the connect exchange.
func dialProxy(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(frame([]byte("connect-request"))); err != nil {
		t.Fatal(err)
	}
	if got, err := readTestFrame(c); err != nil || !bytes.Equal(got, connectResponse) {
		t.Fatalf("connect response %q, %v", got, err)
	}
	return c
}

// proxiedConn starts a backend and a proxy to it, and dials a connection
// through the proxy that has made one round trip.
func proxiedConn(t *testing.T) (*fakeBackend, *Proxy, net.Conn) {
	t.Helper()
	b := startBackend(t)
	p := StartProxy(t, b.ln.Addr().String())
	c := dialProxy(t, p)
	roundTrip(t, c, 1, "before")
	return b, p, c
}

// roundTrip sends a request and checks that its echo comes back.
func roundTrip(t *testing.T, c net.Conn, xid int32, body string) {
	t.Helper()
	req := request(xid, 4, body)
	if _, err := c.Write(frame(req)); err != nil {
		t.Fatal(err)
	}
	if got, err := readTestFrame(c); err != nil || !bytes.Equal(got, req) {
		t.Fatalf("reply %q, %v; want %q", got, err, req)
	}
}

// wantClosed checks that the next read from c finds the connection closed.
func wantClosed(t *testing.T, c net.Conn) {
	t.Helper()
	if got, err := readTestFrame(c); err == nil {
		t.Fatalf("read %q from a connection that should be closed", got)
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
		t.Fatalf("read: %v, want EOF", err)
	}
}

// isReset reports a connection the peer reset; a timeout is not one.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func TestProxyPassThroughZooKeeper(t *testing.T) {
	s := Shared(t)
	p := StartProxy(t, s.Addr())
	if p.Target() != s.Addr() {
		t.Fatalf("Target %q", p.Target())
	}
	for _, cmd := range []string{"ruok", "srvr"} {
		out, err := FourLetter(t.Context(), p.Addr(), cmd)
		if err != nil {
			t.Fatal(err)
		}
		if mode, _ := parseMode(out); cmd == "srvr" && mode != ModeStandalone {
			t.Fatalf("srvr through the proxy: %q", out)
		} else if cmd == "ruok" && out != "imok" {
			t.Fatalf("ruok through the proxy: %q", out)
		}
	}
}

// A client that half-closes after its command, like `echo ruok | nc`,
// still gets the answer: the proxy passes the half close on.
func TestProxyHalfClose(t *testing.T) {
	p := StartProxy(t, Shared(t).Addr())
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "ruok"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if out, err := io.ReadAll(c); err != nil || string(out) != "imok" {
		t.Fatalf("ruok = %q, %v", out, err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for p.Conns() != 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("%d connections left open", p.Conns())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestProxyCutAll(t *testing.T) {
	b := startBackend(t)
	p := StartProxy(t, b.ln.Addr().String())
	c1, c2 := dialProxy(t, p), dialProxy(t, p)
	roundTrip(t, c1, 1, "one")
	roundTrip(t, c2, 1, "two")
	if n := p.Conns(); n != 2 {
		t.Fatalf("Conns = %d, want 2", n)
	}
	p.CutAll()
	if n := p.Conns(); n != 0 {
		t.Fatalf("Conns after CutAll = %d", n)
	}
	wantClosed(t, c1)
	wantClosed(t, c2)
	// The backend sees its side closed too.
	b.mu.Lock()
	conns := append([]net.Conn(nil), b.conns...)
	b.mu.Unlock()
	for _, c := range conns {
		if _, err := readTestFrame(c); err == nil {
			t.Fatal("backend connection still open")
		}
	}
	c3 := dialProxy(t, p)
	roundTrip(t, c3, 1, "three")
}

func TestProxyBlackHole(t *testing.T) {
	b, p, c := proxiedConn(t)

	p.BlackHole(true)
	// A request vanishes: the backend never gets it.
	lost := frame(request(2, 4, "lost request"))
	if _, err := c.Write(lost); err != nil {
		t.Fatal(err)
	}
	waitDiscarded(t, p, int64(len(lost)))
	// So does anything the server sends.
	event := frame(request(-1, 0, "lost event"))
	b.push(t, event)
	waitDiscarded(t, p, int64(len(lost)+len(event)))
	// A new connection is accepted but never reaches the backend.
	fresh, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	hello := frame([]byte("connect-request"))
	if _, err := fresh.Write(hello); err != nil {
		t.Fatal(err)
	}
	waitDiscarded(t, p, int64(len(lost)+len(event)+len(hello)))

	p.BlackHole(false)
	roundTrip(t, c, 3, "after")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.accepted != 1 {
		t.Errorf("backend accepted %d connections, want 1", b.accepted)
	}
	if len(b.requests) != 2 || string(b.requests[1][8:]) != "after" {
		t.Errorf("backend got %q, want only before and after", b.requests)
	}
}

func TestProxyOneWayBlackHoles(t *testing.T) {
	b, p, c := proxiedConn(t)

	// Toward the server: requests vanish, events still arrive.
	p.BlackHoleToServer(true)
	lost := frame(request(2, 4, "lost request"))
	if _, err := c.Write(lost); err != nil {
		t.Fatal(err)
	}
	waitDiscarded(t, p, int64(len(lost)))
	event := request(-1, 0, "event")
	b.push(t, frame(event))
	if got, err := readTestFrame(c); err != nil || !bytes.Equal(got, event) {
		t.Fatalf("event %q, %v; want %q", got, err, event)
	}
	p.BlackHoleToServer(false)
	roundTrip(t, c, 3, "after the hole toward the server")

	// Toward the client: requests arrive, replies vanish.
	p.BlackHoleToClient(true)
	unanswered := request(4, 4, "unanswered")
	if _, err := c.Write(frame(unanswered)); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, "the request through the hole toward the client", func() bool {
		return len(b.requests) == 3 && bytes.Equal(b.requests[2], unanswered)
	})
	waitDiscarded(t, p, int64(len(lost)+len(frame(unanswered))))
	p.BlackHoleToClient(false)
	roundTrip(t, c, 5, "after the hole toward the client")
}

func waitDiscarded(t *testing.T, p *Proxy, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for p.Swallowed() < n {
		select {
		case <-ctx.Done():
			t.Fatalf("black hole swallowed %d bytes, want %d", p.Swallowed(), n)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if got := p.Swallowed(); got != n {
		t.Fatalf("black hole swallowed %d bytes, want %d", got, n)
	}
}

func TestProxyLatency(t *testing.T) {
	b := startBackend(t)
	p := StartProxy(t, b.ln.Addr().String())
	c := dialProxy(t, p)
	const d = 150 * time.Millisecond
	p.SetLatency(d)
	start := time.Now()
	roundTrip(t, c, 1, "slow")
	if rtt := time.Since(start); rtt < 2*d {
		t.Fatalf("round trip took %v, want at least %v", rtt, 2*d)
	}
	p.SetLatency(0)
	roundTrip(t, c, 2, "fast")
}

func TestProxyDropNextReply(t *testing.T) {
	b := startBackend(t)
	p := StartProxy(t, b.ln.Addr().String())
	c := dialProxy(t, p)
	roundTrip(t, c, 1, "kept")

	p.DropNextReply()
	// Pings (xid -2) do not count.
	roundTrip(t, c, -2, "")
	// The next request reaches the backend.
	req := request(7, 1, "/applied")
	if _, err := c.Write(frame(req)); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, "the request", func() bool { return len(b.requests) == 3 })
	if !bytes.Equal(b.requests[2], req) {
		t.Fatalf("backend got %q, want %q", b.requests[2], req)
	}
	// Its reply is dropped and the connection closed.
	wantClosed(t, c)

	// One drop only: the next connection works.
	c2 := dialProxy(t, p)
	roundTrip(t, c2, 1, "next")
	roundTrip(t, c2, 2, "next")
}

func TestProxyOnNextPingReply(t *testing.T) {
	b := startBackend(t)
	p := StartProxy(t, b.ln.Addr().String())
	c := dialProxy(t, p)
	roundTrip(t, c, 1, "first") // the connect request's place

	var calls atomic.Int32
	var replied atomic.Bool
	p.OnNextPingReply(func() {
		if replied.Load() {
			t.Error("the hook ran after the ping's reply was passed on")
		}
		calls.Add(1)
	})
	roundTrip(t, c, 2, "a request")
	if n := calls.Load(); n != 0 {
		t.Fatalf("the hook ran %d times for a reply to a request", n)
	}
	roundTrip(t, c, -2, "")
	replied.Store(true)
	roundTrip(t, c, -2, "")
	if n := calls.Load(); n != 1 {
		t.Fatalf("the hook ran %d times for two ping replies, want once", n)
	}
}

func TestProxyDropNextReplyKeepsEarlierFrames(t *testing.T) {
	b := startBackend(t)
	p := StartProxy(t, b.ln.Addr().String())
	c := dialProxy(t, p)
	// The backend writes a watch event and the reply in one write.
	event := request(-1, 0, "event before the reply")
	b.mu.Lock()
	b.prefix = frame(event)
	b.mu.Unlock()
	p.DropNextReply()
	if _, err := c.Write(frame(request(9, 1, "/x"))); err != nil {
		t.Fatal(err)
	}
	if got, err := readTestFrame(c); err != nil || !bytes.Equal(got, event) {
		t.Fatalf("read %q, %v; want the event", got, err)
	}
	wantClosed(t, c)
}

func TestProxyRefuse(t *testing.T) {
	b := startBackend(t)
	p := StartProxy(t, b.ln.Addr().String())
	old := dialProxy(t, p)
	p.Refuse(true)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantClosed(t, c)
	roundTrip(t, old, 1, "old connections stay")
	p.Refuse(false)
	roundTrip(t, dialProxy(t, p), 1, "new")
}

func TestProxyCloseEndsEverything(t *testing.T) {
	b := startBackend(t)
	p, err := NewProxy(b.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c1 := dialProxy(t, p)
	p.SetLatency(time.Hour)
	if _, err := c1.Write(frame(request(1, 4, "stuck in the delay line"))); err != nil {
		t.Fatal(err)
	}
	p.BlackHole(true)
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, c1)
	wantClosed(t, c2)
	if _, err := net.Dial("tcp", p.Addr()); err == nil {
		t.Fatal("a closed proxy accepts connections")
	}
}

func TestFrameScanner(t *testing.T) {
	var stream []byte
	stream = append(stream, frame([]byte("connect"))...)
	stream = append(stream, frame(request(-1, 0, "event"))...)
	stream = append(stream, frame(nil)...)
	stream = append(stream, frame([]byte{1, 2})...)
	stream = append(stream, frame(request(3, 0, "reply three"))...)
	cutAt := len(stream)
	stream = append(stream, frame(request(4, 0, "reply four"))...)

	for _, c := range []struct {
		name  string
		hold  bool
		drop  int32
		want  []byte
		cut   bool
		xids  []int32
		chunk int
	}{
		{name: "whole", drop: 99, want: stream, xids: []int32{-1, 3, 4}, chunk: len(stream)},
		{name: "bytewise", drop: 99, want: stream, xids: []int32{-1, 3, 4}, chunk: 1},
		{name: "drop whole", drop: 4, hold: true, want: stream[:cutAt], cut: true, xids: []int32{-1, 3, 4}, chunk: len(stream)},
		{name: "drop bytewise", drop: 4, hold: true, want: stream[:cutAt], cut: true, xids: []int32{-1, 3, 4}, chunk: 1},
		{name: "drop by threes", drop: 4, hold: true, want: stream[:cutAt], cut: true, xids: []int32{-1, 3, 4}, chunk: 3},
		{name: "drop unheld", drop: 4, want: stream[:cutAt+8], cut: true, xids: []int32{-1, 3, 4}, chunk: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s frameScanner
			var out []byte
			var xids []int32
			cut := false
			for p := stream; len(p) > 0 && !cut; {
				k := min(c.chunk, len(p))
				out, cut = s.scan(out, p[:k], c.hold, false, func(xid int32) bool {
					xids = append(xids, xid)
					return xid == c.drop
				})
				p = p[k:]
			}
			if !bytes.Equal(out, c.want) || cut != c.cut {
				t.Fatalf("scan passed on %q, cut %v; want %q, %v", out, cut, c.want, c.cut)
			}
			if !slices.Equal(xids, c.xids) {
				t.Fatalf("xids %v, want %v", xids, c.xids)
			}
		})
	}

	// Not framed: a four-letter word passes through.
	var s frameScanner
	out, cut := s.scan(nil, []byte("ruok"), true, false, func(int32) bool { return true })
	if string(out) != "ruok" || cut {
		t.Fatalf("ruok: %q, %v", out, cut)
	}
}

// A black hole that opens or closes in the middle of a frame swallows or
// passes that frame whole, so the stream stays framed: what passes is
// exactly the frames that started while the hole was off.
func TestFrameScannerBlackHoleKeepsFrames(t *testing.T) {
	a := frame(request(1, 4, "frame a"))
	b := frame(request(2, 4, "frame b"))
	c := frame(request(3, 4, "frame c"))
	stream := slices.Concat(frame([]byte("connect")), a, b, c)
	start := len(frame([]byte("connect")))
	for _, tc := range []struct {
		name     string
		holeFrom int // the hole is on for the bytes in [holeFrom, holeTo)
		holeTo   int
		want     []byte
	}{
		// On from a's sixth byte to b's sixth: a passes, b is swallowed.
		{"on mid a, off mid b", start + 6, start + len(a) + 6, slices.Concat(frame([]byte("connect")), a, c)},
		// On from b's first byte to c's first: only b is swallowed.
		{"on and off at boundaries", start + len(a), start + len(a) + len(b), slices.Concat(frame([]byte("connect")), a, c)},
		// On from inside the connect frame through a's third byte: the
		// connect frame passes, a is swallowed.
		{"on mid connect, off mid a", 5, start + 3, slices.Concat(frame([]byte("connect")), b, c)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, 7, len(stream)} {
				var s frameScanner
				var out []byte
				swallowed := 0
				for i := 0; i < len(stream); {
					// Split at the hole's edges too, as a read might.
					end := min(i+chunk, len(stream))
					for _, edge := range []int{tc.holeFrom, tc.holeTo} {
						if i < edge && edge < end {
							end = edge
						}
					}
					hole := i >= tc.holeFrom && i < tc.holeTo
					out, _ = s.scan(out, stream[i:end], false, hole, nil)
					swallowed += s.swallowed
					i = end
				}
				if !bytes.Equal(out, tc.want) {
					t.Fatalf("chunks of %d: passed on %q, want %q", chunk, out, tc.want)
				}
				if swallowed != len(stream)-len(tc.want) {
					t.Errorf("chunks of %d: swallowed %d bytes, want %d", chunk, swallowed, len(stream)-len(tc.want))
				}
			}
		})
	}
}

// A black hole passes no FIN or reset: a server that closes while the hole
// is on stays silent to the client, which hears of the close only once the
// hole is off.
func TestProxyBlackHoleHoldsCloses(t *testing.T) {
	b, p, c := proxiedConn(t)

	p.BlackHole(true)
	b.mu.Lock()
	server := b.conns[0]
	b.mu.Unlock()
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got, err := readTestFrame(c); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read through the hole after the server closed: %q, %v; want silence", got, err)
	}
	if p.Conns() != 1 {
		t.Errorf("%d connections open through the hole, want 1", p.Conns())
	}

	p.BlackHole(false)
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, c)
}

// failingListener fails its first Accept calls as a process out of file
// descriptors does, and then accepts as its listener does.
type failingListener struct {
	net.Listener
	failures atomic.Int32
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// An accept that fails for want of file descriptors does not stop the
// proxy accepting: connections queued meanwhile are served once accepts
// succeed again.
func TestProxyAcceptsAfterAcceptErrors(t *testing.T) {
	b := startBackend(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &failingListener{Listener: ln}
	fl.failures.Store(3)
	p := serveProxy(b.ln.Addr().String(), fl)
	defer p.Close()

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(frame([]byte("connect-request"))); err != nil {
		t.Fatal(err)
	}
	if got, err := readTestFrame(c); err != nil || !bytes.Equal(got, connectResponse) {
		t.Fatalf("connect response %q, %v; want it once accepts succeed again", got, err)
	}
	roundTrip(t, c, 1, "after failed accepts")
}
