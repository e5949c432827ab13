package core_test

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// writeGate is a client dialer whose connection can hold back what the
// client writes, so the server applies another client's change before
// the requests written meanwhile.
type writeGate struct {
	mu      sync.Mutex
	cond    *sync.Cond
	shut    bool
	waiting []int32 // opcodes of the frames held back
}

func newWriteGate() *writeGate {
	g := &writeGate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *writeGate) dialer() core.Dialer {
	return wrapDialer(func(nc net.Conn) net.Conn { return &gatedConn{Conn: nc, g: g} })
}

func (g *writeGate) set(shut bool) {
	g.mu.Lock()
	g.shut = shut
	if !shut {
		g.waiting = nil
	}
	g.cond.Broadcast()
	g.mu.Unlock()
}

// waitHeld waits until a write holding a frame with opcode op is held.
func (g *writeGate) waitHeld(t *testing.T, op int32) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		for _, o := range g.waiting {
			if o == op {
				return
			}
		}
		g.cond.Wait()
	}
}

type gatedConn struct {
	net.Conn
	g *writeGate
}

func (c *gatedConn) Write(b []byte) (int, error) {
	c.g.mu.Lock()
	if c.g.shut {
		// The opcodes of the frames written, as far as b holds them.
		for rest := b; len(rest) >= 12; {
			n := int(binary.BigEndian.Uint32(rest))
			c.g.waiting = append(c.g.waiting, int32(binary.BigEndian.Uint32(rest[8:])))
			if n+4 > len(rest) {
				break
			}
			rest = rest[n+4:]
		}
		c.g.cond.Broadcast()
		for c.g.shut {
			c.g.cond.Wait()
		}
	}
	c.g.mu.Unlock()
	return c.Conn.Write(b)
}

// When the last recursive watcher on a path closes beside a plain one,
// the client sets the path plain again, and until the server has applied
// that, it sends the children's creates and deletes and no
// NodeChildrenChanged: the plain watcher must still see its children
// change then.
func TestWatchPlainBesideClosingRecursiveSeesChildren(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootB(t, srv.ConnString())
	gate := newWriteGate()
	c := startClientB(t, srv.Addr(), core.WithChroot(root), core.WithDialer(gate.dialer()))
	other := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	plain, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)
	recursive, err := c.AddWatch(ctx, "/n", core.WatchPersistentRecursive)
	require.NoError(t, err)

	gate.set(true)
	closed := make(chan error, 1)
	go func() { closed <- recursive.Close() }()
	// The path is being set plain, but the server has not seen it yet.
	gate.waitHeld(t, proto.OpSetWatches2)
	_, err = other.Create(ctx, "/n/kid", nil)
	require.NoError(t, err)
	gate.set(false)
	require.NoError(t, <-closed)
	_, err = other.Create(ctx, "/n/kid2", nil)
	require.NoError(t, err)
	_, err = other.SetData(ctx, "/n", []byte("x"))
	require.NoError(t, err)

	wantEventB(t, plain.Events(), core.EventNodeChildrenChanged, "/n")
	wantEventB(t, plain.Events(), core.EventNodeChildrenChanged, "/n")
	wantEventB(t, plain.Events(), core.EventNodeDataChanged, "/n")
}
