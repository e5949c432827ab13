package core_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// OnEnd's functions run, in order, when Close ends the session, and before
// the server deletes the session's ephemeral nodes; a stopped one does not
// run; one registered on an ended session runs at once.
func TestSessionOnEnd(t *testing.T) {
	c, addr, root := sharedClientB(t)
	other := startClientB(t, addr, core.WithChroot(root))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	sess := c.Session()

	var ran []string
	sess.OnEnd(func() {
		// Another client, not the one closing, may be called here.
		ok, err := other.Exists(ctx, "/eph")
		assert.NoError(t, err)
		assert.True(t, ok, "the ephemeral node is still there")
		assert.ErrorIs(t, sess.Err(), core.ErrClosed)
		ran = append(ran, "first")
	})
	stop := sess.OnEnd(func() { ran = append(ran, "stopped") })
	sess.OnEnd(func() { ran = append(ran, "third") })
	require.True(t, stop())
	require.False(t, stop(), "stopped once already")

	require.NoError(t, c.Close())
	assert.Equal(t, []string{"first", "third"}, ran)
	ok, err := other.Exists(ctx, "/eph")
	require.NoError(t, err)
	assert.False(t, ok, "Close deleted the ephemeral node")

	late := false
	assert.False(t, sess.OnEnd(func() { late = true })(), "nothing left to stop")
	assert.True(t, late, "run at once on an ended session")
}
