package core_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// TestTransactionResult: a committed transaction reports what each
// operation did, with chroot-relative paths (sequence suffixes included)
// and the Stats the server returned, all from one zxid; the server shows
// every change.
func TestTransactionResult(t *testing.T) {
	c, _, _ := sharedClientB(t)
	ctx := ctxB(t, waitB)
	for _, p := range []string{"/e", "/d", "/q"} {
		_, err := c.Create(ctx, p, []byte("v0"))
		require.NoError(t, err)
	}

	res, err := c.BeginTransaction().
		CheckVersion("/e", 0).
		SetData("/e", []byte("v1"), 0).
		Create("/a", []byte("a")).
		Create("/q/s-", []byte("s"), core.Sequential()).
		Delete("/d", -1).
		Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"/e"}, res.Checked)
	require.Equal(t, []string{"/e"}, res.Updated)
	require.Equal(t, []string{"/a", "/q/s-0000000000"}, res.Created)
	require.Equal(t, []string{"/d"}, res.Deleted)

	// ZooKeeper answers a plain create inside a multi with its path only;
	// setData (and container and TTL creates) come with a Stat.
	require.Contains(t, res.Stats, "/e")
	require.EqualValues(t, 1, res.Stats["/e"].Version)
	zxid := res.Stats["/e"].LastModifiedZxid

	data, st, err := c.Get(ctx, "/e")
	require.NoError(t, err)
	require.Equal(t, []byte("v1"), data)
	require.Equal(t, res.Stats["/e"], st)
	for _, p := range res.Created {
		st, err := c.ExistsStat(ctx, p)
		require.NoError(t, err)
		require.NotNil(t, st, p)
		require.Equal(t, zxid, st.CreatedZxid, "%s: one transaction, one zxid", p)
	}
	data, err = c.GetData(ctx, "/a")
	require.NoError(t, err)
	require.Equal(t, []byte("a"), data)
	ok, err := c.Exists(ctx, "/d")
	require.NoError(t, err)
	require.False(t, ok)
	kids, err := c.GetChildren(ctx, "/q")
	require.NoError(t, err)
	require.Equal(t, []string{"s-0000000000"}, kids)

	// Set, deleted and made again: no Stat of the deleted node stands for
	// the new one.
	res, err = c.BeginTransaction().SetData("/a", []byte("a1"), 0).Delete("/a", 1).Create("/a", nil).Commit(ctx)
	require.NoError(t, err)
	require.NotContains(t, res.Stats, "/a")
}

// TestTransactionContainerAndTTL: container and TTL creates in a
// transaction make nodes of those kinds: the container goes once its last
// child is gone, and the TTL node expires.
func TestTransactionContainerAndTTL(t *testing.T) {
	c, _, _ := sharedClientB(t)
	ctx := ctxB(t, waitB)
	const ttl = 300 * time.Millisecond

	res, err := c.BeginTransaction().
		Create("/c", nil, core.Container()).
		Create("/c/child", nil).
		Create("/ttl", []byte("t"), core.WithTTL(ttl)).
		Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"/c", "/c/child", "/ttl"}, res.Created)

	for _, p := range []string{"/c", "/ttl"} {
		st, err := c.ExistsStat(ctx, p)
		require.NoError(t, err)
		require.Contains(t, res.Stats, p)
		require.Equal(t, st.CreatedZxid, res.Stats[p].CreatedZxid, p)
	}

	// The kinds show in what the server does with the nodes. (Clients see
	// ephemeralOwner 0 for both, so the Stat cannot tell.)
	require.NoError(t, c.Delete(ctx, "/c/child"))
	require.Eventually(t, func() bool {
		ok, err := c.Exists(ctx, "/c")
		return err == nil && !ok
	}, waitB, 50*time.Millisecond, "the server deletes the empty container")
	require.Eventually(t, func() bool {
		ok, err := c.Exists(ctx, "/ttl")
		return err == nil && !ok
	}, waitB, 50*time.Millisecond, "the TTL node expires")
}

// TestTransactionFailure: a transaction with a failing operation applies
// nothing; its error names the operation, its index and cause, and reports
// the others as rolled back or not run.
func TestTransactionFailure(t *testing.T) {
	c, _, _ := sharedClientB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/e", []byte("v0"))
	require.NoError(t, err)

	t.Run("BadVersion", func(t *testing.T) {
		res, err := c.BeginTransaction().
			Create("/x", nil).
			CheckVersion("/e", 99).
			SetData("/e", []byte("changed"), -1).
			Commit(ctx)
		require.Nil(t, res)
		require.ErrorIs(t, err, core.ErrTransactionFailed)
		require.ErrorIs(t, err, core.ErrBadVersion)
		var oe *core.OpError
		require.ErrorAs(t, err, &oe)
		require.Equal(t, 1, oe.Index)
		require.Equal(t, "check", oe.Op)
		require.Equal(t, "/e", oe.Path)
		require.ErrorIs(t, oe.Err, core.ErrBadVersion)
		require.Len(t, oe.Results, 3)
		require.ErrorIs(t, oe.Results[0], core.ErrRolledBack)
		require.ErrorIs(t, oe.Results[1], core.ErrBadVersion)
		require.ErrorIs(t, oe.Results[2], core.ErrRuntimeInconsistency)

		ok, err := c.Exists(ctx, "/x")
		require.NoError(t, err)
		require.False(t, ok, "the create was not applied")
		data, st, err := c.Get(ctx, "/e")
		require.NoError(t, err)
		require.Equal(t, []byte("v0"), data, "the set was not applied")
		require.EqualValues(t, 0, st.Version)
	})

	t.Run("FirstFails", func(t *testing.T) {
		_, err := c.BeginTransaction().
			Create("/e", nil).
			Delete("/e", -1).
			Commit(ctx)
		require.ErrorIs(t, err, core.ErrTransactionFailed)
		require.ErrorIs(t, err, core.ErrNodeExists)
		var oe *core.OpError
		require.ErrorAs(t, err, &oe)
		require.Equal(t, 0, oe.Index)
		require.Equal(t, "create", oe.Op)
		require.Equal(t, "/e", oe.Path)
		require.Len(t, oe.Results, 2)
		require.ErrorIs(t, oe.Results[1], core.ErrRuntimeInconsistency)
		ok, err := c.Exists(ctx, "/e")
		require.NoError(t, err)
		require.True(t, ok, "the delete was not applied")
	})

	t.Run("Empty", func(t *testing.T) {
		res, err := c.BeginTransaction().Commit(ctx)
		require.Nil(t, res)
		require.ErrorIs(t, err, core.ErrEmptyTransaction)
	})
}

// TestTransactionNotRetriedAfterLoss: a transaction lost in flight may have
// been applied, so Commit reports the loss instead of sending it again.
func TestTransactionNotRetriedAfterLoss(t *testing.T) {
	c, spy := spyClientB(t, core.RetryForever())
	ctx := ctxB(t, waitB)
	spy.cut(opMulti, 1)
	_, err := c.BeginTransaction().Create("/once", nil).Commit(ctx)
	require.ErrorIs(t, err, core.ErrConnectionLoss)
	require.NotErrorIs(t, err, core.ErrTransactionFailed)
	require.Len(t, spy.requests(opMulti), 1)
}

// TestMultiRead: reads succeed or fail one by one, each with its own
// result.
func TestMultiRead(t *testing.T) {
	c, _, _ := sharedClientB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/e", []byte("v"))
	require.NoError(t, err)
	_, err = c.Create(ctx, "/e/k1", nil)
	require.NoError(t, err)
	_, err = c.Create(ctx, "/e/k2", []byte{})
	require.NoError(t, err)

	got, err := c.MultiRead(ctx,
		core.ReadData("/e"),
		core.ReadChildren("/e"),
		core.ReadData("/missing"),
		core.ReadChildren("/missing"),
		core.ReadData("/e/k1"),
		core.ReadChildren("/e/k1"))
	require.NoError(t, err)
	require.Len(t, got, 6)

	_, st, err := c.Get(ctx, "/e")
	require.NoError(t, err)
	require.Equal(t, "/e", got[0].Path)
	require.NoError(t, got[0].Err)
	require.Equal(t, []byte("v"), got[0].Data)
	require.Equal(t, st, got[0].Stat)

	require.NoError(t, got[1].Err)
	require.ElementsMatch(t, []string{"k1", "k2"}, got[1].Children)

	for _, i := range []int{2, 3} {
		require.Equal(t, "/missing", got[i].Path)
		require.ErrorIs(t, got[i].Err, core.ErrNoNode, "read %d", i)
		require.Nil(t, got[i].Data)
		require.Nil(t, got[i].Children)
	}

	require.NoError(t, got[4].Err)
	require.Equal(t, []byte{}, got[4].Data)
	require.EqualValues(t, 0, got[4].Stat.Version)

	// A node without children lists as GetChildren lists it: empty, not nil.
	require.NoError(t, got[5].Err)
	require.Equal(t, []string{}, got[5].Children)
}

// A read in a MultiRead updates the stat cache as Get does: a non-forced
// write after it is made against the version it showed.
func TestMultiReadCachesVersions(t *testing.T) {
	c, addr, root := sharedClientB(t)
	other := startClientB(t, addr, core.WithChroot(root))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	_, err = other.Set(ctx, "/n", []byte("theirs"), -1)
	require.NoError(t, err)

	got, err := c.MultiRead(ctx, core.ReadData("/n"))
	require.NoError(t, err)
	require.NoError(t, got[0].Err)
	require.EqualValues(t, 1, got[0].Stat.Version)
	st, err := c.SetData(ctx, "/n", []byte("mine"))
	require.NoError(t, err, "made against the version the read showed")
	require.EqualValues(t, 2, st.Version)
}
