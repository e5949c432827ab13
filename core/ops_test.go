package core_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

// SCENARIOS 1: a node created without data reads back empty at version 0,
// a set at version -1 gives version 1, and every Stat field is what the
// server reports, however it is asked.
func TestOpsEmptyNodeAndStatFields(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	p, created, err := c.CreateStat(ctx, "/n", nil)
	require.NoError(t, err)
	require.Equal(t, "/n", p)

	data, st, err := c.Get(ctx, "/n")
	require.NoError(t, err)
	require.NotNil(t, data, "empty data is an empty slice, not nil")
	require.Empty(t, data)
	require.Equal(t, created, st, "Get reports the Stat CreateStat returned")

	// Every way of asking, from another session too, reports the same Stat.
	exists, err := other.ExistsStat(ctx, root+"/n")
	require.NoError(t, err)
	require.Equal(t, st, exists)
	_, childrenStat, err := other.GetChildrenStat(ctx, root+"/n")
	require.NoError(t, err)
	require.Equal(t, st, childrenStat)
	_, aclStat, err := other.GetACL(ctx, root+"/n")
	require.NoError(t, err)
	require.Equal(t, st, aclStat)

	// Field by field.
	assert.Positive(t, st.CreatedZxid)
	assert.LessOrEqual(t, st.CreatedZxid, c.LastZxid())
	assert.Equal(t, st.CreatedZxid, st.LastModifiedZxid)
	assert.Equal(t, st.CreatedZxid, st.LastModifiedChildren)
	assert.WithinDuration(t, time.Now(), st.Created, time.Minute, "ctime is the server's clock at the create")
	assert.Equal(t, st.Created, st.Modified)
	assert.Zero(t, st.Version)
	assert.Zero(t, st.ChildVersion)
	assert.Zero(t, st.ACLVersion)
	assert.Zero(t, st.EphemeralOwner)
	assert.Zero(t, st.DataLength)
	assert.Zero(t, st.NumChildren)

	// A set at any version gives version 1. The server stamps times in
	// milliseconds: a set made later than the create carries a later mtime.
	time.Sleep(5 * time.Millisecond)
	set, err := c.Set(ctx, "/n", []byte("hello"), -1)
	require.NoError(t, err)
	assert.Equal(t, int32(1), set.Version)
	assert.Equal(t, int32(5), set.DataLength)
	assert.Equal(t, st.CreatedZxid, set.CreatedZxid)
	assert.Greater(t, set.LastModifiedZxid, st.CreatedZxid)
	assert.Equal(t, st.Created, set.Created)
	assert.True(t, set.Modified.After(st.Modified), "mtime %v after the set, %v after the create", set.Modified, st.Modified)
	assert.Equal(t, st.LastModifiedChildren, set.LastModifiedChildren, "a data change leaves pzxid alone")
	assert.Zero(t, set.ChildVersion)
	data, got, err := other.Get(ctx, root+"/n")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))
	assert.Equal(t, set, got)

	// Children move cversion, numChildren and pzxid, and nothing else.
	_, child, err := c.CreateStat(ctx, "/n/child", []byte("x"))
	require.NoError(t, err)
	withChild, err := c.ExistsStat(ctx, "/n")
	require.NoError(t, err)
	assert.Equal(t, int32(1), withChild.NumChildren)
	assert.Equal(t, int32(1), withChild.ChildVersion)
	assert.Equal(t, child.CreatedZxid, withChild.LastModifiedChildren)
	assert.Equal(t, set.Version, withChild.Version)
	assert.Equal(t, set.LastModifiedZxid, withChild.LastModifiedZxid)

	require.NoError(t, c.Delete(ctx, "/n/child"))
	childless, err := c.ExistsStat(ctx, "/n")
	require.NoError(t, err)
	assert.Zero(t, childless.NumChildren)
	assert.Equal(t, int32(2), childless.ChildVersion)
	assert.Greater(t, childless.LastModifiedChildren, child.CreatedZxid)
	assert.LessOrEqual(t, childless.LastModifiedChildren, c.LastZxid())

	// An ACL change moves the ACL version only.
	aclSet, err := c.SetACL(ctx, "/n", core.WorldACL(core.PermAll))
	require.NoError(t, err)
	assert.Equal(t, int32(1), aclSet.ACLVersion)
	assert.Equal(t, set.Version, aclSet.Version)

	// An ephemeral node belongs to the session, as the server's dump says.
	_, eph, err := c.CreateStat(ctx, "/eph", []byte("abc"), core.Ephemeral())
	require.NoError(t, err)
	assert.Equal(t, c.Session().ID(), eph.EphemeralOwner)
	assert.Equal(t, int32(3), eph.DataLength)
	assert.Contains(t, ephemeralsA(t, srv, c.Session().ID()), root+"/eph")
}

var sequenceSuffixA = regexp.MustCompile(`^\d{10}$`)

func TestOpsCreateKinds(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)
	sid := c.Session().ID()

	t.Run("persistent", func(t *testing.T) {
		p, st, err := c.CreateStat(ctx, "/persistent", []byte("data"))
		require.NoError(t, err)
		assert.Equal(t, "/persistent", p)
		assert.Zero(t, st.EphemeralOwner)
		data, _, err := other.Get(ctx, root+"/persistent")
		require.NoError(t, err)
		assert.Equal(t, "data", string(data))
	})
	t.Run("ephemeral", func(t *testing.T) {
		p, st, err := c.CreateStat(ctx, "/ephemeral", nil, core.Ephemeral())
		require.NoError(t, err)
		assert.Equal(t, "/ephemeral", p)
		assert.Equal(t, sid, st.EphemeralOwner)
		seen, err := other.ExistsStat(ctx, root+"/ephemeral")
		require.NoError(t, err)
		assert.Equal(t, sid, seen.EphemeralOwner)
	})
	t.Run("sequential", func(t *testing.T) {
		first, err := c.Create(ctx, "/seq-", nil, core.Sequential())
		require.NoError(t, err)
		second, err := c.Create(ctx, "/seq-", nil, core.Sequential())
		require.NoError(t, err)
		require.Regexp(t, `^/seq-\d{10}$`, first)
		require.Regexp(t, `^/seq-\d{10}$`, second)
		assert.Less(t, first, second, "sequence numbers grow")
		st, err := c.ExistsStat(ctx, first)
		require.NoError(t, err)
		require.NotNil(t, st)
		assert.Zero(t, st.EphemeralOwner)
	})
	t.Run("sequential under a trailing slash", func(t *testing.T) {
		_, err := c.Create(ctx, "/dir", nil)
		require.NoError(t, err)
		p, err := c.Create(ctx, "/dir/", nil, core.Sequential())
		require.NoError(t, err)
		assert.Equal(t, "/dir/0000000000", p)
	})
	t.Run("ephemeral sequential", func(t *testing.T) {
		p, st, err := c.CreateStat(ctx, "/eseq-", nil, core.Ephemeral(), core.Sequential())
		require.NoError(t, err)
		require.Regexp(t, `^/eseq-\d{10}$`, p)
		assert.Equal(t, sid, st.EphemeralOwner)
	})
	t.Run("errors", func(t *testing.T) {
		_, err := c.Create(ctx, "/persistent", nil)
		requireErrA(t, err, core.ErrNodeExists, "create", "/persistent")
		_, err = c.Create(ctx, "/missing/child", nil)
		requireErrA(t, err, core.ErrNoNode, "create", "/missing/child")
		_, err = c.Create(ctx, "/ephemeral/child", nil)
		requireErrA(t, err, core.ErrNoChildrenForEphemerals, "create", "/ephemeral/child")
		_, err = c.Create(ctx, "/seq-", nil, core.Ephemeral(), core.Sequential(), core.WithACL(core.CreatorAllACL...))
		requireErrA(t, err, core.ErrInvalidACL, "create", "/seq-")
	})
}

// SCENARIOS 12: a container node really is one; the server removes it
// once its last child is gone, and leaves a persistent node in the same
// situation alone.
// A sequential create's name is checked with its number appended, as the
// server checks it: "." and ".." become ".0000000000" and "..0000000001",
// which the server takes.
func TestOpsCreateSequentialDotNames(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/q", nil)
	require.NoError(t, err)
	p, err := c.Create(ctx, "/q/.", nil, core.Sequential())
	require.NoError(t, err)
	assert.Equal(t, "/q/.0000000000", p)
	res, err := c.BeginTransaction().Create("/q/..", nil, core.Sequential()).Commit(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"/q/..0000000001"}, res.Created)
}

func TestOpsCreateContainer(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	p, err := c.Create(ctx, "/box", []byte("x"), core.Container())
	require.NoError(t, err)
	assert.Equal(t, "/box", p)
	_, err = c.Create(ctx, "/plain", nil)
	require.NoError(t, err)
	for _, parent := range []string{"/box", "/plain"} {
		_, err := c.Create(ctx, parent+"/item", nil)
		require.NoError(t, err)
	}
	ok, err := c.Exists(ctx, "/box")
	require.NoError(t, err)
	require.True(t, ok, "a container with a child stays")

	for _, parent := range []string{"/plain", "/box"} {
		require.NoError(t, c.Delete(ctx, parent+"/item"))
	}
	require.Eventually(t, func() bool {
		ok, err := c.Exists(ctx, "/box")
		return err == nil && !ok
	}, 20*time.Second, 20*time.Millisecond, "the server deletes the empty container")
	ok, err = c.Exists(ctx, "/plain")
	require.NoError(t, err)
	assert.True(t, ok, "the same sweep leaves an empty persistent node alone")
}

// SCENARIOS 12: a TTL node really expires; a persistent node made at the
// same time does not.
func TestOpsCreateTTL(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	p, st, err := c.CreateStat(ctx, "/ttl", []byte("x"), core.WithTTL(200*time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, "/ttl", p)
	assert.Zero(t, st.EphemeralOwner, "the server hides the TTL from clients")
	seq, err := c.Create(ctx, "/ttlseq-", nil, core.WithTTL(200*time.Millisecond), core.Sequential())
	require.NoError(t, err)
	require.Regexp(t, `^/ttlseq-\d{10}$`, seq)
	_, err = c.Create(ctx, "/plain", nil)
	require.NoError(t, err)

	for _, path := range []string{"/ttl", seq} {
		require.Eventually(t, func() bool {
			ok, err := c.Exists(ctx, path)
			return err == nil && !ok
		}, 20*time.Second, 20*time.Millisecond, "%s expires", path)
	}
	ok, err := c.Exists(ctx, "/plain")
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestOpsCreateWithParents(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	_, err := c.Create(ctx, "/plain/a/leaf", []byte("leaf"), core.WithParents())
	require.NoError(t, err)
	p, err := c.Create(ctx, "/box/a/leaf", []byte("leaf"), core.WithContainerParents())
	require.NoError(t, err)
	assert.Equal(t, "/box/a/leaf", p)
	for _, path := range []string{"/plain", "/plain/a", "/box", "/box/a"} {
		data, st, err := c.Get(ctx, path)
		require.NoError(t, err, path)
		assert.Empty(t, data, "parents are made without data")
		assert.Zero(t, st.EphemeralOwner)
	}
	// Parents of an ephemeral node are persistent; existing ones are reused.
	p, err = c.Create(ctx, "/plain/b/eph", nil, core.WithParents(), core.Ephemeral())
	require.NoError(t, err)
	assert.Equal(t, "/plain/b/eph", p)
	children, err := c.GetChildren(ctx, "/plain")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"a", "b"}, children)

	// Container parents vanish once empty, one level after another; plain
	// parents stay.
	require.NoError(t, c.Delete(ctx, "/box/a/leaf"))
	require.NoError(t, c.Delete(ctx, "/plain/a/leaf"))
	require.Eventually(t, func() bool {
		ok, err := c.Exists(ctx, "/box")
		return err == nil && !ok
	}, 20*time.Second, 20*time.Millisecond, "container parents are removed")
	ok, err := c.Exists(ctx, "/plain/a")
	require.NoError(t, err)
	assert.True(t, ok, "persistent parents stay")
}

var protectedNameA = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-`)

func TestOpsCreateProtected(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	p, err := c.Create(ctx, "/locks/lock-", nil, core.Protected(), core.Ephemeral(), core.Sequential(), core.WithParents())
	require.NoError(t, err)
	dir, name := splitA(p)
	assert.Equal(t, "/locks", dir)
	require.Regexp(t, protectedNameA, name, "Curator's _c_<uuid36>- prefix")
	assert.True(t, core.IsProtectedName(name))
	stripped := core.StripProtectedPrefix(name)
	require.Regexp(t, `^lock-\d{10}$`, stripped)
	assert.Equal(t, name[:40]+stripped, name)

	q, err := c.Create(ctx, "/locks/plain", []byte("x"), core.Protected())
	require.NoError(t, err)
	_, qname := splitA(q)
	require.Regexp(t, protectedNameA, qname)
	assert.Equal(t, "plain", core.StripProtectedPrefix(qname))
	assert.NotEqual(t, name[:40], qname[:40], "every create has its own uuid")

	children, err := c.GetChildren(ctx, "/locks")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{name, qname}, children)
}

func splitA(p string) (dir, name string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			if i == 0 {
				return "/", p[1:]
			}
			return p[:i], p[i+1:]
		}
	}
	return "", p
}

// Parents made for a create get the client's default ACL, not the node's
// own, which may not let anyone create below it; WithParentACL chooses.
func TestOpsCreateParentsACL(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)
	aclOf := func(path string) []core.ACL {
		t.Helper()
		acl, _, err := c.GetACL(ctx, path)
		require.NoError(t, err)
		return acl
	}

	_, err := c.Create(ctx, "/ro/a/leaf", []byte("x"), core.WithACL(core.ReadACLUnsafe...), core.WithParents())
	require.NoError(t, err, "a read-only node's parents must still take children")
	assert.Equal(t, core.ReadACLUnsafe, aclOf("/ro/a/leaf"))
	assert.Equal(t, core.OpenACLUnsafe, aclOf("/ro"))
	assert.Equal(t, core.OpenACLUnsafe, aclOf("/ro/a"))

	// Unlike the default, no write or admin; enough to list and clean up.
	parentACL := core.MakeACL("world", "anyone", core.PermRead|core.PermCreate|core.PermDelete)
	_, _, err = c.CreateAndList(ctx, "/chosen/b/n-", nil, "/chosen/b", core.Sequential(), core.WithACL(core.ReadACLUnsafe...),
		core.WithContainerParents(), core.WithParentACL(parentACL))
	require.NoError(t, err)
	assert.Equal(t, []core.ACL{parentACL}, aclOf("/chosen"))
	assert.Equal(t, []core.ACL{parentACL}, aclOf("/chosen/b"))
}

func TestOpsEnsurePath(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	require.NoError(t, c.EnsurePath(ctx, "/a/b/c"))
	for _, path := range []string{"/a", "/a/b", "/a/b/c"} {
		st, err := c.ExistsStat(ctx, path)
		require.NoError(t, err)
		require.NotNil(t, st, path)
		assert.Zero(t, st.EphemeralOwner)
	}
	// Existing nodes are left as they are.
	_, err := c.Set(ctx, "/a/b", []byte("keep"), -1)
	require.NoError(t, err)
	require.NoError(t, c.EnsurePath(ctx, "/a/b/c/d"))
	data, st, err := c.Get(ctx, "/a/b")
	require.NoError(t, err)
	assert.Equal(t, "keep", string(data))
	assert.Equal(t, int32(1), st.Version)
	require.NoError(t, c.EnsurePath(ctx, "/a/b/c/d"), "EnsurePath is idempotent")

	// WithACL applies to the nodes it creates. The ACL still lets anyone
	// create below, read, and delete (the test's cleanup), so the test
	// also runs against a server elsewhere (ZK_SERVERS).
	narrow := core.MakeACL("world", "anyone", core.PermRead|core.PermCreate|core.PermDelete)
	require.NoError(t, c.EnsurePath(ctx, "/narrow/x", core.WithACL(narrow)))
	for _, path := range []string{"/narrow", "/narrow/x"} {
		acl, _, err := c.GetACL(ctx, path)
		require.NoError(t, err)
		assert.Equal(t, []core.ACL{narrow}, acl)
	}

	// The parents' options make the ancestors as they do for Create; the
	// others then apply to the last node alone (TestCreateRequestKinds
	// checks which nodes are containers).
	require.NoError(t, c.EnsurePath(ctx, "/kinds/mid/leaf", core.WithACL(narrow), core.WithContainerParents(),
		core.WithParentACL(core.ReadACLUnsafe[0], narrow)))
	for _, path := range []string{"/kinds", "/kinds/mid"} {
		acl, st, err := c.GetACL(ctx, path)
		require.NoError(t, err)
		assert.Equal(t, []core.ACL{core.ReadACLUnsafe[0], narrow}, acl, path)
		assert.Positive(t, st.NumChildren, path)
	}
	acl, _, err := c.GetACL(ctx, "/kinds/mid/leaf")
	require.NoError(t, err)
	assert.Equal(t, []core.ACL{narrow}, acl)
	require.NoError(t, c.EnsurePath(ctx, "/plain/leaf", core.WithACL(narrow), core.WithParents()))
	acl, _, err = c.GetACL(ctx, "/plain")
	require.NoError(t, err)
	assert.Equal(t, core.OpenACLUnsafe, acl, "WithParents gives the ancestors the default ACL")

	require.NoError(t, c.EnsurePath(ctx, "/"), "the root always exists")
}

// Delete uses the version in the stat cache unless told otherwise.
func TestOpsDelete(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	_, err := c.Create(ctx, "/d", nil) // caches version 0
	require.NoError(t, err)
	_, err = other.Set(ctx, root+"/d", []byte("changed"), -1)
	require.NoError(t, err)
	err = c.Delete(ctx, "/d")
	requireErrA(t, err, core.ErrBadVersion, "delete", "/d")
	ok, err := c.Exists(ctx, "/d")
	require.NoError(t, err)
	require.True(t, ok, "a refused delete leaves the node")
	require.NoError(t, c.Delete(ctx, "/d", core.Force()))
	ok, err = other.Exists(ctx, root+"/d")
	require.NoError(t, err)
	require.False(t, ok)

	// A read refreshes the cached version.
	_, err = c.Create(ctx, "/e", nil)
	require.NoError(t, err)
	_, err = other.Set(ctx, root+"/e", []byte("changed"), -1)
	require.NoError(t, err)
	_, _, err = c.Get(ctx, "/e")
	require.NoError(t, err)
	require.NoError(t, c.Delete(ctx, "/e"))

	// An explicit version.
	_, err = c.Create(ctx, "/f", nil)
	require.NoError(t, err)
	err = c.Delete(ctx, "/f", core.WithVersion(3))
	requireErrA(t, err, core.ErrBadVersion, "delete", "/f")
	require.NoError(t, c.Delete(ctx, "/f", core.WithVersion(0)))

	// A path the client never saw is deleted at any version.
	_, err = other.Create(ctx, root+"/g", nil)
	require.NoError(t, err)
	_, err = other.Set(ctx, root+"/g", []byte("v1"), -1)
	require.NoError(t, err)
	require.NoError(t, c.Delete(ctx, "/g"))

	err = c.Delete(ctx, "/missing")
	requireErrA(t, err, core.ErrNoNode, "delete", "/missing")
	_, err = c.Create(ctx, "/parent/child", nil, core.WithParents())
	require.NoError(t, err)
	err = c.Delete(ctx, "/parent")
	requireErrA(t, err, core.ErrNotEmpty, "delete", "/parent")
}

func TestOpsStatCacheSize(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		c, srv, root := sharedA(t, core.WithStatCacheSize(0))
		other := rootA(t, srv)
		ctx := ctxA(t)
		_, err := c.Create(ctx, "/n", nil)
		require.NoError(t, err)
		_, err = other.Set(ctx, root+"/n", []byte("x"), -1)
		require.NoError(t, err)
		_, err = c.SetData(ctx, "/n", []byte("mine"))
		require.NoError(t, err, "without a cache writes are unconditional")
		assert.Zero(t, core.StatCacheLen(c))
	})
	t.Run("bounded", func(t *testing.T) {
		c, _, _ := sharedA(t, core.WithStatCacheSize(2))
		ctx := ctxA(t)
		for _, p := range []string{"/a", "/b", "/c"} {
			_, err := c.Create(ctx, p, nil)
			require.NoError(t, err)
		}
		assert.Equal(t, 2, core.StatCacheLen(c))
	})
}

func TestOpsDeleteAll(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	for _, p := range []string{"/t/a/x", "/t/a/y", "/t/b", "/t/c/d/e"} {
		_, err := c.Create(ctx, p, []byte(p), core.WithParents())
		require.NoError(t, err)
	}
	_, err := c.Create(ctx, "/t/eph", nil, core.Ephemeral())
	require.NoError(t, err)
	_, err = c.Create(ctx, "/keep", nil)
	require.NoError(t, err)
	_, err = other.Set(ctx, root+"/t/a", []byte("changed elsewhere"), -1)
	require.NoError(t, err)

	require.NoError(t, c.DeleteAll(ctx, "/t"))
	ok, err := other.Exists(ctx, root+"/t")
	require.NoError(t, err)
	assert.False(t, ok)
	children, err := c.GetChildren(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"keep"}, children)

	require.NoError(t, c.DeleteAll(ctx, "/t"), "a missing tree is already deleted")
}

func TestOpsGet(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	payload := []byte{0, 1, 2, 0xff, 'z'}
	_, created, err := c.CreateStat(ctx, "/g", payload)
	require.NoError(t, err)
	data, st, err := c.Get(ctx, "/g")
	require.NoError(t, err)
	assert.Equal(t, payload, data)
	assert.Equal(t, created, st)
	assert.Equal(t, int32(len(payload)), st.DataLength)
	data, err = c.GetData(ctx, "/g")
	require.NoError(t, err)
	assert.Equal(t, payload, data)

	_, _, err = c.Get(ctx, "/missing")
	requireErrA(t, err, core.ErrNoNode, "get", "/missing")
	_, err = c.GetData(ctx, "/missing")
	requireErrA(t, err, core.ErrNoNode, "get", "/missing")
}

// SetData uses the version in the stat cache unless told otherwise; Set
// takes an explicit version.
func TestOpsSet(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	_, err := c.Create(ctx, "/s", []byte("v0"))
	require.NoError(t, err)
	st, err := c.Set(ctx, "/s", []byte("v1"), 0)
	require.NoError(t, err)
	assert.Equal(t, int32(1), st.Version)
	_, err = c.Set(ctx, "/s", []byte("stale"), 0)
	requireErrA(t, err, core.ErrBadVersion, "setData", "/s")
	st, err = c.Set(ctx, "/s", []byte("v2"), -1)
	require.NoError(t, err)
	assert.Equal(t, int32(2), st.Version)

	// The cached version follows the client's own writes...
	st, err = c.SetData(ctx, "/s", []byte("v3"))
	require.NoError(t, err)
	assert.Equal(t, int32(3), st.Version)
	// ...and a write by someone else makes the next one fail.
	_, err = other.Set(ctx, root+"/s", []byte("theirs"), -1)
	require.NoError(t, err)
	_, err = c.SetData(ctx, "/s", []byte("mine"))
	requireErrA(t, err, core.ErrBadVersion, "setData", "/s")
	data, err := other.GetData(ctx, root+"/s")
	require.NoError(t, err)
	assert.Equal(t, "theirs", string(data), "a refused set changes nothing")
	st, err = c.SetData(ctx, "/s", []byte("mine"), core.Force())
	require.NoError(t, err)
	assert.Equal(t, int32(5), st.Version)
	st, err = c.SetData(ctx, "/s", []byte("v6"), core.WithVersion(5))
	require.NoError(t, err)
	assert.Equal(t, int32(6), st.Version)
	data, err = other.GetData(ctx, root+"/s")
	require.NoError(t, err)
	assert.Equal(t, "v6", string(data))

	// Empty and nil data both clear the node.
	st, err = c.SetData(ctx, "/s", nil)
	require.NoError(t, err)
	assert.Zero(t, st.DataLength)

	_, err = c.SetData(ctx, "/missing", []byte("x"))
	requireErrA(t, err, core.ErrNoNode, "setData", "/missing")
	_, err = c.Set(ctx, "/missing", []byte("x"), -1)
	requireErrA(t, err, core.ErrNoNode, "setData", "/missing")
}

func TestOpsGetChildren(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	_, err := c.Create(ctx, "/p", nil)
	require.NoError(t, err)
	children, err := c.GetChildren(ctx, "/p")
	require.NoError(t, err)
	assert.NotNil(t, children, "no children is an empty slice, not nil")
	assert.Empty(t, children)

	want := []string{"a", "b", "c-0000000002"}
	_, err = c.Create(ctx, "/p/a", nil)
	require.NoError(t, err)
	_, err = c.Create(ctx, "/p/b", nil, core.Ephemeral())
	require.NoError(t, err)
	_, err = c.Create(ctx, "/p/c-", nil, core.Sequential())
	require.NoError(t, err)

	children, err = c.GetChildren(ctx, "/p")
	require.NoError(t, err)
	assert.ElementsMatch(t, want, children)
	children, st, err := c.GetChildrenStat(ctx, "/p")
	require.NoError(t, err)
	assert.ElementsMatch(t, want, children)
	assert.Equal(t, int32(3), st.NumChildren)
	assert.Equal(t, int32(3), st.ChildVersion)
	exists, err := c.ExistsStat(ctx, "/p")
	require.NoError(t, err)
	assert.Equal(t, exists, st)

	root, err := c.GetChildren(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"p"}, root, "the chroot's children")

	_, err = c.GetChildren(ctx, "/missing")
	requireErrA(t, err, core.ErrNoNode, "getChildren", "/missing")
	_, _, err = c.GetChildrenStat(ctx, "/missing")
	requireErrA(t, err, core.ErrNoNode, "getChildren", "/missing")
}

// SetACL uses the ACL version in the stat cache unless told otherwise.
func TestOpsACLVersions(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	_, err := c.Create(ctx, "/a", nil)
	require.NoError(t, err)
	acl, st, err := c.GetACL(ctx, "/a")
	require.NoError(t, err)
	assert.Equal(t, core.OpenACLUnsafe, acl, "the default ACL")
	assert.Zero(t, st.ACLVersion)

	noDelete := core.WorldACL(core.PermAll &^ core.PermDelete)
	_, err = other.SetACL(ctx, root+"/a", noDelete, core.Force())
	require.NoError(t, err)
	_, err = c.SetACL(ctx, "/a", core.OpenACLUnsafe)
	requireErrA(t, err, core.ErrBadVersion, "setACL", "/a")
	acl, _, err = other.GetACL(ctx, root+"/a")
	require.NoError(t, err)
	assert.Equal(t, noDelete, acl, "a refused setACL changes nothing")

	st, err = c.SetACL(ctx, "/a", core.OpenACLUnsafe, core.Force())
	require.NoError(t, err)
	assert.Equal(t, int32(2), st.ACLVersion)
	st, err = c.SetACL(ctx, "/a", noDelete)
	require.NoError(t, err, "the cache holds the version of the client's own setACL")
	assert.Equal(t, int32(3), st.ACLVersion)
	_, err = c.SetACL(ctx, "/a", core.OpenACLUnsafe, core.WithVersion(1))
	requireErrA(t, err, core.ErrBadVersion, "setACL", "/a")
	st, err = c.SetACL(ctx, "/a", core.OpenACLUnsafe, core.WithVersion(3))
	require.NoError(t, err)
	assert.Equal(t, int32(4), st.ACLVersion)
	assert.Zero(t, st.Version, "an ACL change leaves the data version alone")

	_, _, err = c.GetACL(ctx, "/missing")
	requireErrA(t, err, core.ErrNoNode, "getACL", "/missing")
	_, err = c.SetACL(ctx, "/missing", core.OpenACLUnsafe)
	requireErrA(t, err, core.ErrNoNode, "setACL", "/missing")
}

func TestOpsExists(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	ok, err := c.Exists(ctx, "/x")
	require.NoError(t, err)
	assert.False(t, ok)
	st, err := c.ExistsStat(ctx, "/x")
	require.NoError(t, err, "a missing node is no error")
	assert.Nil(t, st)

	_, created, err := c.CreateStat(ctx, "/x", []byte("1"))
	require.NoError(t, err)
	ok, err = c.Exists(ctx, "/x")
	require.NoError(t, err)
	assert.True(t, ok)
	st, err = c.ExistsStat(ctx, "/x")
	require.NoError(t, err)
	assert.Equal(t, created, st)

	ok, err = c.Exists(ctx, "/")
	require.NoError(t, err)
	assert.True(t, ok, "the chroot itself")
	_, err = c.ExistsStat(ctx, "/x/missing/deeper")
	require.NoError(t, err, "a missing parent is no error either")
}

// On one server a read sees every committed write anyway, so the test
// checks that Sync asks the server: a sync request for the node's server
// path left the client, and the server answered it.
func TestOpsSync(t *testing.T) {
	spy := newWireSpy()
	c, srv, root := sharedA(t, core.WithDialer(spy.dialer()))
	other := rootA(t, srv)
	ctx := ctxA(t)

	_, err := other.Create(ctx, root+"/s", []byte("written elsewhere"))
	require.NoError(t, err)
	require.NoError(t, c.Sync(ctx, "/s"))
	data, err := c.GetData(ctx, "/s")
	require.NoError(t, err)
	assert.Equal(t, "written elsewhere", string(data))
	require.NoError(t, c.Sync(ctx, "/"))

	var paths []string
	for _, r := range spy.requests(proto.OpSync) {
		paths = append(paths, r.path)
	}
	assert.Equal(t, []string{root + "/s", root}, paths, "the sync requests sent")
}

func TestOpsGetEphemerals(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	_, err := c.Create(ctx, "/e1", nil, core.Ephemeral())
	require.NoError(t, err)
	_, err = c.Create(ctx, "/sub/e2", nil, core.Ephemeral(), core.WithParents())
	require.NoError(t, err)
	seq, err := c.Create(ctx, "/sub/s-", nil, core.Ephemeral(), core.Sequential())
	require.NoError(t, err)
	_, err = c.Create(ctx, "/persistent", nil)
	require.NoError(t, err)
	_, err = other.Create(ctx, root+"/theirs", nil, core.Ephemeral())
	require.NoError(t, err)

	all, err := c.GetEphemerals(ctx, "/")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"/e1", "/sub/e2", seq}, all, "the session's own, relative to the chroot")
	sub, err := c.GetEphemerals(ctx, "/sub")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"/sub/e2", seq}, sub)
	none, err := c.GetEphemerals(ctx, "/persistent")
	require.NoError(t, err)
	assert.Empty(t, none)

	theirs, err := other.GetEphemerals(ctx, root)
	require.NoError(t, err)
	assert.Equal(t, []string{root + "/theirs"}, theirs)
}

func TestOpsGetAllChildrenNumber(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	for _, p := range []string{"/a/b/c", "/a/d", "/e"} {
		_, err := c.Create(ctx, p, nil, core.WithParents())
		require.NoError(t, err)
	}
	n, err := c.GetAllChildrenNumber(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, 5, n, "/a, /a/b, /a/b/c, /a/d and /e")
	n, err = c.GetAllChildrenNumber(ctx, "/a")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = c.GetAllChildrenNumber(ctx, "/e")
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = c.GetAllChildrenNumber(ctx, "/missing")
	requireErrA(t, err, core.ErrNoNode, "getAllChildrenNumber", "/missing")
}

func TestOpsWhoAmI(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	infos, err := c.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Contains(t, infos, core.ClientInfo{AuthScheme: "ip", User: "127.0.0.1"})

	require.NoError(t, c.AddAuth(ctx, "digest", []byte("alice:secret")))
	infos, err = c.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Contains(t, infos, core.ClientInfo{AuthScheme: "ip", User: "127.0.0.1"})
	assert.Contains(t, infos, core.ClientInfo{AuthScheme: "digest", User: "alice"})
}

// CreateAndList's listing already holds the node it created.
func TestOpsCreateAndList(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)

	first, children, err := c.CreateAndList(ctx, "/q/n-", []byte("1"), "/q", core.Sequential(), core.WithParents())
	require.NoError(t, err)
	assert.Equal(t, "/q/n-0000000000", first)
	assert.Equal(t, []string{"n-0000000000"}, children)

	second, children, err := c.CreateAndList(ctx, "/q/n-", []byte("2"), "/q", core.Sequential(), core.Ephemeral(), core.Protected())
	require.NoError(t, err)
	_, name := splitA(second)
	require.Regexp(t, protectedNameA, name)
	assert.Equal(t, "n-0000000001", core.StripProtectedPrefix(name))
	assert.ElementsMatch(t, []string{"n-0000000000", name}, children)

	data, st, err := c.Get(ctx, second)
	require.NoError(t, err)
	assert.Equal(t, "2", string(data))
	assert.Equal(t, c.Session().ID(), st.EphemeralOwner)

	// Listing another directory.
	p, children, err := c.CreateAndList(ctx, "/other", nil, "/")
	require.NoError(t, err)
	assert.Equal(t, "/other", p)
	assert.ElementsMatch(t, []string{"q", "other"}, children)

	_, _, err = c.CreateAndList(ctx, "/other", nil, "/")
	requireErrA(t, err, core.ErrNodeExists, "create", "/other")
	_, _, err = c.CreateAndList(ctx, "/nope/x", nil, "/nope")
	requireErrA(t, err, core.ErrNoNode, "create", "/nope/x")
	// When only the listing fails, the node stays made, once, and the
	// error says that the listing failed.
	p, _, err = c.CreateAndList(ctx, "/made/n-", nil, "/not-there", core.Sequential(), core.WithParents())
	requireErrA(t, err, core.ErrNoNode, "getChildren", "/not-there")
	assert.Equal(t, "/made/n-0000000000", p, "the node that was made")
	children, err = c.GetChildren(ctx, "/made")
	require.NoError(t, err)
	assert.Equal(t, []string{"n-0000000000"}, children, "one node, not one per retry")
}
