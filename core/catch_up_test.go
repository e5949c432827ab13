package core_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// CatchUp, also made before a protected create's search, is a write that
// changes nothing: a transaction of one version check. It succeeds
// whatever the check finds, since the server answers it in order all the
// same: on a node, on a missing one, and on one the client may not read.
// A closed client or an invalid path is an error.
func TestCatchUpIsAnOrderedWrite(t *testing.T) {
	c, _, spy := proxyClientB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/p", []byte("p"))
	require.NoError(t, err)
	_, err = c.Create(ctx, "/secret", nil, core.WithACL(core.MakeACL("world", "anyone", core.PermCreate)))
	require.NoError(t, err)
	_, err = c.GetData(ctx, "/secret")
	require.ErrorIs(t, err, core.ErrNoAuth, "the client may not read /secret")

	for _, path := range []string{"/p", "/missing", "/secret"} {
		before := spy.written()
		require.NoError(t, c.CatchUp(ctx, path), path)
		assert.Equal(t, []int32{proto.OpMulti}, spy.opsSince(before), "%s: one transaction, nothing else", path)
	}
	data, st, err := c.Get(ctx, "/p")
	require.NoError(t, err)
	assert.Equal(t, "p", string(data))
	assert.Zero(t, st.Version, "the check changed nothing")

	require.ErrorIs(t, c.CatchUp(ctx, "p"), core.ErrInvalidPath)
	require.NoError(t, c.Close())
	require.ErrorIs(t, c.CatchUp(ctx, "/p"), core.ErrClosed)
}

// CatchUp holds on every server of an ensemble, its leader too: right
// after a CatchUp, a client reads what a client on another server has
// just written, whichever of the two is on the leader.
func TestCatchUpOnLeaderAndFollower(t *testing.T) {
	e := zktest.StartEnsemble(t, 3)
	ctx := ctxB(t, waitB)
	leader, follower := leaderAndFollowerB(t, ctx, e)
	onLeader := startClientB(t, leader.Addr())
	onFollower := startClientB(t, follower.Addr())
	path := zktest.UniquePath(t)
	_, err := onFollower.Create(ctx, path, []byte("0"))
	require.NoError(t, err)
	for i := 1; i <= 100; i++ {
		writer, reader, readerOn := onFollower, onLeader, "leader"
		if i%2 == 0 {
			writer, reader, readerOn = onLeader, onFollower, "follower"
		}
		want := strconv.Itoa(i)
		_, err := writer.SetData(ctx, path, []byte(want), core.Force())
		require.NoError(t, err)
		require.NoError(t, reader.CatchUp(ctx, path))
		data, err := reader.GetData(ctx, path)
		require.NoError(t, err)
		require.Equal(t, want, string(data), "write %d, read on the %s", i, readerOn)
	}
}
