package core_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
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
	p := startProxiedB(t, timeout)
	proxy, c, observer := p.proxy, p.c, p.direct(t)
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

	race := raceExpiry(sess, gone)
	for range 2 {
		race.next(ctx, t)
	}
	race.requireEndedFirst(t)
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
	p := startProxiedB(t, 4*time.Second)
	proxy, c, writer := p.proxy, p.c, p.direct(t)
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

	race := raceExpiry(sess, gone)

	proxy.BlackHoleToServer(true)
	events, evs := 0, w.Events()
	for finished := 0; finished < 2; {
		select {
		case <-race.done:
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
			t.Fatal(expiryRaceGaveUp)
		}
	}
	require.Positive(t, events, "no event reached the client through the partition")
	race.requireEndedFirst(t)
}

// expiryRace records which comes first: the end of a client's session, or
// the server's drop of its ephemeral node, which gone watches.
type expiryRace struct {
	order              atomic.Int64
	endedAt, droppedAt atomic.Int64
	done               chan struct{} // a value for each of the two
}

const expiryRaceGaveUp = "the session did not end, or the server kept the node"

func raceExpiry(sess *core.Session, gone <-chan core.Event) *expiryRace {
	r := &expiryRace{done: make(chan struct{}, 2)}
	go func() {
		<-sess.Done()
		r.endedAt.Store(r.order.Add(1))
		r.done <- struct{}{}
	}()
	go func() {
		<-gone
		r.droppedAt.Store(r.order.Add(1))
		r.done <- struct{}{}
	}()
	return r
}

// next waits for one of the two.
func (r *expiryRace) next(ctx context.Context, t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-ctx.Done():
		t.Fatal(expiryRaceGaveUp)
	}
}

func (r *expiryRace) requireEndedFirst(t *testing.T) {
	t.Helper()
	require.Less(t, r.endedAt.Load(), r.droppedAt.Load(),
		"the client learned its session ended after the server dropped its ephemeral node")
}
