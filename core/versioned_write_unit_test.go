package core

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// dropFirstWriteReply is a dialer whose first connection closes instead of
// handing over the reply to the first setData the client writes: that
// write is applied on the server and lost in flight for the client. Later
// connections pass everything.
type dropFirstWriteReply struct {
	mu    sync.Mutex
	dials int
}

func (d *dropFirstWriteReply) dial(ctx context.Context, network, address string) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials++
	if d.dials > 1 {
		return nc, nil
	}
	return &replyDropConn{Conn: nc}, nil
}

type replyDropConn struct {
	net.Conn
	mu      sync.Mutex
	wrote   bool // a setData went out
	dropped bool
}

func (c *replyDropConn) Write(b []byte) (int, error) {
	// A request frame: length, xid, opcode.
	if len(b) >= 12 && int32(binary.BigEndian.Uint32(b[8:12])) == proto.OpSetData {
		c.mu.Lock()
		c.wrote = true
		c.mu.Unlock()
	}
	return c.Conn.Write(b)
}

func (c *replyDropConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	// The first frame read after the setData went out that answers a
	// numbered request (a reply frame: length, xid) is its reply.
	if c.wrote && !c.dropped && n >= 8 && int32(binary.BigEndian.Uint32(p[4:8])) > 0 {
		c.dropped = true
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	return n, err
}

// lostThenRefused starts a client with policy whose first setData of a new
// node at path is applied and lost in flight, and returns the client, the
// setData request (at version 0, so its retry meets ErrBadVersion) and a
// client without faults that made the node.
func lostThenRefused(t *testing.T, ctx context.Context, policy *RetryPolicy) (c *Client, req *proto.SetDataRequest, admin *Client, path string) {
	t.Helper()
	srv := zktest.Shared(t)
	path = zktest.UniquePath(t)
	admin, err := NewClient(srv.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	d := &dropFirstWriteReply{}
	c, err = NewClient(srv.ConnString(), WithDialer(d.dial), WithRetryPolicy(policy))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sp, err := c.serverPath(path)
	if err != nil {
		t.Fatal(err)
	}
	return c, &proto.SetDataRequest{Path: sp, Data: []byte("x"), Version: 0}, admin, path
}

// A versioned write whose first attempt was applied and lost in flight
// looks at the node before it sends the write again. Here the first look
// says the node is untouched, as a server that has yet to apply the lost
// attempt could, so the write goes again, meets ErrBadVersion, and looks
// again. When that look finds no connection, the attempt still counts:
// the setData went out. RetryOnce makes two attempts and stops, where an
// attempt taken for one that never left the client sent the write again
// until ctx ended.
func TestUnitVersionedWriteCountsAttemptWhoseReadBackWasNotSent(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, req, admin, path := lostThenRefused(t, ctx, RetryOnce())
	looks := 0
	look := func(context.Context) (*Stat, writeOutcome, error) {
		looks++
		if looks == 1 {
			return &Stat{}, outcomeUntouched, nil
		}
		return nil, outcomeUnknown, &notSentError{}
	}
	callCtx, callCancel := context.WithTimeout(ctx, 5*time.Second)
	defer callCancel()
	_, err := c.versionedWrite(callCtx, req, req.Path, 0, false, look)
	if !errors.Is(err, ErrFailedRetry) || !errors.Is(err, ErrConnectionLoss) {
		t.Errorf("versionedWrite: %v, want ErrFailedRetry after a loss", err)
	}
	if looks != 2 {
		t.Errorf("the node was looked at %d times, want twice: the write went out again after its attempts were spent", looks)
	}
	if _, st, err := admin.Get(ctx, path); err != nil || st.Version != 1 {
		t.Errorf("Get(%s): version %v, %v; want 1: the first attempt was applied once", path, st, err)
	}
}

// A look before the write goes again that never leaves the client (no
// connection) costs no attempt: with RetryOnce, a call whose looks find
// no connection three times and then see the write succeeds, where
// counting them spent its one retry on the first.
func TestUnitVersionedWriteLookNotSentCostsNoAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, req, _, _ := lostThenRefused(t, ctx, RetryOnce())
	looks := 0
	look := func(context.Context) (*Stat, writeOutcome, error) {
		looks++
		if looks <= 3 {
			return nil, outcomeUnknown, &notSentError{}
		}
		return &Stat{Version: 1}, outcomeApplied, nil
	}
	callCtx, callCancel := context.WithTimeout(ctx, 5*time.Second)
	defer callCancel()
	st, err := c.versionedWrite(callCtx, req, req.Path, 0, false, look)
	if err != nil || st == nil || st.Version != 1 {
		t.Errorf("versionedWrite: %v, %v; want the write seen at version 1", st, err)
	}
	if looks != 4 {
		t.Errorf("looked %d times, want 4", looks)
	}
}

// When the read back of such a write gets no answer before the call's ctx
// ends, the call fails with ctx's error: whether the write was applied is
// unknown. It used to return the retry's ErrBadVersion, which tells the
// caller that someone else's write won, though its own had been applied.
func TestUnitVersionedWriteUnansweredReadBackIsNoRefusal(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, req, _, _ := lostThenRefused(t, ctx, RetryForever())
	unanswered := func(ctx context.Context) (*Stat, writeOutcome, error) {
		<-ctx.Done()
		return nil, outcomeUnknown, ctx.Err()
	}
	callCtx, callCancel := context.WithTimeout(ctx, 2*time.Second)
	defer callCancel()
	_, err := c.versionedWrite(callCtx, req, req.Path, 0, false, unanswered)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrBadVersion) {
		t.Errorf("versionedWrite: %v, want ctx's error and no ErrBadVersion", err)
	}
}

// What a look at the node tells of a lost write: the node the write was
// sent to (made no later than since, 10 here) tells at the next version or
// at the version written at; any other state leaves the outcome unknown,
// as does a client that has seen less than since (a new session on
// servers whose zxids went back).
func TestUnitNextVersionShows(t *testing.T) {
	const since = 10
	for _, tc := range []struct {
		now, version int32
		ours         bool
		made         int64
		want         writeOutcome
		seen         int64 // 0 for since+5
	}{
		{1, 0, true, 5, outcomeApplied, 0},
		{1, 0, false, 5, outcomeOverwritten, 0}, // another write took the next version
		{0, 0, false, 5, outcomeUntouched, 0},   // nothing moved
		{2, 0, true, 5, outcomeUnknown, 0},      // ours may have been written over with the same data
		{2, 0, false, 5, outcomeUnknown, 0},     // ours may have come first
		{1, 0, false, 11, outcomeUnknown, 0},    // a node made since: ours may have gone to the one before
		{0, 0, false, 11, outcomeUnknown, 0},    // the same
		{1, 0, true, 11, outcomeApplied, 0},     // the node shows this write
		{5, 4, false, since, outcomeOverwritten, 0},
		{1, 0, false, 5, outcomeUnknown, 7}, // zxids went back
		{0, 0, false, 5, outcomeUnknown, 7}, // the same
		{1, 0, true, 5, outcomeApplied, 7},  // the node shows this write
	} {
		seen := tc.seen
		if seen == 0 {
			seen = since + 5
		}
		if got := nextVersionShows(tc.now, tc.version, tc.ours, tc.made, since, seen); got != tc.want {
			t.Errorf("nextVersionShows(%d, %d, %v, %d, %d, %d) = %d, want %d", tc.now, tc.version, tc.ours, tc.made, since, seen, got, tc.want)
		}
	}
}

// A look that finds the node untouched can come before the lost attempt
// lands (a slower server may still apply it): the write that goes again
// then meets ErrBadVersion, and the call looks again rather than trust
// the first look. Here the second look shows the write: success.
func TestUnitVersionedWriteRefusedAfterUntouchedLookLooksAgain(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, req, _, _ := lostThenRefused(t, ctx, RetryForever())
	looks := 0
	look := func(context.Context) (*Stat, writeOutcome, error) {
		looks++
		if looks == 1 {
			return &Stat{}, outcomeUntouched, nil
		}
		return &Stat{Version: 1}, outcomeApplied, nil
	}
	st, err := c.versionedWrite(ctx, req, req.Path, 0, false, look)
	if err != nil || st == nil || st.Version != 1 {
		t.Errorf("versionedWrite: %v, %v; want the write seen at version 1, not the refusal", st, err)
	}
	if looks != 2 {
		t.Errorf("looked %d times, want twice", looks)
	}
}

// A look that finds no node before the write goes again cannot tell
// whether the lost attempt was applied before the node went: the call
// fails with ErrOutcomeUnknown, not ErrNoNode.
func TestUnitVersionedWriteLookFindingNoNodeIsOutcomeUnknown(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, req, _, _ := lostThenRefused(t, ctx, RetryForever())
	look := func(context.Context) (*Stat, writeOutcome, error) {
		return nil, outcomeUnknown, &Error{Code: CodeNoNode}
	}
	_, err := c.versionedWrite(ctx, req, req.Path, 0, false, look)
	if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrNoNode) {
		t.Errorf("versionedWrite: %v, want ErrOutcomeUnknown and no ErrNoNode", err)
	}
}
