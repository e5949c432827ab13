package core_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
)

var sequenceName = regexp.MustCompile(`^n-[0-9]{10}$`)

// requireOneProtectedB checks that parent holds exactly one node, the
// protected node at path.
func requireOneProtectedB(t *testing.T, c *core.Client, parent, path string) string {
	t.Helper()
	ctx := ctxB(t, waitB)
	kids, err := c.GetChildren(ctx, parent)
	require.NoError(t, err)
	require.Len(t, kids, 1, "exactly one node: %v", kids)
	require.Equal(t, parent+"/"+kids[0], path, "the returned path is that node")
	require.True(t, core.IsProtectedName(kids[0]), "protected name %q", kids[0])
	require.Regexp(t, sequenceName, core.StripProtectedPrefix(kids[0]))
	return kids[0]
}

// TestProtectedCreateLostReply (SCENARIO 22): the proxy lets a protected
// ephemeral-sequential create reach the server and drops its reply; the
// client retries by finding its node instead of creating a second one, and
// returns that node.
func TestProtectedCreateLostReply(t *testing.T) {
	c, proxy, spy := proxyClientB(t)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/lock", nil)
	require.NoError(t, err)
	states := listenB(t, c)
	sess := c.Session()

	creates := len(spy.requests(opCreate))
	proxy.DropNextReply()
	p, err := c.Create(ctx, "/lock/n-", []byte("me"), core.Protected(), core.Ephemeral(), core.Sequential())
	require.NoError(t, err)
	require.GreaterOrEqual(t, states.count(core.StateSuspended), 1, "the reply was lost with the connection")
	require.Len(t, spy.requests(opCreate), creates+1, "the create was not sent again")

	requireOneProtectedB(t, c, "/lock", p)
	data, st, err := c.Get(ctx, p)
	require.NoError(t, err)
	require.Equal(t, []byte("me"), data)
	require.Equal(t, sess.ID(), st.EphemeralOwner)
	require.Equal(t, sess.ID(), c.Session().ID())
}

// TestProtectedCreateLostInFlight covers the other protected cases: a
// persistent sequential create whose reply is lost is found again, as is
// the node of a CreateAndList; a create that never reached the server (a
// wire spy swallows it and cuts the connection) is sent again.
func TestProtectedCreateLostInFlight(t *testing.T) {
	// A lost reply: the proxy drops it after the server applied the create.
	t.Run("PersistentApplied", func(t *testing.T) {
		c, proxy, spy := proxyClientB(t)
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/q", nil)
		require.NoError(t, err)
		creates := len(spy.requests(opCreate))
		proxy.DropNextReply()
		before := spy.written()
		p, err := c.Create(ctx, "/q/n-", nil, core.Protected(), core.Sequential())
		require.NoError(t, err)
		require.Len(t, spy.requests(opCreate), creates+1, "found, not created again")
		// The search makes the server catch up before it lists the parent:
		// a server the client moved to may lag behind the one that took
		// the create. It does so with a write (a transaction that only
		// checks the parent), which a leader orders after every write it
		// took before, where it answers a Sync at once.
		ops := spy.opsSince(before)
		catchUp, list := slices.Index(ops, proto.OpMulti), slices.Index(ops, proto.OpGetChildren2)
		require.True(t, catchUp >= 0 && catchUp < list, "requests %v", ops)
		requireOneProtectedB(t, c, "/q", p)
		st, err := c.ExistsStat(ctx, p)
		require.NoError(t, err)
		require.Zero(t, st.EphemeralOwner)
	})

	t.Run("NeverArrived", func(t *testing.T) {
		c, spy := spyClientB(t, core.RetryForever())
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/q", nil)
		require.NoError(t, err)
		creates := len(spy.requests(opCreate))
		spy.setSwallow(true)
		spy.cut(opCreate, 1)
		p, err := c.Create(ctx, "/q/n-", nil, core.Protected(), core.Ephemeral(), core.Sequential())
		require.NoError(t, err)
		require.Len(t, spy.requests(opCreate), creates+2, "not found, so created again")
		requireOneProtectedB(t, c, "/q", p)
	})

	t.Run("CreateAndList", func(t *testing.T) {
		c, proxy, spy := proxyClientB(t)
		ctx := ctxB(t, waitB)
		_, err := c.Create(ctx, "/q", nil)
		require.NoError(t, err)
		_, err = c.Create(ctx, "/q/other", nil)
		require.NoError(t, err)
		creates := len(spy.requests(opCreate))
		proxy.DropNextReply()
		p, kids, err := c.CreateAndList(ctx, "/q/n-", nil, "/q", core.Protected(), core.Ephemeral(), core.Sequential())
		require.NoError(t, err)
		require.Len(t, spy.requests(opCreate), creates+1, "found, not created again")
		require.Len(t, kids, 2)
		require.Contains(t, kids, "other")
		require.Contains(t, kids, p[len("/q/"):])
	})
}

// A protected create that fails after reaching the server (here the retry
// policy gives up on its lost reply) leaves no node behind: the client
// finds the node it made by its prefix, in the background, and deletes it,
// for an ephemeral node and a persistent one, from Create and from
// CreateAndList.
func TestProtectedCreateFailedLeavesNoOrphan(t *testing.T) {
	c, proxy, _ := proxyClientB(t, core.WithRetryPolicy(core.NoRetry()))
	ctx := ctxB(t, waitB)
	for _, tc := range []struct {
		name   string
		create func(dir string) error
	}{
		{"ephemeral", func(dir string) error {
			_, err := c.Create(ctx, dir+"/n-", nil, core.Protected(), core.Ephemeral(), core.Sequential())
			return err
		}},
		{"persistent", func(dir string) error {
			_, err := c.Create(ctx, dir+"/n-", nil, core.Protected(), core.Sequential())
			return err
		}},
		{"create and list", func(dir string) error {
			_, _, err := c.CreateAndList(ctx, dir+"/n-", nil, dir, core.Protected(), core.Ephemeral(), core.Sequential())
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := "/" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := c.Create(ctx, dir, nil)
			require.NoError(t, err)
			proxy.DropNextReply() // the server applies the create; its reply is lost
			require.ErrorIs(t, tc.create(dir), core.ErrConnectionLoss)
			require.Eventually(t, func() bool {
				kids, err := c.GetChildren(ctx, dir)
				return err == nil && len(kids) == 0
			}, waitB, tickB, "the orphan of the failed create is removed")
		})
	}
}

// A protected create whose ctx ends while its request is out leaves no
// node behind either: the server applies it, and the client, once the
// reply comes, deletes the node in the background.
func TestProtectedCreateCancelledLeavesNoOrphan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func(ctx context.Context, c *core.Client) error
	}{
		{"Create", func(ctx context.Context, c *core.Client) error {
			_, err := c.Create(ctx, "/dir/n-", nil, core.Protected(), core.Ephemeral(), core.Sequential())
			return err
		}},
		{"CreateAndList", func(ctx context.Context, c *core.Client) error {
			_, _, err := c.CreateAndList(ctx, "/dir/n-", nil, "/dir", core.Protected(), core.Ephemeral(), core.Sequential())
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, hold, ctx := startHeldClient(t, "/dir", nil)
			hold.hold()
			short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			require.ErrorIs(t, tc.create(short, c), context.DeadlineExceeded)
			hold.waitHeldReplies(t, 1) // the server made the node
			hold.release()
			require.Eventually(t, func() bool {
				kids, err := c.GetChildren(ctx, "/dir")
				return err == nil && len(kids) == 0
			}, waitB, tickB, "the orphan of the cancelled create is removed")
		})
	}
}
