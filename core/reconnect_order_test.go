package core_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// On a new connection the client sends its credentials first, then the
// watches to set again, and only then the requests that waited for a
// connection, so that none of them runs without the session's identity
// or misses an event.
func TestReconnectSendsAuthThenWatchesThenRequests(t *testing.T) {
	spy := newWireSpy()
	c, _, _ := sharedClientB(t, core.WithDialer(spy.dialer()), core.WithAuth("digest", []byte("user:password")))
	ctx := ctxB(t, waitB)
	states := listenB(t, c)
	_, err := c.Create(ctx, "/watched", nil)
	require.NoError(t, err)
	_, _, _, err = c.GetW(ctx, "/watched")
	require.NoError(t, err)

	server := spy.dialLog()[0]
	spy.setRefuse(server, true)
	spy.cut(proto.OpExists, 1)
	lost := make(chan error, 1)
	go func() {
		// Its first attempt is cut in flight; the retry waits for the
		// next connection.
		_, err := c.Exists(ctx, "/watched")
		lost <- err
	}()
	require.Eventually(t, func() bool { return states.count(core.StateSuspended) > 0 }, waitB, tickB)
	waiting := make(chan error, 1)
	go func() {
		_, err := c.GetData(ctx, "/watched")
		waiting <- err
	}()
	// Let both calls queue behind the missing connection.
	time.Sleep(100 * time.Millisecond)
	before := spy.written()
	spy.setRefuse(server, false)
	require.NoError(t, <-lost)
	require.NoError(t, <-waiting)

	ops := spy.opsSince(before)
	auth := slices.Index(ops, proto.OpAuth)
	watches := slices.IndexFunc(ops, func(op int32) bool { return op == proto.OpSetWatches || op == proto.OpSetWatches2 })
	get := slices.Index(ops, proto.OpGetData)
	exists := slices.Index(ops, proto.OpExists)
	require.True(t, auth >= 0 && watches >= 0 && get >= 0 && exists >= 0, "written after the reconnect: %v", ops)
	assert.Zero(t, auth, "the credentials go first: %v", ops)
	assert.Less(t, auth, watches, "%v", ops)
	assert.Less(t, watches, get, "%v", ops)
	assert.Less(t, watches, exists, "%v", ops)
}

// Request ids go on across connections, as the Java client's do: a server
// matches the requests it committed to those waiting by session and
// request id, so ids that started over could let a request still in
// flight from the old connection answer a new one of the same id on
// another server of the ensemble.
func TestReconnectRequestIdsGoOn(t *testing.T) {
	spy := newWireSpy()
	c, _, _ := sharedClientB(t, core.WithDialer(spy.dialer()))
	ctx := ctxB(t, waitB)
	states := listenB(t, c)
	for range 5 {
		_, err := c.Exists(ctx, "/")
		require.NoError(t, err)
	}
	before := spy.requests(proto.OpExists)
	n, last := len(before), before[len(before)-1].xid

	spy.cut(proto.OpExists, 1) // the next one goes out, and the connection with it
	_, err := c.Exists(ctx, "/")
	require.NoError(t, err)
	waitCountB(t, states, core.StateConnected, 1)
	reqs := spy.requests(proto.OpExists)
	require.Len(t, reqs, n+2, "the cut request and its retry")
	assert.Equal(t, last+1, reqs[n].xid)
	assert.Greater(t, reqs[n+1].xid, reqs[n].xid, "the retry on the new connection goes on from the old ids")
}
