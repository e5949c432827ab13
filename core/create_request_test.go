package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// TestCreateRequestKinds: each form of create sends the request the server
// expects for it. A plain Create sends create, whose reply carries the path
// only; the Stat forms send create2; a container and a TTL node their own
// requests, whatever the form. Each form returns the node the server made,
// and a Stat exactly where one was asked for and the reply carried it.
func TestCreateRequestKinds(t *testing.T) {
	srv := zktest.Shared(t)
	spy := newWireSpy()
	c := startClientB(t, srv.Addr(), core.WithChroot(chrootB(t, srv.ConnString())), core.WithDialer(spy.dialer()))
	ctx := ctxB(t, waitB)

	sent := func(t *testing.T, do func() error) []int32 {
		t.Helper()
		before := map[int32]int{}
		kinds := []int32{proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL}
		for _, op := range kinds {
			before[op] = len(spy.requests(op))
		}
		require.NoError(t, do())
		var ops []int32
		for _, op := range kinds {
			for range len(spy.requests(op)) - before[op] {
				ops = append(ops, op)
			}
		}
		return ops
	}

	t.Run("Create", func(t *testing.T) {
		ops := sent(t, func() error {
			p, err := c.Create(ctx, "/plain", []byte("x"))
			assert.Equal(t, "/plain", p)
			return err
		})
		assert.Equal(t, []int32{proto.OpCreate}, ops)
	})
	t.Run("CreateStat", func(t *testing.T) {
		ops := sent(t, func() error {
			p, st, err := c.CreateStat(ctx, "/withstat", []byte("xy"))
			require.NoError(t, err)
			assert.Equal(t, "/withstat", p)
			require.NotNil(t, st)
			assert.Equal(t, int32(2), st.DataLength)
			assert.NotZero(t, st.CreatedZxid)
			return nil
		})
		assert.Equal(t, []int32{proto.OpCreate2}, ops)
	})
	t.Run("CreateAndList", func(t *testing.T) {
		_, err := c.Create(ctx, "/q1", nil)
		require.NoError(t, err)
		ops := sent(t, func() error {
			p, kids, err := c.CreateAndList(ctx, "/q1/n-", nil, "/q1", core.Ephemeral(), core.Sequential())
			require.NoError(t, err)
			assert.Regexp(t, `^/q1/n-[0-9]{10}$`, p)
			assert.Len(t, kids, 1)
			return nil
		})
		assert.Equal(t, []int32{proto.OpCreate}, ops)
	})
	t.Run("CreateAndListStat", func(t *testing.T) {
		_, err := c.Create(ctx, "/q2", nil)
		require.NoError(t, err)
		ops := sent(t, func() error {
			_, st, kids, err := c.CreateAndListStat(ctx, "/q2/n-", nil, "/q2", core.Ephemeral(), core.Sequential())
			require.NoError(t, err)
			require.NotNil(t, st)
			assert.Equal(t, c.Session().ID(), st.EphemeralOwner)
			assert.Len(t, kids, 1)
			return nil
		})
		assert.Equal(t, []int32{proto.OpCreate2}, ops)
	})
	// A container and a TTL node send their own request from either
	// method, and the Stat their replies carry is decoded.
	t.Run("Container", func(t *testing.T) {
		ops := sent(t, func() error {
			_, err := c.Create(ctx, "/box1", nil, core.Container())
			return err
		})
		assert.Equal(t, []int32{proto.OpCreateContainer}, ops)
		ops = sent(t, func() error {
			_, st, err := c.CreateStat(ctx, "/box2", []byte("abc"), core.Container())
			require.NoError(t, err)
			assert.NotZero(t, st.CreatedZxid)
			assert.Equal(t, int32(3), st.DataLength)
			return nil
		})
		assert.Equal(t, []int32{proto.OpCreateContainer}, ops)
	})
	// EnsurePath makes the ancestors as the parents' options say, and the
	// last node as the others say.
	t.Run("EnsurePath", func(t *testing.T) {
		kinds := []int32{proto.OpCreate, proto.OpCreateContainer}
		made := func(path string, opts ...core.CreateOption) map[string]int32 {
			t.Helper()
			before := map[int32]int{}
			for _, op := range kinds {
				before[op] = len(spy.requests(op))
			}
			require.NoError(t, c.EnsurePath(ctx, path, opts...))
			got := map[string]int32{}
			for _, op := range kinds {
				for _, r := range spy.requests(op)[before[op]:] {
					_, name, _ := strings.Cut(r.path, "/ensure")
					got["/ensure"+name] = op
				}
			}
			return got
		}
		assert.Equal(t, map[string]int32{
			"/ensure1":      proto.OpCreateContainer,
			"/ensure1/a":    proto.OpCreateContainer,
			"/ensure1/a/mk": proto.OpCreate,
		}, made("/ensure1/a/mk", core.WithContainerParents()))
		assert.Equal(t, map[string]int32{
			"/ensure2":      proto.OpCreate,
			"/ensure2/a":    proto.OpCreate,
			"/ensure2/a/mk": proto.OpCreateContainer,
		}, made("/ensure2/a/mk", core.Container(), core.WithParents()))
		assert.Equal(t, map[string]int32{
			"/ensure3":      proto.OpCreateContainer,
			"/ensure3/a":    proto.OpCreateContainer,
			"/ensure3/a/mk": proto.OpCreateContainer,
		}, made("/ensure3/a/mk", core.Container()), "without the parents' options, every node is made alike")
	})
	t.Run("TTL", func(t *testing.T) {
		ops := sent(t, func() error {
			_, st, err := c.CreateStat(ctx, "/ttl", []byte("abcd"), core.WithTTL(time.Minute))
			require.NoError(t, err)
			assert.NotZero(t, st.CreatedZxid)
			assert.Equal(t, int32(4), st.DataLength)
			return nil
		})
		assert.Equal(t, []int32{proto.OpCreateTTL}, ops)
	})
}

// TestCreateCachesNewVersions: a plain create's reply carries no Stat, yet
// the client knows a new node's data and ACL versions (0), so non-forced
// writes after it are made against them.
func TestCreateCachesNewVersions(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	st, err := c.SetData(ctx, "/n", []byte("v1"))
	require.NoError(t, err, "made against the cached version 0")
	assert.Equal(t, int32(1), st.Version)

	_, err = c.Create(ctx, "/o", nil)
	require.NoError(t, err)
	_, err = other.Set(ctx, root+"/o", []byte("theirs"), -1)
	require.NoError(t, err)
	_, err = c.SetData(ctx, "/o", []byte("mine"))
	requireErrA(t, err, core.ErrBadVersion, "setData", "/o")

	_, err = c.Create(ctx, "/m", nil)
	require.NoError(t, err)
	_, err = other.SetACL(ctx, root+"/m", core.OpenACLUnsafe, core.Force())
	require.NoError(t, err)
	_, err = c.SetACL(ctx, "/m", core.OpenACLUnsafe)
	requireErrA(t, err, core.ErrBadVersion, "setACL", "/m")
}

// A create in a transaction caches its node as Create does: version 0 at
// the transaction's zxid, replacing what the cache held for an earlier
// node at the path, also when the same transaction deleted that one.
func TestTransactionCreateCachesNewVersions(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	// The client has seen version 1 of /p; another client deletes it, and
	// this one makes it again in a transaction, at version 0.
	_, err := c.Create(ctx, "/p", nil)
	require.NoError(t, err)
	_, err = c.SetData(ctx, "/p", []byte("one"))
	require.NoError(t, err)
	require.NoError(t, other.Delete(ctx, root+"/p", core.Force()))
	_, err = c.BeginTransaction().Create("/p", []byte("new")).Commit(ctx)
	require.NoError(t, err)
	// A change this client never saw must not be overwritten.
	_, err = other.Set(ctx, root+"/p", []byte("theirs"), 0)
	require.NoError(t, err)
	_, err = c.SetData(ctx, "/p", []byte("mine"))
	requireErrA(t, err, core.ErrBadVersion, "setData", "/p")

	// Deleted and made again in one transaction: the new node's version.
	_, err = c.Create(ctx, "/q", nil)
	require.NoError(t, err)
	_, err = c.BeginTransaction().Delete("/q", 0).Create("/q", nil).Commit(ctx)
	require.NoError(t, err)
	_, err = other.Set(ctx, root+"/q", []byte("theirs"), 0)
	require.NoError(t, err)
	_, err = c.SetData(ctx, "/q", []byte("mine"))
	requireErrA(t, err, core.ErrBadVersion, "setData", "/q")

	// Made by this client and touched by nobody: the cached version 0 holds.
	_, err = c.BeginTransaction().Create("/r", nil).Commit(ctx)
	require.NoError(t, err)
	st, err := c.SetData(ctx, "/r", []byte("v1"))
	require.NoError(t, err)
	assert.Equal(t, int32(1), st.Version)
}
