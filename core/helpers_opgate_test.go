package core_test

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"

	"github.com/zkit-go/zkit/core"
)

// opGate is a client dialer whose connections can hold back the requests
// of one opcode: while it is shut, the first such request the client
// writes, and everything written after it, wait, and what was written
// before it goes on to the server. So the server applies the frames sent
// ahead of that request (a new connection's setWatches, say) and not the
// request itself until the gate opens.
type opGate struct {
	op int32

	mu   sync.Mutex
	cond *sync.Cond
	shut bool
	held bool // a write waits at the gate
}

func newOpGate(op int32) *opGate {
	g := &opGate{op: op}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// dialer returns the core.Dialer to give the client.
func (g *opGate) dialer() core.Dialer {
	return wrapDialer(func(nc net.Conn) net.Conn { return &opGatedConn{Conn: nc, g: g} })
}

// set shuts the gate (true) or opens it.
func (g *opGate) set(shut bool) {
	g.mu.Lock()
	g.shut = shut
	g.cond.Broadcast()
	g.mu.Unlock()
}

// waitHeld waits until a request of the gate's opcode waits at it.
func (g *opGate) waitHeld(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.held {
		g.cond.Wait()
	}
}

// pass waits while the gate is shut, marking a write as held.
func (g *opGate) pass() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.shut {
		return
	}
	g.held = true
	g.cond.Broadcast()
	for g.shut {
		g.cond.Wait()
	}
	g.held = false
}

// opGatedConn is one connection through an opGate. It reads the framing of
// what the client writes to find each request's opcode.
type opGatedConn struct {
	net.Conn
	g *opGate

	wmu       sync.Mutex
	carry     []byte // the start of a frame not yet written whole
	handshake bool   // the connect request has been written
}

func (c *opGatedConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	before := len(c.carry)
	c.carry = append(c.carry, b...)
	sent, off := 0, 0 // sent: bytes of b forwarded; off: parsed in carry
	for len(c.carry)-off >= 4 {
		n := int(binary.BigEndian.Uint32(c.carry[off:]))
		if len(c.carry)-off-4 < n {
			break
		}
		body := c.carry[off+4 : off+4+n]
		// Where the frame starts in b; a frame begun in an earlier write
		// is held from the start of this one.
		start := max(off-before, sent)
		off += 4 + n
		if !c.handshake {
			c.handshake = true
			continue
		}
		if len(body) < 8 || int32(binary.BigEndian.Uint32(body[4:])) != c.g.op {
			continue
		}
		if _, err := c.Conn.Write(b[sent:start]); err != nil {
			return sent, err
		}
		sent = start
		c.g.pass()
	}
	c.carry = append(c.carry[:0], c.carry[off:]...)
	n, err := c.Conn.Write(b[sent:])
	return sent + n, err
}
