package core_test

import (
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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

// heldGated dials through a replyHold and a writeGate at once.
func heldGated(h *replyHold, g *writeGate) core.Dialer {
	d := h.dialer()
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		nc, err := d(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return &gatedConn{Conn: nc, g: g}, nil
	}
}

// heldGatedPair is heldPairR with a write gate too: c's replies can be
// held, and its writes kept back.
func heldGatedPair(t *testing.T) (c, other *core.Client, hold *replyHold, gate *writeGate) {
	t.Helper()
	srv := zktest.Shared(t)
	root := chrootB(t, srv.ConnString())
	hold, gate = newReplyHold(), newWriteGate()
	c = startClientB(t, srv.Addr(), core.WithChroot(root), core.WithDialer(heldGated(hold, gate)))
	other = startClientB(t, srv.ConnString(), core.WithChroot(root))
	return c, other, hold, gate
}

// An AddWatch whose request went out before the removal that Close of the
// path's last watcher sends loses its watch on the server to that
// removal: the client sets it again when the removal's reply is read, but
// AddWatch must not return before that is in effect, or the watcher misses
// changes made after it returned.
func TestWatchAddedBeforeReleaseSeesNextChange(t *testing.T) {
	c, other, hold, gate := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	first, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)

	hold.hold()
	added := goAddWatch(t, ctx, c, "/n", core.WatchPersistent)
	hold.waitWritten(t, proto.OpAddWatch, 2)
	closed := make(chan error, 1)
	go func() { closed <- first.Close() }()
	hold.waitWritten(t, proto.OpRemoveWatches, 1)
	hold.waitHeldReplies(t, 2)
	// The server has applied the addWatch, then the removal. What the
	// client sends from now on waits.
	gate.set(true)
	hold.release()
	// AddWatch either returns at once, its watch gone from the server, or
	// waits for it to be set again.
	second := addedAfterGate(t, ctx, added, gate, func() {
		_, err := other.Create(ctx, "/n/kid", nil)
		require.NoError(t, err)
	})
	require.NoError(t, awaitR(t, ctx, closed, "Close"))
	_, err = other.SetData(ctx, "/n", []byte("x"))
	require.NoError(t, err)
	wantEventB(t, second.Events(), core.EventNodeChildrenChanged, "/n")
	wantEventB(t, second.Events(), core.EventNodeDataChanged, "/n")
}

// addedAfterGate returns the watcher from a background AddWatch that the
// shut gate may keep waiting for its watch to be set again (in
// awaitOverrides or awaitRearm). change runs once AddWatch has returned:
// before the gate opens if AddWatch did not wait for it, after if it did.
func addedAfterGate(t *testing.T, ctx context.Context, added <-chan *core.Watcher, gate *writeGate, change func()) *core.Watcher {
	t.Helper()
	waiting := func() bool { return addWatchAwaits() || addWatchAwaitsRearm() }
	for {
		select {
		case w := <-added:
			require.NotNil(t, w)
			change()
			gate.set(false)
			return w
		default:
		}
		if waiting() {
			gate.set(false)
			w := awaitR(t, ctx, added, "AddWatch")
			require.NotNil(t, w)
			change()
			return w
		}
		time.Sleep(time.Millisecond)
	}
}

// addWatchAwaits reports whether a goroutine waits in AddWatch for the
// requests that override its path's watch (awaitOverrides).
func addWatchAwaits() bool { return addWatchWaitsIn("core.awaitOverrides(") }

// addWatchAwaitsRearm reports whether a goroutine waits in AddWatch for its
// watch to be set again (awaitRearm).
func addWatchAwaitsRearm() bool { return addWatchWaitsIn("(*Client).awaitRearm(") }

func addWatchWaitsIn(frame string) bool {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "(*Client).AddWatch(") && strings.Contains(g, frame) {
			return true
		}
	}
	return false
}

// A one-shot read that sets a watch on the server after a recursive
// addWatch on the same path went out, but before its reply came, makes
// the server's watch there one-shot (ZooKeeper 3.8 keeps one mode per
// session and path). The read's reply sets the recursive watch again;
// AddWatch must not return before that is in effect, or the watcher misses
// changes made after it returned.
func TestWatchAddedBeforeOneShotReadSeesNextChange(t *testing.T) {
	c, other, hold, gate := heldGatedPair(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/r", nil)
	require.NoError(t, err)

	hold.hold()
	added := goAddWatch(t, ctx, c, "/r", core.WatchPersistentRecursive)
	hold.waitWritten(t, proto.OpAddWatch, 1)
	got := goGetW(ctx, c, "/r")
	hold.waitWritten(t, proto.OpGetData, 1)
	hold.waitHeldReplies(t, 2)
	gate.set(true)
	hold.release()
	rec := addedAfterGate(t, ctx, added, gate, func() {
		_, err := other.Create(ctx, "/r/kid", nil)
		require.NoError(t, err)
	})
	require.NoError(t, awaitR(t, ctx, got, "GetW").err)
	_, err = other.SetData(ctx, "/r", []byte("x"))
	require.NoError(t, err)
	wantEventB(t, rec.Events(), core.EventNodeCreated, "/r/kid")
	wantEventB(t, rec.Events(), core.EventNodeDataChanged, "/r")
}
