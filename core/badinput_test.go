package core_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// badPathsA are paths the server refuses, each for its own reason.
var badPathsA = []struct{ name, path string }{
	{"empty", ""},
	{"relative", "a/b"},
	{"relative dot", "./a"},
	{"trailing slash", "/a/"},
	{"double slash", "/a//b"},
	{"only slashes", "//"},
	{"dot segment", "/a/./b"},
	{"dot-dot segment", "/a/../b"},
	{"trailing dot", "/a/."},
	{"root dot-dot", "/.."},
	{"NUL", "/a\x00b"},
	{"control character", "/a\x01"},
	{"DEL", "/a\x7f"},
	{"C1 control", "/a\u0085"},
	{"private use", "/a\ue000"},
	{"specials", "/a\ufff0"},
	{"non-character", "/a\uffff"},
	{"surrogate", "/a\xed\xa0\x80"},
	{"supplementary plane", "/a\U0001F600"},
	{"last code point", "/a\U0010FFFF"},
	{"invalid UTF-8", "/a\xff"},
}

// pathOpsA calls every operation that takes a path, naming it as its errors do.
var pathOpsA = []struct {
	op   string
	call func(ctx context.Context, c *core.Client, path string) error
}{
	{"create", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.Create(ctx, p, nil, core.WithParents())
		return err
	}},
	{"create", func(ctx context.Context, c *core.Client, p string) error {
		_, _, err := c.CreateStat(ctx, p, nil, core.Ephemeral())
		return err
	}},
	{"create", func(ctx context.Context, c *core.Client, p string) error {
		_, _, err := c.CreateAndList(ctx, p, nil, "/")
		return err
	}},
	{"getChildren", func(ctx context.Context, c *core.Client, p string) error {
		_, _, err := c.CreateAndList(ctx, "/fine", nil, p)
		return err
	}},
	{"get", func(ctx context.Context, c *core.Client, p string) error {
		_, _, err := c.Get(ctx, p)
		return err
	}},
	{"get", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.GetData(ctx, p)
		return err
	}},
	{"setData", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.Set(ctx, p, nil, -1)
		return err
	}},
	{"setData", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.SetData(ctx, p, []byte("x"), core.Force())
		return err
	}},
	{"delete", func(ctx context.Context, c *core.Client, p string) error {
		return c.Delete(ctx, p, core.Force())
	}},
	{"deleteAll", func(ctx context.Context, c *core.Client, p string) error {
		return c.DeleteAll(ctx, p)
	}},
	{"exists", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.Exists(ctx, p)
		return err
	}},
	{"exists", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.ExistsStat(ctx, p)
		return err
	}},
	{"getChildren", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.GetChildren(ctx, p)
		return err
	}},
	{"getChildren", func(ctx context.Context, c *core.Client, p string) error {
		_, _, err := c.GetChildrenStat(ctx, p)
		return err
	}},
	{"getACL", func(ctx context.Context, c *core.Client, p string) error {
		_, _, err := c.GetACL(ctx, p)
		return err
	}},
	{"setACL", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.SetACL(ctx, p, core.OpenACLUnsafe)
		return err
	}},
	{"sync", func(ctx context.Context, c *core.Client, p string) error {
		return c.Sync(ctx, p)
	}},
	{"getEphemerals", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.GetEphemerals(ctx, p)
		return err
	}},
	{"getAllChildrenNumber", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.GetAllChildrenNumber(ctx, p)
		return err
	}},
	{"ensurePath", func(ctx context.Context, c *core.Client, p string) error {
		return c.EnsurePath(ctx, p)
	}},
	{"get", func(ctx context.Context, c *core.Client, p string) error {
		_, _, _, err := c.GetW(ctx, p)
		return err
	}},
	{"exists", func(ctx context.Context, c *core.Client, p string) error {
		_, _, err := c.ExistsW(ctx, p)
		return err
	}},
	{"getChildren", func(ctx context.Context, c *core.Client, p string) error {
		_, _, _, err := c.GetChildrenW(ctx, p)
		return err
	}},
	{"addWatch", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.AddWatch(ctx, p, core.WatchPersistentRecursive)
		return err
	}},
	{"removeWatches", func(ctx context.Context, c *core.Client, p string) error {
		return c.RemoveWatches(ctx, p, core.WatchAny)
	}},
	{"removeWatches", func(ctx context.Context, c *core.Client, p string) error {
		return c.RemoveAllWatches(ctx, p)
	}},
	{"checkWatches", func(ctx context.Context, c *core.Client, p string) error {
		return c.CheckWatches(ctx, p, core.WatchAny)
	}},
	{"catchUp", func(ctx context.Context, c *core.Client, p string) error {
		return c.CatchUp(ctx, p)
	}},
	{"multiRead", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.MultiRead(ctx, core.ReadData("/witness"), core.ReadChildren(p))
		return err
	}},
	{"create", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.BeginTransaction().Create(p, nil).Commit(ctx)
		return err
	}},
	{"delete", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.BeginTransaction().Delete(p, -1).Commit(ctx)
		return err
	}},
	{"setData", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.BeginTransaction().SetData(p, nil, -1).Commit(ctx)
		return err
	}},
	{"check", func(ctx context.Context, c *core.Client, p string) error {
		_, err := c.BeginTransaction().CheckVersion(p, -1).Commit(ctx)
		return err
	}},
}

// badInputClientA starts a client that stays quiet between requests (no
// ping within the test), so the server's packet count of its connection
// moves only with requests.
func badInputClientA(t *testing.T) (*core.Client, func() (xid int32, received int)) {
	t.Helper()
	c, srv, _ := sharedA(t, core.WithSessionTimeout(60*time.Second), core.WithReadTimeout(60*time.Second))
	sid := c.Session().ID()
	return c, func() (int32, int) { return core.NextXid(c), receivedA(t, srv, sid) }
}

// stillServesA proves the connection keeps serving other callers: a read
// from another goroutine gets its own, right, reply.
func stillServesA(t *testing.T, ctx context.Context, c *core.Client) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		data []byte
		err  error
	)
	wg.Go(func() { data, err = c.GetData(ctx, "/witness") })
	wg.Wait()
	require.NoError(t, err)
	require.Equal(t, "witness", string(data))
}

// SCENARIOS 14: a bad path fails with ErrInvalidPath, in every operation,
// before anything is sent, and the connection keeps serving others.
func TestBadInputPaths(t *testing.T) {
	c, probe := badInputClientA(t)
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/witness", []byte("witness"))
	require.NoError(t, err)

	for _, bp := range badPathsA {
		t.Run(bp.name, func(t *testing.T) {
			xid, received := probe()
			for _, op := range pathOpsA {
				err := op.call(ctx, c, bp.path)
				require.ErrorIs(t, err, core.ErrInvalidPath, "%s(%q)", op.op, bp.path)
				if bp.path == "" {
					assert.True(t, strings.HasPrefix(err.Error(), op.op+": "), "%q names the operation %s", err, op.op)
					assert.Contains(t, err.Error(), "empty path")
				} else {
					assert.True(t, strings.HasPrefix(err.Error(), op.op+" "), "%q names the operation %s", err, op.op)
					assert.Contains(t, err.Error(), fmt.Sprintf("%q", bp.path), "the error quotes the path")
				}
				require.Equal(t, xid, core.NextXid(c), "%s(%q) queued a request", op.op, bp.path)
			}
			_, got := probe()
			require.Equal(t, received, got, "the server received nothing")
			stillServesA(t, ctx, c)
		})
	}
}

// SCENARIOS 14: every other bad argument of a connected client fails with
// its own error before anything is sent.
func TestBadInputArguments(t *testing.T) {
	c, probe := badInputClientA(t)
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/witness", []byte("witness"))
	require.NoError(t, err)
	_, err = c.Create(ctx, "/exists", nil)
	require.NoError(t, err)

	tooBig := make([]byte, 1<<20+1)
	// The server takes frames up to 0xfffff bytes; with a path and an ACL a
	// 1 MiB - 100 B payload no longer fits in one.
	noRoom := make([]byte, 0xfffff-40)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()

	cases := []struct {
		name string
		want error
		op   string
		call func() error
	}{
		{"create over 1 MiB", core.ErrDataTooLarge, "create /big", func() error {
			_, err := c.Create(ctx, "/big", tooBig)
			return err
		}},
		{"create frame over the server's limit", core.ErrDataTooLarge, "create /big", func() error {
			_, err := c.Create(ctx, "/big", noRoom)
			return err
		}},
		{"create and list over 1 MiB", core.ErrDataTooLarge, "create /big", func() error {
			_, _, err := c.CreateAndList(ctx, "/big", tooBig, "/")
			return err
		}},
		{"create and list frame over the server's limit", core.ErrDataTooLarge, "create /big", func() error {
			_, _, err := c.CreateAndList(ctx, "/big", noRoom, "/")
			return err
		}},
		{"set over 1 MiB", core.ErrDataTooLarge, "setData /exists", func() error {
			_, err := c.Set(ctx, "/exists", tooBig, -1)
			return err
		}},
		{"setData frame over the server's limit", core.ErrDataTooLarge, "setData /exists", func() error {
			_, err := c.SetData(ctx, "/exists", noRoom)
			return err
		}},
		{"transaction create over 1 MiB", core.ErrDataTooLarge, "create /big", func() error {
			_, err := c.BeginTransaction().Create("/big", tooBig).Commit(ctx)
			return err
		}},
		{"transaction setData over 1 MiB", core.ErrDataTooLarge, "setData /exists", func() error {
			_, err := c.BeginTransaction().SetData("/exists", tooBig, -1).Commit(ctx)
			return err
		}},
		{"transaction frame over the server's limit", core.ErrDataTooLarge, "commit", func() error {
			_, err := c.BeginTransaction().SetData("/exists", noRoom[:len(noRoom)/2], -1).SetData("/exists", noRoom[:len(noRoom)/2], -1).Commit(ctx)
			return err
		}},
		{"create the root", core.ErrInvalidPath, "create /", func() error {
			_, err := c.Create(ctx, "/", nil)
			return err
		}},
		{"transaction create with parents", core.ErrInvalidArgument, "create /p/q", func() error {
			_, err := c.BeginTransaction().Create("/p/q", nil, core.WithParents()).Commit(ctx)
			return err
		}},
		{"transaction create with container parents", core.ErrInvalidArgument, "create /p/q", func() error {
			_, err := c.BeginTransaction().Create("/p/q", nil, core.WithContainerParents()).Commit(ctx)
			return err
		}},
		{"create the root sequentially under a chroot", core.ErrInvalidPath, "create /", func() error {
			_, err := c.Create(ctx, "/", nil, core.Sequential())
			return err
		}},
		{"delete the root", core.ErrInvalidPath, "delete /", func() error {
			return c.Delete(ctx, "/")
		}},
		{"delete the root in a transaction", core.ErrInvalidPath, "delete /", func() error {
			_, err := c.BeginTransaction().Delete("/", -1).Commit(ctx)
			return err
		}},
		{"set at a version below -1", core.ErrInvalidArgument, "setData /exists", func() error {
			_, err := c.Set(ctx, "/exists", []byte("x"), -2)
			return err
		}},
		{"setData with a version below -1", core.ErrInvalidArgument, "setData /exists", func() error {
			_, err := c.SetData(ctx, "/exists", []byte("x"), core.WithVersion(-5))
			return err
		}},
		{"delete with a version below -1", core.ErrInvalidArgument, "delete /exists", func() error {
			return c.Delete(ctx, "/exists", core.WithVersion(-2))
		}},
		{"setACL with a version below -1", core.ErrInvalidArgument, "setACL /exists", func() error {
			_, err := c.SetACL(ctx, "/exists", core.ReadACLUnsafe, core.WithVersion(math.MinInt32))
			return err
		}},
		{"transaction check at a version below -1", core.ErrInvalidArgument, "check /exists", func() error {
			_, err := c.BeginTransaction().CheckVersion("/exists", -2).Create("/n", nil).Commit(ctx)
			return err
		}},
		{"transaction delete at a version below -1", core.ErrInvalidArgument, "delete /exists", func() error {
			_, err := c.BeginTransaction().Create("/n", nil).Delete("/exists", -3).Commit(ctx)
			return err
		}},
		{"transaction setData at a version below -1", core.ErrInvalidArgument, "setData /exists", func() error {
			_, err := c.BeginTransaction().SetData("/exists", []byte("x"), -2).Commit(ctx)
			return err
		}},
		{"check watches of no known type", core.ErrInvalidArgument, "checkWatches /exists", func() error {
			return c.CheckWatches(ctx, "/exists", core.WatcherType(9))
		}},
		{"empty ACL", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithACL())
			return err
		}},
		{"empty ACL in setACL", core.ErrInvalidArgument, "setACL /exists", func() error {
			_, err := c.SetACL(ctx, "/exists", nil)
			return err
		}},
		{"empty ACL in ensurePath", core.ErrInvalidArgument, "ensurePath /n", func() error {
			return c.EnsurePath(ctx, "/n", core.WithACL())
		}},
		{"unknown permission bits", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithACL(core.MakeACL("world", "anyone", core.PermAll|1<<5)))
			return err
		}},
		{"negative permissions", core.ErrInvalidArgument, "setACL /exists", func() error {
			_, err := c.SetACL(ctx, "/exists", []core.ACL{core.MakeACL("world", "anyone", -1)})
			return err
		}},
		{"ACL without a scheme", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithACL(core.MakeACL("", "anyone", core.PermRead)))
			return err
		}},
		// The server's id rules for the schemes it knows (PrepRequestProcessor
		// fixupACL and the providers' isValid).
		{"world ACL for someone", core.ErrInvalidACL, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithACL(core.MakeACL("world", "bob", core.PermRead)))
			return err
		}},
		{"ip ACL with a bad address", core.ErrInvalidACL, "setACL /exists", func() error {
			_, err := c.SetACL(ctx, "/exists", []core.ACL{core.MakeACL("ip", "10.0.0.300", core.PermAll)})
			return err
		}},
		{"ip ACL with a bad mask", core.ErrInvalidACL, "ensurePath /n", func() error {
			return c.EnsurePath(ctx, "/n", core.WithACL(core.MakeACL("ip", "10.0.0.0/33", core.PermAll)))
		}},
		{"digest ACL without a hash", core.ErrInvalidACL, "create /n", func() error {
			_, err := c.BeginTransaction().Create("/n", nil, core.WithACL(core.MakeACL("digest", "alice:", core.PermAll))).Commit(ctx)
			return err
		}},
		{"digest ACL with a colon too many", core.ErrInvalidArgument, "create /p/n", func() error {
			_, err := c.Create(ctx, "/p/n", nil, core.WithParents(), core.WithParentACL(core.MakeACL("digest", "a:b:c", core.PermAll)))
			return err
		}},
		{"ephemeral container", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.Container(), core.Ephemeral())
			return err
		}},
		{"sequential container", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.Container(), core.Sequential())
			return err
		}},
		{"container with a TTL", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.Container(), core.WithTTL(time.Second))
			return err
		}},
		{"ephemeral with a TTL", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.Ephemeral(), core.WithTTL(time.Second))
			return err
		}},
		{"zero TTL", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithTTL(0))
			return err
		}},
		{"ephemeral with a zero TTL", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.Ephemeral(), core.WithTTL(0))
			return err
		}},
		{"negative TTL", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithTTL(-time.Second))
			return err
		}},
		{"TTL under a millisecond", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithTTL(time.Microsecond))
			return err
		}},
		{"TTL over 40 bits of milliseconds", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithTTL(time.Duration(1<<40)*time.Millisecond))
			return err
		}},
		{"parent ACL without parents", core.ErrInvalidArgument, "create /n", func() error {
			_, err := c.Create(ctx, "/n", nil, core.WithParentACL(core.OpenACLUnsafe...))
			return err
		}},
		{"empty parent ACL", core.ErrInvalidArgument, "create /p/n", func() error {
			_, err := c.Create(ctx, "/p/n", nil, core.WithParents(), core.WithParentACL())
			return err
		}},
		{"ephemeral in ensurePath", core.ErrInvalidArgument, "ensurePath /n", func() error {
			return c.EnsurePath(ctx, "/n", core.Ephemeral())
		}},
		{"sequential in ensurePath", core.ErrInvalidArgument, "ensurePath /n", func() error {
			return c.EnsurePath(ctx, "/n", core.Sequential())
		}},
		{"TTL in ensurePath", core.ErrInvalidArgument, "ensurePath /n", func() error {
			return c.EnsurePath(ctx, "/n", core.WithTTL(time.Minute))
		}},
		{"protected in ensurePath", core.ErrInvalidArgument, "ensurePath /n", func() error {
			return c.EnsurePath(ctx, "/n", core.Protected())
		}},
		{"auth without a scheme", core.ErrInvalidArgument, "addAuth", func() error {
			return c.AddAuth(ctx, "", []byte("user:password"))
		}},
		{"cancelled ctx: get", context.Canceled, "get /exists", func() error {
			_, _, err := c.Get(cancelled, "/exists")
			return err
		}},
		{"cancelled ctx: create", context.Canceled, "create /n", func() error {
			_, err := c.Create(cancelled, "/n", nil)
			return err
		}},
		{"cancelled ctx: create and list", context.Canceled, "create /n", func() error {
			_, _, err := c.CreateAndList(cancelled, "/n", nil, "/")
			return err
		}},
		{"cancelled ctx: setData", context.Canceled, "setData /exists", func() error {
			_, err := c.SetData(cancelled, "/exists", nil)
			return err
		}},
		{"cancelled ctx: delete", context.Canceled, "delete /exists", func() error {
			return c.Delete(cancelled, "/exists")
		}},
		{"cancelled ctx: addAuth", context.Canceled, "addAuth", func() error {
			return c.AddAuth(cancelled, "digest", []byte("user:password"))
		}},
		{"expired ctx: getChildren", context.DeadlineExceeded, "getChildren /", func() error {
			_, err := c.GetChildren(expired, "/")
			return err
		}},
		{"expired ctx: sync", context.DeadlineExceeded, "sync /", func() error {
			return c.Sync(expired, "/")
		}},
		{"expired ctx: whoAmI", context.DeadlineExceeded, "whoAmI", func() error {
			_, err := c.WhoAmI(expired)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			xid, received := probe()
			err := tc.call()
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.op, "the error names the operation and the path")
			require.Equal(t, xid, core.NextXid(c), "a request was queued")
			_, got := probe()
			require.Equal(t, received, got, "the server received nothing")
			stillServesA(t, ctx, c)
		})
	}

	// Nothing was created and the node that was to be changed is intact.
	children, err := c.GetChildren(ctx, "/")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"witness", "exists"}, children)
	data, st, err := c.Get(ctx, "/exists")
	require.NoError(t, err)
	assert.Empty(t, data)
	assert.Zero(t, st.Version)
	acl, _, err := c.GetACL(ctx, "/exists")
	require.NoError(t, err)
	assert.Equal(t, core.OpenACLUnsafe, acl)
}

// The largest frame the server takes still goes through: the limit is not
// stricter than the server's.
func TestBadInputLargestRequestFits(t *testing.T) {
	c, _, root := sharedA(t)
	ctx := ctxA(t)
	path := "/big"
	// A create2 frame: header 8, path 4+len, data 4+len, one world:anyone
	// ACL entry 27, flags 4.
	fits := make([]byte, 0xfffff-47-len(root+path))
	_, err := c.Create(ctx, path, fits)
	require.NoError(t, err)
	st, err := c.ExistsStat(ctx, path)
	require.NoError(t, err)
	assert.Equal(t, int32(len(fits)), st.DataLength)

	_, err = c.Create(ctx, path+"2", fits)
	require.ErrorIs(t, err, core.ErrDataTooLarge, "one byte more of path is one byte too many")

	// A setData frame is 27 bytes smaller than a create frame.
	st, err = c.SetData(ctx, path, make([]byte, len(fits)+27))
	require.NoError(t, err)
	assert.Equal(t, int32(len(fits)+27), st.DataLength)
	_, err = c.SetData(ctx, path, make([]byte, len(fits)+28))
	require.ErrorIs(t, err, core.ErrDataTooLarge)
}

// SCENARIOS 14: bad options and malformed server lists fail in NewClient,
// which does no I/O anyway.
func TestBadInputNewClient(t *testing.T) {
	cases := []struct {
		name    string
		servers string
		opts    []core.Option
		want    error
	}{
		{"empty server list", "", nil, core.ErrNoServers},
		{"blank server list", "  \t ", nil, core.ErrNoServers},
		{"empty entry", "127.0.0.1:2181,,127.0.0.1:2182", nil, core.ErrInvalidArgument},
		{"leading comma", ",127.0.0.1:2181", nil, core.ErrInvalidArgument},
		{"trailing comma", "127.0.0.1:2181,", nil, core.ErrInvalidArgument},
		{"port not a number", "127.0.0.1:zk", nil, core.ErrInvalidArgument},
		{"port zero", "127.0.0.1:0", nil, core.ErrInvalidArgument},
		{"negative port", "127.0.0.1:-1", nil, core.ErrInvalidArgument},
		{"port too large", "127.0.0.1:65536", nil, core.ErrInvalidArgument},
		{"empty port", "127.0.0.1:", nil, core.ErrInvalidArgument},
		{"empty host", ":2181", nil, core.ErrInvalidArgument},
		{"host with a space", "zk host:2181", nil, core.ErrInvalidArgument},
		{"unbracketed IPv6", "::1", nil, core.ErrInvalidArgument},
		{"unbracketed IPv6 with port", "fe80::1:2181", nil, core.ErrInvalidArgument},
		{"unclosed bracket", "[::1:2181", nil, core.ErrInvalidArgument},
		{"junk after bracket", "[::1]2181", nil, core.ErrInvalidArgument},
		{"bracketed non-address", "[zk1]:2181", nil, core.ErrInvalidArgument},
		{"bad chroot suffix", "127.0.0.1:2181/a//b", nil, core.ErrInvalidArgument},
		{"chroot suffix with a trailing slash", "127.0.0.1:2181/a/", nil, core.ErrInvalidArgument},
		{"negative retries", "127.0.0.1", []core.Option{core.WithRetryPolicy(core.RetryNTimes(-1))}, core.ErrInvalidArgument},
		{"zero backoff base", "127.0.0.1", []core.Option{core.WithRetryPolicy(core.RetryExponentialBackoff(0, time.Second))}, core.ErrInvalidArgument},
		{"backoff maximum under its base", "127.0.0.1", []core.Option{core.WithRetryPolicy(core.RetryExponentialBackoff(time.Second, time.Millisecond))}, core.ErrInvalidArgument},
		{"zero retry budget", "127.0.0.1", []core.Option{core.WithRetryPolicy(core.RetryUntilElapsed(0))}, core.ErrInvalidArgument},
		{"negative retry budget", "127.0.0.1", []core.Option{core.WithRetryPolicy(core.RetryUntilElapsed(-time.Second))}, core.ErrInvalidArgument},
		{"negative session timeout", "127.0.0.1", []core.Option{core.WithSessionTimeout(-time.Second)}, core.ErrInvalidArgument},
		{"zero session timeout", "127.0.0.1", []core.Option{core.WithSessionTimeout(0)}, core.ErrInvalidArgument},
		{"negative read timeout", "127.0.0.1", []core.Option{core.WithReadTimeout(-time.Second)}, core.ErrInvalidArgument},
		{"zero read timeout", "127.0.0.1", []core.Option{core.WithReadTimeout(0)}, core.ErrInvalidArgument},
		{"read timeout of nanoseconds", "127.0.0.1", []core.Option{core.WithReadTimeout(5 * time.Nanosecond)}, core.ErrInvalidArgument},
		{"read timeout under a millisecond", "127.0.0.1", []core.Option{core.WithReadTimeout(time.Millisecond - 1)}, core.ErrInvalidArgument},
		{"session timeout under a millisecond", "127.0.0.1", []core.Option{core.WithSessionTimeout(time.Millisecond - 1)}, core.ErrInvalidArgument},
		{"session timeout over 2^31-1 milliseconds", "127.0.0.1", []core.Option{core.WithSessionTimeout((math.MaxInt32 + 1) * time.Millisecond)}, core.ErrInvalidArgument},
		{"negative connect timeout", "127.0.0.1", []core.Option{core.WithConnectTimeout(-time.Second)}, core.ErrInvalidArgument},
		{"zero max data size", "127.0.0.1", []core.Option{core.WithMaxDataSize(0)}, core.ErrInvalidArgument},
		{"negative stat cache size", "127.0.0.1", []core.Option{core.WithStatCacheSize(-1)}, core.ErrInvalidArgument},
		{"zero watcher buffer", "127.0.0.1", []core.Option{core.WithWatcherBuffer(0)}, core.ErrInvalidArgument},
		{"nil retry policy", "127.0.0.1", []core.Option{core.WithRetryPolicy(nil)}, core.ErrInvalidArgument},
		{"auth without a scheme", "127.0.0.1", []core.Option{core.WithAuth("", []byte("x"))}, core.ErrInvalidArgument},
		{"empty default ACL", "127.0.0.1", []core.Option{core.WithDefaultACL(nil)}, core.ErrInvalidArgument},
		{"bad default ACL perms", "127.0.0.1", []core.Option{core.WithDefaultACL([]core.ACL{core.MakeACL("world", "anyone", 1<<7)})}, core.ErrInvalidArgument},
		{"relative chroot", "127.0.0.1", []core.Option{core.WithChroot("zk")}, core.ErrInvalidPath},
		{"chroot with a dot-dot", "127.0.0.1", []core.Option{core.WithChroot("/a/..")}, core.ErrInvalidPath},
		{"the first error wins", "127.0.0.1", []core.Option{core.WithSessionTimeout(-1), core.WithChroot("zk")}, core.ErrInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := core.NewClient(tc.servers, tc.opts...)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, c)
			assert.True(t, strings.HasPrefix(err.Error(), "NewClient: "), "%q names NewClient", err)
		})
	}
}

// SCENARIOS 14: a client used before Start or after Close says so, for
// every operation.
func TestBadInputClientState(t *testing.T) {
	srv := sharedServerA(t)
	ctx := ctxA(t)

	calls := []struct {
		op   string
		call func(c *core.Client) error
	}{
		{"create", func(c *core.Client) error { _, err := c.Create(ctx, "/n", nil); return err }},
		{"create", func(c *core.Client) error { _, _, err := c.CreateAndList(ctx, "/n", nil, "/"); return err }},
		{"get", func(c *core.Client) error { _, _, err := c.Get(ctx, "/n"); return err }},
		{"setData", func(c *core.Client) error { _, err := c.SetData(ctx, "/n", nil); return err }},
		{"delete", func(c *core.Client) error { return c.Delete(ctx, "/n") }},
		{"exists", func(c *core.Client) error { _, err := c.Exists(ctx, "/n"); return err }},
		{"getChildren", func(c *core.Client) error { _, err := c.GetChildren(ctx, "/"); return err }},
		{"getACL", func(c *core.Client) error { _, _, err := c.GetACL(ctx, "/"); return err }},
		{"setACL", func(c *core.Client) error { _, err := c.SetACL(ctx, "/n", core.OpenACLUnsafe); return err }},
		{"sync", func(c *core.Client) error { return c.Sync(ctx, "/") }},
		{"getEphemerals", func(c *core.Client) error { _, err := c.GetEphemerals(ctx, "/"); return err }},
		{"getAllChildrenNumber", func(c *core.Client) error { _, err := c.GetAllChildrenNumber(ctx, "/"); return err }},
		{"whoAmI", func(c *core.Client) error { _, err := c.WhoAmI(ctx); return err }},
		{"addAuth", func(c *core.Client) error { return c.AddAuth(ctx, "digest", []byte("u:p")) }},
		{"ensurePath", func(c *core.Client) error { return c.EnsurePath(ctx, "/a/b") }},
		{"get", func(c *core.Client) error { _, _, _, err := c.GetW(ctx, "/n"); return err }},
		{"exists", func(c *core.Client) error { _, _, err := c.ExistsW(ctx, "/n"); return err }},
		{"getChildren", func(c *core.Client) error { _, _, _, err := c.GetChildrenW(ctx, "/"); return err }},
		{"addWatch", func(c *core.Client) error { _, err := c.AddWatch(ctx, "/", core.WatchPersistent); return err }},
		{"removeWatches", func(c *core.Client) error { return c.RemoveAllWatches(ctx, "/") }},
		{"checkWatches", func(c *core.Client) error { return c.CheckWatches(ctx, "/", core.WatchAny) }},
		{"catchUp", func(c *core.Client) error { return c.CatchUp(ctx, "/") }},
		{"multiRead", func(c *core.Client) error { _, err := c.MultiRead(ctx, core.ReadData("/")); return err }},
		// DeleteAll reports the step that failed.
		{"getChildren", func(c *core.Client) error { return c.DeleteAll(ctx, "/a") }},
		{"commit", func(c *core.Client) error {
			_, err := c.BeginTransaction().Create("/n", nil).Commit(ctx)
			return err
		}},
	}

	t.Run("before Start", func(t *testing.T) {
		c, err := core.NewClient(srv)
		require.NoError(t, err)
		defer c.Close()
		for _, tc := range calls {
			err := tc.call(c)
			require.ErrorIs(t, err, core.ErrNotStarted, tc.op)
			assert.True(t, strings.HasPrefix(err.Error(), tc.op), "%q names %s", err, tc.op)
		}
		_, err = c.WaitSession(ctx)
		require.ErrorIs(t, err, core.ErrNotStarted)
		assert.True(t, strings.HasPrefix(err.Error(), "waitSession: "), "%q names waitSession", err)
		assert.Nil(t, c.Session())
		assert.Equal(t, core.StateConnecting, c.State())
	})
	t.Run("after Close", func(t *testing.T) {
		c := startA(t, srv)
		require.NoError(t, c.Close())
		for _, tc := range calls {
			err := tc.call(c)
			require.ErrorIs(t, err, core.ErrClosed, tc.op)
			assert.True(t, strings.HasPrefix(err.Error(), tc.op), "%q names %s", err, tc.op)
		}
		require.ErrorIs(t, c.Start(ctx), core.ErrClosed)
		_, err := c.WaitSession(ctx)
		require.ErrorIs(t, err, core.ErrClosed)
		assert.True(t, strings.HasPrefix(err.Error(), "waitSession: "), "%q names waitSession", err)
	})
	t.Run("WaitSession while disconnected", func(t *testing.T) {
		proxy := zktest.StartProxy(t, zktest.Shared(t).Addr())
		c := startA(t, proxy.Addr())
		proxy.Refuse(true)
		proxy.CutAll()
		require.Eventually(t, func() bool { return c.State() != core.StateConnected }, testTimeoutA, 10*time.Millisecond)
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := c.WaitSession(short)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.True(t, strings.HasPrefix(err.Error(), "waitSession: "), "%q names waitSession", err)
	})
	t.Run("after Close without Start", func(t *testing.T) {
		c, err := core.NewClient(srv)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		for _, tc := range calls {
			require.ErrorIs(t, tc.call(c), core.ErrClosed, tc.op)
		}
		require.ErrorIs(t, c.Start(ctx), core.ErrClosed)
	})
	t.Run("Start twice", func(t *testing.T) {
		c := startA(t, srv)
		require.ErrorIs(t, c.Start(ctx), core.ErrInvalidClientState)
		ok, err := c.Exists(ctx, "/")
		require.NoError(t, err)
		assert.True(t, ok, "the client keeps working")
	})
}

// sharedServerA returns the shared server's connection string.
func sharedServerA(t *testing.T) string {
	t.Helper()
	return zktest.Shared(t).ConnString()
}
