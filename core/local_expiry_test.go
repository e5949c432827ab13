package core_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestLocalExpiryIgnoresWatchEvents: a watch event is the last thing a
// client hears before it is cut off, well after its last request. The
// server counts the session's idle time from that request, not from the
// event it sent by itself, so the client's own expiry must count from the
// request too: it ends the session before the server expires it and drops
// its ephemeral node. (Counting from the event, the client was told after
// another client could see the node go.)
//
// The sleep places the event where the bug shows: more than a tenth of the
// session timeout after the request (18%, so that counting from the event
// puts the client's expiry 8% after the server's), and before the client's
// next ping (at 2/9 of it at the earliest). It asserts nothing.
func TestLocalExpiryIgnoresWatchEvents(t *testing.T) {
	const timeout = 4 * time.Second
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	c := startClientB(t, proxy.Addr(), core.WithChroot(root),
		core.WithSessionTimeout(timeout), core.WithConnectTimeout(500*time.Millisecond))
	observer := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	sess := c.Session()

	_, err := c.Create(ctx, "/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	_, err = observer.Create(ctx, "/n", nil)
	require.NoError(t, err)
	_, gone, err := observer.ExistsW(ctx, "/eph")
	require.NoError(t, err)
	_, _, changed, err := c.GetW(ctx, "/n") // the client's last request
	require.NoError(t, err)

	time.Sleep(timeout * 18 / 100)
	_, err = observer.Set(ctx, "/n", []byte("x"), -1)
	require.NoError(t, err)
	wantEventB(t, changed, core.EventNodeDataChanged, "/n")
	proxy.BlackHole(true)

	var order atomic.Int64
	var endedAt, droppedAt int64
	done := make(chan struct{}, 2)
	go func() {
		<-sess.Done()
		endedAt = order.Add(1)
		done <- struct{}{}
	}()
	go func() {
		<-gone
		droppedAt = order.Add(1)
		done <- struct{}{}
	}()
	for range 2 {
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("the session did not end, or the server kept the node")
		}
	}
	require.Less(t, endedAt, droppedAt, "the client learned its session ended after the server dropped its ephemeral node")
}

// TestLocalExpiryOneWayPartition: the way from the client to the server is
// cut, the way back is not, and watch events keep coming. The server hears
// nothing and expires the session; the client, though its connection still
// brings frames, must end the session first. A connection that brings only
// events, no replies, for a read timeout is dropped, and the client's own
// expiry timer runs. (Before, the events kept the connection alive, and
// the client learned of the expiry only when the server closed it, after
// dropping the ephemeral node.)
func TestLocalExpiryOneWayPartition(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	c := startClientB(t, proxy.Addr(), core.WithChroot(root),
		core.WithSessionTimeout(4*time.Second), core.WithConnectTimeout(500*time.Millisecond))
	writer := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, waitB)
	sess := c.Session()

	_, err := c.Create(ctx, "/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	_, err = writer.Create(ctx, "/n", nil)
	require.NoError(t, err)
	w, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)
	_, gone, err := writer.ExistsW(ctx, "/eph")
	require.NoError(t, err)

	var order atomic.Int64
	var endedAt, droppedAt int64
	done := make(chan struct{}, 2)
	go func() {
		<-sess.Done()
		endedAt = order.Add(1)
		done <- struct{}{}
	}()
	go func() {
		<-gone
		droppedAt = order.Add(1)
		done <- struct{}{}
	}()

	proxy.BlackHoleToServer(true)
	events, evs := 0, w.Events()
	for finished := 0; finished < 2; {
		select {
		case <-done:
			finished++
		case _, ok := <-evs:
			if !ok {
				evs = nil
				continue
			}
			events++
		case <-time.After(50 * time.Millisecond):
			// Keep the events coming.
			_, err := writer.Set(ctx, "/n", nil, -1)
			require.NoError(t, err)
		case <-ctx.Done():
			t.Fatal("the session did not end, or the server kept the node")
		}
	}
	require.Positive(t, events, "no event reached the client through the partition")
	require.Less(t, endedAt, droppedAt, "the client learned its session ended after the server dropped its ephemeral node")
}
