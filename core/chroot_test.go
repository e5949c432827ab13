package core_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// SCENARIOS 3: every path a chrooted client gets back is relative to the
// chroot, sequence suffixes included, while the server holds the nodes
// under it.
func TestChrootPathsComeBackRelative(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)
	assert.Equal(t, root, c.Chroot())

	p, err := c.Create(ctx, "/a", []byte("a"))
	require.NoError(t, err)
	assert.Equal(t, "/a", p)
	p, err = c.Create(ctx, "/a/seq-", nil, core.Sequential())
	require.NoError(t, err)
	assert.Equal(t, "/a/seq-0000000000", p)
	p, err = c.Create(ctx, "/a/eseq-", nil, core.Sequential(), core.Ephemeral())
	require.NoError(t, err)
	assert.Equal(t, "/a/eseq-0000000001", p)
	p, err = c.Create(ctx, "/a/", nil, core.Sequential())
	require.NoError(t, err)
	assert.Equal(t, "/a/0000000002", p)
	p, err = c.Create(ctx, "/a/prot-", nil, core.Sequential(), core.Protected())
	require.NoError(t, err)
	dir, name := splitA(p)
	assert.Equal(t, "/a", dir)
	assert.Equal(t, "prot-0000000003", core.StripProtectedPrefix(name))
	p, children, err := c.CreateAndList(ctx, "/a/list-", nil, "/a", core.Sequential())
	require.NoError(t, err)
	assert.Equal(t, "/a/list-0000000004", p)
	assert.Contains(t, children, "list-0000000004")
	p, err = c.Create(ctx, "/deep/er/node", nil, core.WithParents())
	require.NoError(t, err)
	assert.Equal(t, "/deep/er/node", p)

	// The server holds them under the chroot.
	serverSide, err := other.GetChildren(ctx, root+"/a")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"seq-0000000000", "eseq-0000000001", "0000000002", name, "list-0000000004"}, serverSide)
	data, err := other.GetData(ctx, root+"/a")
	require.NoError(t, err)
	assert.Equal(t, "a", string(data))
	ok, err := other.Exists(ctx, "/a")
	require.NoError(t, err)
	assert.False(t, ok, "nothing escapes the chroot")

	eph, err := c.GetEphemerals(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"/a/eseq-0000000001"}, eph)

	top, err := c.GetChildren(ctx, "/")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"a", "deep"}, top)
	n, err := c.GetAllChildrenNumber(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, 9, n)

	// The chroot itself is "/" to the client.
	st, err := c.ExistsStat(ctx, "/")
	require.NoError(t, err)
	rootStat, err := other.ExistsStat(ctx, root)
	require.NoError(t, err)
	assert.Equal(t, rootStat, st)
}

// SCENARIOS 3: the stat cache works under a chroot: a non-forced write
// after a read uses the version the read saw.
func TestChrootStatCache(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	_, err := other.Create(ctx, root+"/n", []byte("v0"))
	require.NoError(t, err)
	_, err = other.Set(ctx, root+"/n", []byte("v1"), -1)
	require.NoError(t, err)

	_, st, err := c.Get(ctx, "/n")
	require.NoError(t, err)
	require.Equal(t, int32(1), st.Version)
	st, err = c.SetData(ctx, "/n", []byte("mine"))
	require.NoError(t, err, "the cached version 1 is the node's")
	require.Equal(t, int32(2), st.Version)

	_, err = other.Set(ctx, root+"/n", []byte("theirs"), -1)
	require.NoError(t, err)
	_, err = c.SetData(ctx, "/n", []byte("mine again"))
	requireErrA(t, err, core.ErrBadVersion, "setData", "/n")
	err = c.Delete(ctx, "/n")
	requireErrA(t, err, core.ErrBadVersion, "delete", "/n")
	_, err = c.SetACL(ctx, "/n", core.OpenACLUnsafe)
	require.NoError(t, err, "the ACL version did not move")

	// The root client's cache holds the full path, the chrooted one's the
	// same node: each write moves only the writer's cache.
	_, _, err = c.Get(ctx, "/n")
	require.NoError(t, err)
	require.NoError(t, c.Delete(ctx, "/n"))
	ok, err := other.Exists(ctx, root+"/n")
	require.NoError(t, err)
	assert.False(t, ok)
}

// SCENARIOS 3: Start creates a missing chroot, with its parents.
func TestChrootCreatedOnStart(t *testing.T) {
	srv := zktest.Shared(t)
	base := chrootA(t, srv)
	root := base + "/deeper/still"
	other := rootA(t, srv)
	ctx := ctxA(t)

	ok, err := other.Exists(ctx, base)
	require.NoError(t, err)
	require.False(t, ok)

	c := startA(t, srv.ConnString(), core.WithChroot(root))
	for _, p := range []string{base, base + "/deeper", root} {
		st, err := other.ExistsStat(ctx, p)
		require.NoError(t, err)
		require.NotNil(t, st, "%s was created", p)
		assert.Zero(t, st.EphemeralOwner, "persistent")
	}
	_, err = c.Create(ctx, "/x", nil)
	require.NoError(t, err)
	ok, err = other.Exists(ctx, root+"/x")
	require.NoError(t, err)
	assert.True(t, ok)

	// A second client on the existing chroot starts as well.
	again := startA(t, srv.ConnString(), core.WithChroot(root))
	ok, err = again.Exists(ctx, "/x")
	require.NoError(t, err)
	assert.True(t, ok)
}

// The "/chroot" suffix of the server list sets the chroot; WithChroot
// overrides it, and "/" means none.
func TestChrootServerStringSuffix(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	other := rootA(t, srv)
	ctx := ctxA(t)

	c := startA(t, srv.ConnString()+root)
	assert.Equal(t, root, c.Chroot())
	p, err := c.Create(ctx, "/from-suffix", nil)
	require.NoError(t, err)
	assert.Equal(t, "/from-suffix", p)
	ok, err := other.Exists(ctx, root+"/from-suffix")
	require.NoError(t, err)
	assert.True(t, ok)

	over := startA(t, srv.ConnString()+root+"/ignored", core.WithChroot(root+"/chosen"))
	assert.Equal(t, root+"/chosen", over.Chroot())
	_, err = over.Create(ctx, "/x", nil)
	require.NoError(t, err)
	ok, err = other.Exists(ctx, root+"/chosen/x")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = other.Exists(ctx, root+"/ignored")
	require.NoError(t, err)
	assert.False(t, ok, "the suffix's chroot was not created")

	none, err := core.NewClient(srv.ConnString() + "/")
	require.NoError(t, err)
	defer none.Close()
	assert.Empty(t, none.Chroot())
	slash, err := core.NewClient(srv.ConnString()+root, core.WithChroot("/"))
	require.NoError(t, err)
	defer slash.Close()
	assert.Empty(t, slash.Chroot(), `WithChroot("/") overrides the suffix too`)
}

// Chroots that share a prefix do not see each other.
func TestChrootSiblings(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	ctx := ctxA(t)

	a := startA(t, srv.ConnString(), core.WithChroot(root+"/app"))
	b := startA(t, srv.ConnString(), core.WithChroot(root+"/application"))
	_, err := a.Create(ctx, "/x", []byte("a"), core.Ephemeral())
	require.NoError(t, err)
	_, err = b.Create(ctx, "/x", []byte("b"), core.Ephemeral())
	require.NoError(t, err)

	data, err := a.GetData(ctx, "/x")
	require.NoError(t, err)
	assert.Equal(t, "a", string(data))
	eph, err := a.GetEphemerals(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"/x"}, eph)
	eph, err = b.GetEphemerals(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"/x"}, eph)
}

// A sequential create at "/" makes a child of the root, as the Java client
// and the server allow, in a transaction too; under a chroot it is refused
// (the bad-input table), since the node would be the chroot's sibling.
func TestCreateSequentialAtRootWithoutChroot(t *testing.T) {
	c := rootA(t, zktest.Shared(t))
	ctx := ctxA(t)
	p, err := c.Create(ctx, "/", []byte("r"), core.Sequential(), core.Ephemeral())
	require.NoError(t, err)
	require.Regexp(t, `^/\d{10}$`, p)
	data, err := c.GetData(ctx, p)
	require.NoError(t, err)
	require.Equal(t, "r", string(data))
	res, err := c.BeginTransaction().Create("/", nil, core.Sequential(), core.Ephemeral()).Commit(ctx)
	require.NoError(t, err)
	require.Len(t, res.Created, 1)
	require.Regexp(t, `^/\d{10}$`, res.Created[0])
	require.NoError(t, c.Delete(ctx, p, core.Force()))
	require.NoError(t, c.Delete(ctx, res.Created[0], core.Force()))
	_, err = c.Create(ctx, "/", nil)
	require.ErrorIs(t, err, core.ErrInvalidPath, "a plain create of the root")
}
