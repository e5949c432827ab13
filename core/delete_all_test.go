package core_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// makeTreeA creates under root a tree with width children per node, depth
// levels deep, and returns how many nodes it made.
func makeTreeA(t testing.TB, c *core.Client, root string, width, depth int) int {
	t.Helper()
	ctx := ctxA(t)
	_, err := c.Create(ctx, root, nil, core.WithParents())
	require.NoError(t, err)
	made, level := 1, []string{root}
	for d := 0; d < depth; d++ {
		var next []string
		for _, p := range level {
			for i := 0; i < width; i++ {
				next = append(next, fmt.Sprintf("%s/n%d", p, i))
			}
		}
		inParallelA(t, len(next), func(i int) error {
			_, err := c.Create(ctx, next[i], []byte("x"))
			return err
		})
		made += len(next)
		level = next
	}
	return made
}

// A tree wider than one batch on several levels goes, and its siblings
// stay. The deletes go out pipelined, many to a write, not one round trip
// each.
func TestDeleteAllWideTree(t *testing.T) {
	srv := zktest.Shared(t)
	spy := newWireSpy()
	c := startA(t, srv.Addr(), core.WithChroot(chrootA(t, srv)), core.WithDialer(spy.dialer()))
	ctx := ctxA(t)
	// 1 + 20 + 400: the last level spans two batches.
	require.Equal(t, 421, makeTreeA(t, c, "/t", 20, 2))
	_, err := c.Create(ctx, "/t/n3/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	_, err = c.Create(ctx, "/t-sibling", nil)
	require.NoError(t, err)

	require.NoError(t, c.DeleteAll(ctx, "/t"))
	ok, err := c.Exists(ctx, "/t")
	require.NoError(t, err)
	assert.False(t, ok)
	children, err := c.GetChildren(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"t-sibling"}, children)

	deletes := spy.requests(proto.OpDelete)
	require.Len(t, deletes, 422)
	writes := map[int]bool{}
	for _, r := range deletes {
		writes[r.write] = true
	}
	assert.LessOrEqual(t, len(writes), len(deletes)/10, "writes that carried the deletes")
}

// Connection losses in the middle of the listing and of the deletes:
// what was not answered goes again, and the tree still goes.
func TestDeleteAllAcrossConnectionLoss(t *testing.T) {
	srv := zktest.Shared(t)
	spy := newWireSpy()
	c := startA(t, srv.Addr(), core.WithChroot(chrootA(t, srv)), core.WithDialer(spy.dialer()))
	ctx := ctxA(t)
	makeTreeA(t, c, "/t", 12, 2)

	spy.cut(proto.OpGetChildren, 1)
	spy.cut(proto.OpDelete, 2)
	require.NoError(t, c.DeleteAll(ctx, "/t"))
	ok, err := c.Exists(ctx, "/t")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.GreaterOrEqual(t, len(spy.dialLog()), 4, "each cut costs a connection")
}

// DeleteAll("/") without a chroot empties the tree but for the server's own
// /zookeeper subtree, which the server does not let anyone delete.
func TestDeleteAllRoot(t *testing.T) {
	srv := zktest.StartServer(t)
	c := startA(t, srv.Addr())
	makeTreeA(t, c, "/a", 3, 2)
	makeTreeA(t, c, "/b", 2, 1)

	require.NoError(t, c.DeleteAll(ctxA(t), "/"))
	children, err := c.GetChildren(ctxA(t), "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"zookeeper"}, children)

	// Asked for by name, the server's own subtree is refused.
	require.ErrorIs(t, c.DeleteAll(ctxA(t), "/zookeeper"), core.ErrBadArguments)
	ok, err := c.Exists(ctxA(t), "/zookeeper")
	require.NoError(t, err)
	assert.True(t, ok)
}

// DeleteAll of a path that does not exist has nothing to do: no error.
func TestDeleteAllMissingPath(t *testing.T) {
	c, _, _ := sharedA(t)
	require.NoError(t, c.DeleteAll(ctxA(t), "/never-made/below"))
	ok, err := c.Exists(ctxA(t), "/never-made")
	require.NoError(t, err)
	assert.False(t, ok)
}

// A node the client may not delete stops DeleteAll with ErrNoAuth, naming
// the step and the node; nothing above it goes.
func TestDeleteAllRefused(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/t/locked/kid", nil, core.WithParents())
	require.NoError(t, err)
	// Deleting a child needs the Delete permission on its parent.
	_, err = c.SetACL(ctx, "/t/locked", []core.ACL{core.MakeACL("world", "anyone", core.PermAll&^core.PermDelete)}, core.Force())
	require.NoError(t, err)

	err = c.DeleteAll(ctx, "/t")
	requireErrA(t, err, core.ErrNoAuth, "delete", "/t/locked/kid")
	for _, p := range []string{"/t", "/t/locked", "/t/locked/kid"} {
		ok, err := c.Exists(ctx, p)
		require.NoError(t, err)
		assert.True(t, ok, p)
	}
	_, err = c.SetACL(ctx, "/t/locked", core.OpenACLUnsafe, core.Force())
	require.NoError(t, err)
	require.NoError(t, c.DeleteAll(ctx, "/t"))
}

// Nodes DeleteAll removed leave the stat cache, also those in the batch
// of a refused delete and those whose delete's reply was lost: a later
// Delete of a node made again elsewhere must not use the old version.
func TestDeleteAllForgetsVersions(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	spy := newWireSpy()
	c := startA(t, srv.Addr(), core.WithChroot(root), core.WithDialer(spy.dialer()))
	other := startA(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxA(t)
	cacheVersion2 := func(p string) {
		_, err := c.Create(ctx, p, nil, core.WithParents())
		require.NoError(t, err)
		for v := int32(0); v < 2; v++ {
			_, err = c.Set(ctx, p, []byte("x"), v)
			require.NoError(t, err)
		}
	}

	t.Run("refused delete in the batch", func(t *testing.T) {
		cacheVersion2("/t/a")
		_, err := c.Create(ctx, "/t/locked/kid", nil, core.WithParents())
		require.NoError(t, err)
		_, err = c.SetACL(ctx, "/t/locked", []core.ACL{core.MakeACL("world", "anyone", core.PermAll&^core.PermDelete)}, core.Force())
		require.NoError(t, err)
		require.ErrorIs(t, c.DeleteAll(ctx, "/t"), core.ErrNoAuth)
		_, err = other.Create(ctx, "/t/a", nil)
		require.NoError(t, err)
		require.NoError(t, c.Delete(ctx, "/t/a"), "deleted at the cached version")
		_, err = c.SetACL(ctx, "/t/locked", core.OpenACLUnsafe, core.Force())
		require.NoError(t, err)
		require.NoError(t, c.DeleteAll(ctx, "/t"))
	})

	t.Run("lost reply", func(t *testing.T) {
		cacheVersion2("/b")
		spy.cut(proto.OpDelete, 1)
		require.NoError(t, c.DeleteAll(ctx, "/b"))
		_, err := other.Create(ctx, "/b", nil)
		require.NoError(t, err)
		require.NoError(t, c.Delete(ctx, "/b"), "deleted at the cached version")
	})
}
