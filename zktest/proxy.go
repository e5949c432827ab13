package zktest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy on 127.0.0.1 that injects network faults between
// clients and a server: cut connections, a black hole (both ways or one),
// latency, a lost reply, refused connections. It passes everything through until told
// otherwise. Its methods are safe for concurrent use.
type Proxy struct {
	target  string
	ln      net.Listener
	closing chan struct{} // closed by Close

	// discarded counts the bytes the black holes swallowed (Swallowed).
	discarded atomic.Int64

	mu           sync.Mutex
	conns        map[*proxyConn]struct{}
	closed       bool
	holeToServer bool // what clients send is swallowed
	holeToClient bool // what the server sends is swallowed
	refuse       bool
	dropNext     bool
	onPingReply  func() // see OnNextPingReply
	latency      time.Duration

	// running counts the proxy's goroutines, and hooking those of them
	// that run an OnNextPingReply hook; idle, on mu, is signalled when a
	// goroutine ends or enters a hook. Close waits for running to come
	// down to hooking.
	running int
	hooking int
	idle    sync.Cond
}

// xidPing is the request id of pings and of their replies.
const xidPing = -2

// NewProxy starts a proxy on a free port of 127.0.0.1 that forwards every
// connection to target (host:port). Close stops it.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return nil, fmt.Errorf("zktest: proxy: %w", err)
	}
	return serveProxy(target, ln), nil
}

// serveProxy starts a proxy that accepts on ln.
func serveProxy(target string, ln net.Listener) *Proxy {
	p := &Proxy{target: target, ln: ln, conns: make(map[*proxyConn]struct{}), closing: make(chan struct{})}
	p.idle.L = &p.mu
	p.running = 1
	go p.accept()
	return p
}

// Addr returns the address clients connect to, 127.0.0.1:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target returns the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines to end, except any that runs an OnNextPingReply hook:
// the hook may be what called Close, and it ends soon after it returns.
// Closing a closed proxy returns nil once the goroutines have ended in the
// same way, so a later Close, such as StartProxy's at the end of the test,
// also waits for a hook that has returned since.
func (p *Proxy) Close() error {
	p.mu.Lock()
	first := !p.closed
	if first {
		p.closed = true
		close(p.closing)
	}
	conns := p.snapshot()
	p.mu.Unlock()
	var err error
	if first {
		err = p.ln.Close()
	}
	for _, c := range conns {
		c.close()
	}
	p.mu.Lock()
	for p.running > p.hooking {
		p.idle.Wait()
	}
	p.mu.Unlock()
	return err
}

// goroutineDone records the end of one of the proxy's goroutines.
func (p *Proxy) goroutineDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running--
	p.idle.Broadcast()
}

// goroutinesStarted records n more of the proxy's goroutines.
func (p *Proxy) goroutinesStarted(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running += n
}

// runHook runs an OnNextPingReply hook, during which Close does not wait
// for the calling goroutine.
func (p *Proxy) runHook(fn func()) {
	p.mu.Lock()
	p.hooking++
	p.idle.Broadcast()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.hooking--
		p.mu.Unlock()
	}()
	fn()
}

// CutAll closes every current connection, on both sides. New connections
// are accepted as before.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	conns := p.snapshot()
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Conns returns the number of open client connections.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// BlackHole turns the black hole on or off. While it is on, the proxy reads
// everything both sides send and forwards none of it, on existing and new
// connections; nothing is closed, and a side that closes or resets its end
// is not heard of on the other until the hole is off, so clients see a
// silent server. The hole swallows whole ZooKeeper frames: a frame that
// began before it turned on still passes whole, and one that began while it
// was on is swallowed whole, so that a connection stays framed when the hole
// is turned off, with the frames it swallowed missing. TCP itself never
// loses data on a connection that stays up, so this is a harsher fault
// than a network partition: a client must notice the loss on its own (zkit
// notices a lost request, credential or watch frame at its next answered
// ping; a lost watch event is not noticed). A connection accepted
// while it is on never reaches the target, even after it is turned off. It
// is off by default.
func (p *Proxy) BlackHole(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holeToServer, p.holeToClient = on, on
}

// Swallowed returns how many bytes the black holes have swallowed so far,
// both ways, on every connection. A test that turns a hole on and then
// sends a request can wait for the count to grow before it turns the hole
// off: until the proxy has read the request, it could still pass.
func (p *Proxy) Swallowed() int64 { return p.discarded.Load() }

// BlackHoleToServer turns a one-way black hole on or off: while it is on,
// what clients send is swallowed, and what the server sends still arrives.
// The server hears nothing from its clients' sessions (and expires them
// after their timeout) while the clients still receive watch events. New
// connections reach the server, but their connect requests do not.
func (p *Proxy) BlackHoleToServer(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holeToServer = on
}

// BlackHoleToClient turns the other one-way black hole on or off: while
// it is on, what the server sends is swallowed, and what clients send
// still arrives, so the server keeps their sessions alive while the
// clients hear nothing.
func (p *Proxy) BlackHoleToClient(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holeToClient = on
}

// Refuse turns refusing on or off. While it is on, new connections are
// closed as soon as they are accepted; existing ones are left alone. It is
// off by default.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = on
}

// SetLatency delays everything forwarded, in each direction, by d. It is 0
// by default.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = max(d, 0)
}

// OnNextPingReply arms fn to run once, when the server's next reply to a
// ping (on any connection) reaches the proxy, before the proxy passes it
// on. fn runs on the proxy's goroutine for that connection, which waits
// for it. A test can kill the server there, so that the client learns
// the ping was answered while the server had no time to tell anyone else
// of it, such as a follower its leader. fn may call any of the proxy's
// methods, Close included.
func (p *Proxy) OnNextPingReply(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onPingReply = fn
}

// claimPingHook takes the armed ping-reply hook, if any.
func (p *Proxy) claimPingHook() func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn := p.onPingReply
	p.onPingReply = nil
	return fn
}

// DropNextReply arms the loss of one reply: the next request a client sends
// (on any connection, after its connect request; pings excluded) reaches the
// server, but the server's reply to it, the next frame with the same xid, is
// discarded and that client's connection is closed. This is a reply lost
// after the server applied the request.
func (p *Proxy) DropNextReply() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropNext = true
}

func (p *Proxy) snapshot() []*proxyConn {
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	return conns
}

// blackHoled reports whether what goes toward the server (toServer), or
// toward the client, is swallowed.
func (p *Proxy) blackHoled(toServer bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if toServer {
		return p.holeToServer
	}
	return p.holeToClient
}

func (p *Proxy) currentLatency() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latency
}

// claimDrop takes the armed reply loss, if any.
func (p *Proxy) claimDrop() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	claimed := p.dropNext
	p.dropNext = false
	return claimed
}

func (p *Proxy) accept() {
	defer p.goroutineDone()
	var pause time.Duration
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: the listener still queues
			// connections, so accept again after a pause rather than leave
			// them hanging.
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(pause):
				continue
			case <-p.closing:
				return
			}
		}
		pause = 0
		p.mu.Lock()
		if p.closed || p.refuse {
			p.mu.Unlock()
			_ = nc.Close()
			continue
		}
		c := &proxyConn{p: p, client: nc, done: make(chan struct{})}
		p.conns[c] = struct{}{}
		sink := p.holeToServer && p.holeToClient
		p.running++
		p.mu.Unlock()
		if sink {
			go c.sink()
		} else {
			go c.serve()
		}
	}
}

// proxyConn is one client connection and its connection to the target.
type proxyConn struct {
	p      *Proxy
	client net.Conn
	done   chan struct{} // closed by close

	halves atomic.Int32 // directions that ended with a clean EOF

	mu      sync.Mutex
	server  net.Conn
	closed  bool
	drop    bool  // a reply is to be dropped
	dropXid int32 // the xid of the request whose reply is dropped
}

func (c *proxyConn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	server := c.server
	c.mu.Unlock()
	_ = c.client.Close()
	if server != nil {
		_ = server.Close()
	}
	c.p.mu.Lock()
	delete(c.p.conns, c)
	c.p.mu.Unlock()
}

func (c *proxyConn) setDrop(xid int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop, c.dropXid = true, xid
}

func (c *proxyConn) pendingDrop() (int32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropXid, c.drop
}

// sink reads and discards what a black-holed client sends until it closes.
func (c *proxyConn) sink() {
	defer c.p.goroutineDone()
	defer c.close()
	buf := make([]byte, 4096)
	for {
		n, err := c.client.Read(buf)
		c.p.discarded.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// serve connects to the target and runs the two directions. It reads the
// client itself; three more goroutines write to the server and read from and
// write to the server.
func (c *proxyConn) serve() {
	defer c.p.goroutineDone()
	server, err := net.DialTimeout("tcp", c.p.target, 5*time.Second)
	if err != nil {
		c.close()
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = server.Close()
		return
	}
	c.server = server
	c.mu.Unlock()

	up := &direction{c: c, src: c.client, dst: server, toServer: true, ch: make(chan chunk, 64)}
	down := &direction{c: c, src: server, dst: c.client, ch: make(chan chunk, 64)}
	c.p.goroutinesStarted(3)
	go up.write()
	go down.read()
	go down.write()
	c.p.goroutinesStarted(1)
	up.read()
}

// chunk is bytes read at one time, to be written after the latency; cut
// closes the connection after them.
type chunk struct {
	data []byte
	at   time.Time
	cut  bool
}

// direction forwards one way through a delay line: read puts chunks on ch,
// write takes them off once their latency has passed.
type direction struct {
	c        *proxyConn
	src, dst net.Conn
	toServer bool
	ch       chan chunk
	scan     frameScanner
	eof      bool // src ended with EOF; set before ch is closed
}

func (d *direction) read() {
	defer d.c.p.goroutineDone()
	defer close(d.ch)
	buf := make([]byte, 32<<10)
	for {
		n, err := d.src.Read(buf)
		d.eof = errors.Is(err, io.EOF)
		if n > 0 {
			ck := d.process(buf[:n])
			if len(ck.data) > 0 || ck.cut {
				select {
				case d.ch <- ck:
				case <-d.c.done:
					return
				}
			}
			if ck.cut {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// process follows the ZooKeeper framing of what was read, to find the
// request whose reply is to be dropped and then that reply.
func (d *direction) process(b []byte) chunk {
	now := time.Now()
	hole := d.c.p.blackHoled(d.toServer)
	if d.toServer {
		out, _ := d.scan.scan(nil, b, false, hole, func(xid int32) bool {
			if !d.scan.swallowing && xid >= 0 && d.c.p.claimDrop() {
				d.c.setDrop(xid)
			}
			return false
		})
		d.c.p.discarded.Add(int64(d.scan.swallowed))
		return chunk{data: out, at: now}
	}
	xid, pending := d.c.pendingDrop()
	out, cut := d.scan.scan(nil, b, pending, hole, func(x int32) bool {
		if x == xidPing {
			if fn := d.c.p.claimPingHook(); fn != nil {
				d.c.p.runHook(fn)
			}
		}
		return pending && x == xid
	})
	d.c.p.discarded.Add(int64(d.scan.swallowed))
	return chunk{data: out, at: now, cut: cut}
}

// write forwards the chunks. When the source's EOF has been passed on as a
// half close and the other direction has ended the same way, or on any
// error or cut, it closes the connection.
func (d *direction) write() {
	defer d.c.p.goroutineDone()
	clean := false
	defer func() {
		if !clean || d.c.halves.Add(1) == 2 {
			d.c.close()
		}
	}()
	var timer *time.Timer
	for {
		var ck chunk
		var more bool
		// The connection may be closed while its reader, busy running an
		// OnNextPingReply hook, has yet to close ch.
		select {
		case ck, more = <-d.ch:
		case <-d.c.done:
			return
		}
		if !more {
			break
		}
		if wait := time.Until(ck.at.Add(d.c.p.currentLatency())); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-d.c.done:
				timer.Stop()
				return
			}
		}
		if len(ck.data) > 0 {
			if _, err := d.dst.Write(ck.data); err != nil {
				return
			}
		}
		if ck.cut {
			return
		}
	}
	// The source has ended. A black hole passes no FIN or reset either:
	// the other side learns of the end once the hole is off.
	if !d.c.waitHoleOff(d.toServer) {
		return
	}
	if tc, ok := d.dst.(*net.TCPConn); ok && d.eof {
		clean = tc.CloseWrite() == nil
	}
}

// holePoll is how often a connection whose source has ended looks whether
// the black hole in its way is still on.
const holePoll = 10 * time.Millisecond

// waitHoleOff waits until nothing swallows what goes toward the server
// (toServer) or toward the client, and reports whether it did before the
// connection closed.
func (c *proxyConn) waitHoleOff(toServer bool) bool {
	for c.p.blackHoled(toServer) {
		select {
		case <-c.done:
			return false
		case <-time.After(holePoll):
		}
	}
	return true
}

// maxFrame bounds a ZooKeeper frame's length; a larger one means the stream
// is not framed, like a four-letter word.
const maxFrame = 64 << 20

// frameScanner follows ZooKeeper's framing, a 4-byte big-endian length and
// then the payload, through a stream read in arbitrary pieces. The payload of
// every frame but the first (the connect request or response) starts with
// the int32 xid.
type frameScanner struct {
	hdr        [8]byte // length and xid of the current frame
	nhdr       int     // bytes of hdr received
	emitted    int     // bytes of hdr passed on
	holding    bool    // hdr is held back until the frame is known
	swallowing bool    // the current frame goes into the black hole
	swallowed  int     // bytes swallowed by the latest scan
	length     int     // payload length of the current frame
	remaining  int     // payload bytes of the current frame still to come
	frames     int     // frames whose header is complete
	off        bool    // the stream is not framed
}

// scan appends to dst the bytes of p to pass on and calls onFrame with the
// xid of each frame after the first. When onFrame returns true, scan stops:
// that frame and everything after it are not passed on, and cut is true.
// With hold, the header of a frame that starts in p is held back until the
// frame's xid is known, so that no byte of a dropped frame is passed on.
//
// With hole, each frame that starts in p is swallowed whole: none of its
// bytes is passed on, even those that come in a later scan without hole,
// and s.swallowed counts them. A frame that started before is passed on
// whole in the same way, so that the stream stays framed when a black hole
// opens or closes in the middle of a frame. An unframed stream is
// swallowed a piece at a time.
func (s *frameScanner) scan(dst, p []byte, hold, hole bool, onFrame func(xid int32) bool) (out []byte, cut bool) {
	s.swallowed = 0
	put := func(b []byte) {
		if s.swallowing {
			s.swallowed += len(b)
		} else {
			dst = append(dst, b...)
		}
	}
	emit := func() {
		put(s.hdr[s.emitted:s.nhdr])
		s.emitted = s.nhdr
	}
	for len(p) > 0 {
		if s.off {
			s.swallowing = hole
			put(p)
			return dst, false
		}
		if s.remaining > 0 {
			k := min(s.remaining, len(p))
			put(p[:k])
			p = p[k:]
			s.remaining -= k
			continue
		}
		if s.nhdr == 0 {
			s.holding = hold
			s.swallowing = hole
		}
		want := 4
		if s.nhdr >= 4 {
			want = 4 + min(4, s.length)
		}
		k := copy(s.hdr[s.nhdr:want], p)
		s.nhdr += k
		p = p[k:]
		if !s.holding {
			emit()
		}
		if s.nhdr < want {
			continue // p is used up
		}
		if want == 4 {
			n := int32(binary.BigEndian.Uint32(s.hdr[:4]))
			if n < 0 || n > maxFrame {
				s.off = true
				emit()
				continue
			}
			s.length = int(n)
			if n > 0 {
				continue // go on with the xid
			}
		}
		s.frames++
		if s.frames > 1 && s.length >= 4 && onFrame != nil &&
			onFrame(int32(binary.BigEndian.Uint32(s.hdr[4:8]))) {
			return dst, true
		}
		emit()
		s.remaining = s.length - (s.nhdr - 4)
		s.nhdr, s.emitted = 0, 0
	}
	return dst, false
}
