package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

var credsA = []byte("user:password")

// The digest of "user:password", as ZooKeeper's DigestAuthenticationProvider
// computes it: user:base64(sha1("user:password")).
const digestIDA = "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="

func TestACLDigestID(t *testing.T) {
	assert.Equal(t, digestIDA, core.DigestID("user", "password"))
	assert.Equal(t, []core.ACL{{Perms: core.PermRead | core.PermWrite, Scheme: "digest", ID: digestIDA}},
		core.DigestACL("user", "password", core.PermRead|core.PermWrite))
	assert.NotEqual(t, core.DigestID("user", "password"), core.DigestID("user", "Password"))
}

// SCENARIOS 10: a node with a digest ACL refuses other sessions with
// ErrNoAuth and admits the right one, whether its credentials came with
// WithAuth or AddAuth.
func TestACLDigestAuth(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv, core.WithAuth("digest", credsA))
	ctx := ctxA(t)
	owner := startA(t, srv.ConnString(), core.WithChroot(root), core.WithAuth("digest", credsA))

	_, err := owner.Create(ctx, "/secret", []byte("s"), core.WithACL(core.DigestACL("user", "password", core.PermAll)...))
	require.NoError(t, err)
	// The server computes the id of CreatorAllACL from the session's
	// credentials: it is the one DigestID computes.
	_, err = owner.Create(ctx, "/creator", []byte("c"), core.WithACL(core.CreatorAllACL...))
	require.NoError(t, err)
	for _, p := range []string{"/secret", "/creator"} {
		acl, _, err := owner.GetACL(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, []core.ACL{{Perms: core.PermAll, Scheme: "digest", ID: digestIDA}}, acl, p)
	}

	anonymous := startA(t, srv.ConnString(), core.WithChroot(root))
	wrong := startA(t, srv.ConnString(), core.WithChroot(root), core.WithAuth("digest", []byte("user:wrong")))
	for name, c := range map[string]*core.Client{"anonymous": anonymous, "wrong password": wrong} {
		t.Run(name, func(t *testing.T) {
			for _, p := range []string{"/secret", "/creator"} {
				_, _, err := c.Get(ctx, p)
				requireErrA(t, err, core.ErrNoAuth, "get", p)
				_, err = c.SetData(ctx, p, []byte("x"), core.Force())
				requireErrA(t, err, core.ErrNoAuth, "setData", p)
				_, err = c.GetChildren(ctx, p)
				requireErrA(t, err, core.ErrNoAuth, "getChildren", p)
				_, err = c.Create(ctx, p+"/child", nil)
				requireErrA(t, err, core.ErrNoAuth, "create", p+"/child")
				_, err = c.SetACL(ctx, p, core.OpenACLUnsafe, core.Force())
				requireErrA(t, err, core.ErrNoAuth, "setACL", p)
				ok, err := c.Exists(ctx, p)
				require.NoError(t, err, "exists needs no permission")
				assert.True(t, ok)
			}
		})
	}

	late := startA(t, srv.ConnString(), core.WithChroot(root))
	_, _, err = late.Get(ctx, "/secret")
	require.ErrorIs(t, err, core.ErrNoAuth)
	require.NoError(t, late.AddAuth(ctx, "digest", credsA))
	for name, c := range map[string]*core.Client{"WithAuth": owner, "AddAuth": late} {
		t.Run(name, func(t *testing.T) {
			for _, p := range []string{"/secret", "/creator"} {
				_, err := c.SetData(ctx, p, []byte(name), core.Force())
				require.NoError(t, err)
				data, err := c.GetData(ctx, p)
				require.NoError(t, err)
				assert.Equal(t, name, string(data))
				_, err = c.Create(ctx, p+"/child", nil)
				require.NoError(t, err)
				require.NoError(t, c.Delete(ctx, p+"/child"))
			}
		})
	}
}

// SCENARIOS 10: credentials are sent again on every new connection of the
// session, those given with WithAuth and those added with AddAuth alike.
func TestACLAuthResentAfterReconnect(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootA(t, srv, core.WithAuth("digest", credsA))
	ctx := ctxA(t)

	withOpt := startA(t, proxy.Addr(), core.WithChroot(root), core.WithAuth("digest", credsA))
	added := startA(t, proxy.Addr(), core.WithChroot(root))
	require.NoError(t, added.AddAuth(ctx, "digest", credsA))
	anonymous := startA(t, proxy.Addr(), core.WithChroot(root))
	_, err := withOpt.Create(ctx, "/secret", []byte("s"), core.WithACL(core.DigestACL("user", "password", core.PermAll)...))
	require.NoError(t, err)

	clients := map[string]*core.Client{"WithAuth": withOpt, "AddAuth": added, "anonymous": anonymous}
	sessions := map[string]int64{}
	reconnected := map[string]<-chan struct{}{}
	for name, c := range clients {
		sessions[name] = c.Session().ID()
		reconnected[name] = reconnectedA(t, c)
	}
	proxy.CutAll()
	for name, c := range clients {
		select {
		case <-reconnected[name]:
		case <-ctx.Done():
			t.Fatalf("%s did not reconnect", name)
		}
		assert.Equal(t, sessions[name], c.Session().ID(), "%s kept its session", name)
	}

	for _, name := range []string{"WithAuth", "AddAuth"} {
		data, err := clients[name].GetData(ctx, "/secret")
		require.NoError(t, err, "%s is still authenticated on its new connection", name)
		assert.Equal(t, "s", string(data))
	}
	_, err = anonymous.GetData(ctx, "/secret")
	requireErrA(t, err, core.ErrNoAuth, "get", "/secret")
}

// reconnectedA returns a channel closed once c has been suspended and then
// connected again.
func reconnectedA(t *testing.T, c *core.Client) <-chan struct{} {
	done := make(chan struct{})
	suspended := false
	closed := false
	remove := c.AddStateListener(func(s core.State) {
		switch {
		case s == core.StateSuspended:
			suspended = true
		case s == core.StateConnected && suspended && !closed:
			closed = true
			close(done)
		}
	})
	t.Cleanup(remove)
	return done
}

func TestACLPredefined(t *testing.T) {
	assert.Equal(t, core.Perm(1), core.PermRead)
	assert.Equal(t, core.Perm(2), core.PermWrite)
	assert.Equal(t, core.Perm(4), core.PermCreate)
	assert.Equal(t, core.Perm(8), core.PermDelete)
	assert.Equal(t, core.Perm(16), core.PermAdmin)
	assert.Equal(t, core.PermRead|core.PermWrite|core.PermCreate|core.PermDelete|core.PermAdmin, core.PermAll)
	assert.Equal(t, []core.ACL{{Perms: core.PermAll, Scheme: "world", ID: "anyone"}}, core.OpenACLUnsafe)
	assert.Equal(t, []core.ACL{{Perms: core.PermRead, Scheme: "world", ID: "anyone"}}, core.ReadACLUnsafe)
	assert.Equal(t, []core.ACL{{Perms: core.PermAll, Scheme: "auth", ID: ""}}, core.CreatorAllACL)
	assert.Equal(t, []core.ACL{{Perms: core.PermRead | core.PermCreate, Scheme: "world", ID: "anyone"}}, core.WorldACL(core.PermRead|core.PermCreate))
	assert.Equal(t, core.ACL{Perms: core.PermAdmin, Scheme: "ip", ID: "10.0.0.0/8"}, core.MakeACL("ip", "10.0.0.0/8", core.PermAdmin))

	c, srv, root := sharedA(t)
	other := startA(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxA(t)

	t.Run("read only", func(t *testing.T) {
		_, err := c.Create(ctx, "/ro", []byte("r"), core.WithACL(core.ReadACLUnsafe...))
		require.NoError(t, err)
		data, err := other.GetData(ctx, "/ro")
		require.NoError(t, err)
		assert.Equal(t, "r", string(data))
		_, err = other.SetData(ctx, "/ro", nil, core.Force())
		requireErrA(t, err, core.ErrNoAuth, "setData", "/ro")
		_, err = other.Create(ctx, "/ro/child", nil)
		requireErrA(t, err, core.ErrNoAuth, "create", "/ro/child")
		_, err = other.SetACL(ctx, "/ro", core.OpenACLUnsafe, core.Force())
		requireErrA(t, err, core.ErrNoAuth, "setACL", "/ro")
		acl, _, err := other.GetACL(ctx, "/ro")
		require.NoError(t, err)
		assert.Equal(t, core.ReadACLUnsafe, acl)
	})
	t.Run("creator without credentials", func(t *testing.T) {
		_, err := c.Create(ctx, "/creator", nil, core.WithACL(core.CreatorAllACL...))
		requireErrA(t, err, core.ErrInvalidACL, "create", "/creator")
	})
	t.Run("read and create", func(t *testing.T) {
		_, err := c.Create(ctx, "/rc", nil, core.WithACL(core.WorldACL(core.PermRead|core.PermCreate|core.PermAdmin)...))
		require.NoError(t, err)
		_, err = other.Create(ctx, "/rc/child", nil)
		require.NoError(t, err)
		err = other.Delete(ctx, "/rc/child")
		requireErrA(t, err, core.ErrNoAuth, "delete", "/rc/child")
		_, err = other.SetData(ctx, "/rc", []byte("x"), core.Force())
		requireErrA(t, err, core.ErrNoAuth, "setData", "/rc")
		// Admin may change the ACL, and then delete.
		_, err = other.SetACL(ctx, "/rc", core.OpenACLUnsafe)
		require.NoError(t, err)
		require.NoError(t, other.Delete(ctx, "/rc/child"))
	})
	t.Run("ip", func(t *testing.T) {
		_, err := c.Create(ctx, "/local", []byte("l"), core.WithACL(core.MakeACL("ip", "127.0.0.1", core.PermAll)))
		require.NoError(t, err)
		_, err = c.Create(ctx, "/remote", []byte("r"), core.WithACL(core.MakeACL("ip", "10.1.2.3", core.PermAll)))
		require.NoError(t, err)
		data, err := other.GetData(ctx, "/local")
		require.NoError(t, err, "the test's clients connect from 127.0.0.1")
		assert.Equal(t, "l", string(data))
		_, err = other.GetData(ctx, "/remote")
		requireErrA(t, err, core.ErrNoAuth, "get", "/remote")
		// Deleting needs rights on the parent only.
		require.NoError(t, other.Delete(ctx, "/remote"))
	})
	t.Run("several entries", func(t *testing.T) {
		acl := append(core.WorldACL(core.PermRead), core.DigestACL("user", "password", core.PermAll)...)
		_, err := c.Create(ctx, "/mixed", []byte("m"), core.WithACL(acl...))
		require.NoError(t, err)
		// The server shows digest ids in full only to a session with the
		// admin permission.
		got, _, err := other.GetACL(ctx, "/mixed")
		require.NoError(t, err)
		assert.Equal(t, append(core.WorldACL(core.PermRead), core.MakeACL("digest", "user:x", core.PermAll)), got)
		_, err = other.GetData(ctx, "/mixed")
		require.NoError(t, err)
		_, err = other.SetData(ctx, "/mixed", nil, core.Force())
		require.ErrorIs(t, err, core.ErrNoAuth)
		require.NoError(t, other.AddAuth(ctx, "digest", credsA))
		got, _, err = other.GetACL(ctx, "/mixed")
		require.NoError(t, err)
		assert.Equal(t, acl, got)
		_, err = other.SetData(ctx, "/mixed", nil, core.Force())
		require.NoError(t, err)
	})
	t.Run("default ACL", func(t *testing.T) {
		ro := startA(t, srv.ConnString(), core.WithChroot(root), core.WithDefaultACL(core.ReadACLUnsafe))
		_, err := ro.Create(ctx, "/by-default", nil)
		require.NoError(t, err)
		acl, _, err := other.GetACL(ctx, "/by-default")
		require.NoError(t, err)
		assert.Equal(t, core.ReadACLUnsafe, acl)
	})
	t.Run("default ACL kept as given", func(t *testing.T) {
		given := []core.ACL{core.ReadACLUnsafe[0]}
		ro := startA(t, srv.ConnString(), core.WithChroot(root), core.WithDefaultACL(given))
		given[0] = core.OpenACLUnsafe[0] // changing the caller's slice changes nothing
		_, err := ro.Create(ctx, "/by-default-kept", nil)
		require.NoError(t, err)
		acl, _, err := other.GetACL(ctx, "/by-default-kept")
		require.NoError(t, err)
		assert.Equal(t, core.ReadACLUnsafe, acl)
	})
}

// The server refusing credentials is final: AddAuth fails with
// ErrAuthFailed and the client ends in StateAuthFailed. The session, which
// the client will never use again, ends at once, and its watches with it.
func TestACLAuthRefused(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)
	sess := c.Session()
	bound, cancel := sess.Bind(ctx)
	defer cancel()
	_, _, events, err := c.GetW(ctx, "/")
	require.NoError(t, err)
	watcher, err := c.AddWatch(ctx, "/", core.WatchPersistent)
	require.NoError(t, err)

	err = c.AddAuth(ctx, "no-such-scheme", []byte("x"))
	require.ErrorIs(t, err, core.ErrAuthFailed)
	assert.Contains(t, err.Error(), "addAuth")
	assert.Equal(t, core.StateAuthFailed, c.State())
	_, _, err = c.Get(ctx, "/")
	require.ErrorIs(t, err, core.ErrAuthFailed)
	require.Never(t, func() bool { return c.State() != core.StateAuthFailed }, 200*time.Millisecond, 20*time.Millisecond,
		"the client does not reconnect with refused credentials")

	select {
	case <-sess.Done():
	default:
		t.Fatal("the session lives on after the authentication failure")
	}
	require.ErrorIs(t, sess.Err(), core.ErrSessionExpired)
	require.ErrorIs(t, sess.Err(), core.ErrAuthFailed)
	require.ErrorIs(t, context.Cause(bound), core.ErrAuthFailed)
	for _, ch := range []<-chan core.Event{events, watcher.Events()} {
		ev := recvB(t, ch)
		require.Equal(t, core.EventNotWatching, ev.Type, "%+v", ev)
		require.ErrorIs(t, ev.Err, core.ErrAuthFailed)
	}
}

// Start with credentials the server refuses fails with ErrAuthFailed, with
// a chroot to create or without one, and leaves the client closed.
func TestACLStartWithRefusedAuth(t *testing.T) {
	srv := zktest.Shared(t)
	for _, chroot := range []string{"", zktest.UniquePath(t)} {
		for _, policy := range []*core.RetryPolicy{core.RetryForever(), core.NoRetry()} {
			opts := []core.Option{core.WithAuth("no-such-scheme", []byte("x")), core.WithRetryPolicy(policy)}
			if chroot != "" {
				opts = append(opts, core.WithChroot(chroot))
			}
			c := newClientB(t, srv.ConnString(), opts...)
			err := c.Start(ctxA(t))
			require.ErrorIs(t, err, core.ErrAuthFailed, "chroot %q", chroot)
			require.Equal(t, core.StateClosed, c.State(), "chroot %q", chroot)
		}
	}
}
