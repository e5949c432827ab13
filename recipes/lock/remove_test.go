package lock_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
)

// A contender whose ctx ends while its create's reply is lost looks for
// its node by name and deletes it. It makes the server catch up before
// each listing: the server it reconnects to may not have applied the
// create yet (in an ensemble), and a listing without the node would leave
// an orphan that blocks the queue for as long as the session lives.
func TestMutexGivenUpCreateCatchesUpBeforeListing(t *testing.T) {
	srv := zktest.Shared(t)
	p := zktest.StartProxy(t, srv.Addr())
	ops := &opRecorder{}
	c := startClient(t, p.Addr(), core.WithDialer(ops.dial))
	other := startClient(t, srv.ConnString())
	ctx := testCtx(t)
	path := zktest.UniquePath(t)
	if err := other.EnsurePath(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.DeleteAll(context.WithoutCancel(ctx), path) })

	// The server applies the create; its reply never comes.
	p.BlackHoleToClient(true)
	lockCtx, giveUp := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- lock.NewMutex(c, path).Lock(lockCtx) }()
	eventually(t, "the contender's node", func() bool { return len(listChildren(t, other, path)) == 1 })
	mark := ops.count()
	giveUp()
	p.BlackHoleToClient(false)
	p.CutAll()
	if err := recv(t, done, "Lock's return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock: %v, want context.Canceled", err)
	}
	eventually(t, "the given-up node removed", func() bool { return len(listChildren(t, other, path)) == 0 })

	after := ops.since(mark)
	list := slices.IndexFunc(after, func(op int32) bool { return op == proto.OpGetChildren || op == proto.OpGetChildren2 })
	if list < 0 || !slices.Contains(after[:list], proto.OpMulti) {
		t.Fatalf("requests after giving up: %v; want a catch-up (a check-only transaction) before the listing", after)
	}
}

// opRecorder is a dialer that notes the opcode of every request its
// connections carry, after each one's connect request.
type opRecorder struct {
	mu  sync.Mutex
	ops []int32
}

func (r *opRecorder) dial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &recordedConn{Conn: nc, r: r}, nil
}

func (r *opRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops)
}

func (r *opRecorder) since(mark int) []int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops[mark:])
}

type recordedConn struct {
	net.Conn
	r         *opRecorder
	pending   []byte
	connected bool // the connect request, which has no header, went out
}

func (c *recordedConn) Write(b []byte) (int, error) {
	c.pending = append(c.pending, b...)
	for len(c.pending) >= 4 {
		n := int(binary.BigEndian.Uint32(c.pending))
		if len(c.pending) < 4+n {
			break
		}
		frame := c.pending[4 : 4+n]
		if c.connected && len(frame) >= 8 {
			c.r.mu.Lock()
			c.r.ops = append(c.r.ops, int32(binary.BigEndian.Uint32(frame[4:])))
			c.r.mu.Unlock()
		}
		c.connected = true
		c.pending = c.pending[4+n:]
	}
	return c.Conn.Write(b)
}
