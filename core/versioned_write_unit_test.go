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
// meets ErrBadVersion on its retry and reads the node back. When that
// read finds no connection, the attempt still counts: the setData went
// out. RetryOnce makes two attempts and stops, where an attempt taken for
// one that never left the client sent the write again until ctx ended.
func TestUnitVersionedWriteCountsAttemptWhoseReadBackWasNotSent(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, req, admin, path := lostThenRefused(t, ctx, RetryOnce())
	readBacks := 0
	notSent := func(context.Context) (*Stat, writeOutcome, error) {
		readBacks++
		return nil, outcomeUnknown, &notSentError{}
	}
	callCtx, callCancel := context.WithTimeout(ctx, 5*time.Second)
	defer callCancel()
	_, err := c.versionedWrite(callCtx, req, req.Path, 0, false, notSent)
	if !errors.Is(err, ErrFailedRetry) || !errors.Is(err, ErrConnectionLoss) {
		t.Errorf("versionedWrite: %v, want ErrFailedRetry after a loss", err)
	}
	if readBacks != 1 {
		t.Errorf("the node was read back %d times, want once: the write went out again after its attempts were spent", readBacks)
	}
	if _, st, err := admin.Get(ctx, path); err != nil || st.Version != 1 {
		t.Errorf("Get(%s): version %v, %v; want 1: the first attempt was applied once", path, st, err)
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
// at the version written at; any other state leaves the outcome unknown.
func TestUnitNextVersionShows(t *testing.T) {
	const since = 10
	for _, tc := range []struct {
		now, version int32
		ours         bool
		made         int64
		want         writeOutcome
	}{
		{1, 0, true, 5, outcomeApplied},
		{1, 0, false, 5, outcomeOverwritten}, // another write took the next version
		{0, 0, false, 5, outcomeUntouched},   // nothing moved
		{2, 0, true, 5, outcomeUnknown},      // ours may have been written over with the same data
		{2, 0, false, 5, outcomeUnknown},     // ours may have come first
		{1, 0, false, 11, outcomeUnknown},    // a node made since: ours may have gone to the one before
		{0, 0, false, 11, outcomeUnknown},    // the same
		{1, 0, true, 11, outcomeApplied},     // the node shows this write
		{5, 4, false, since, outcomeOverwritten},
	} {
		if got := nextVersionShows(tc.now, tc.version, tc.ours, tc.made, since); got != tc.want {
			t.Errorf("nextVersionShows(%d, %d, %v, %d, %d) = %d, want %d", tc.now, tc.version, tc.ours, tc.made, since, got, tc.want)
		}
	}
}
