package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// addAuthSecretA makes a node only the digest user late:pw may read, and
// returns the chroot it is in.
func addAuthSecretA(t *testing.T, srv *zktest.Server) string {
	t.Helper()
	creds := core.WithAuth("digest", []byte("late:pw"))
	root := chrootA(t, srv, creds)
	owner := startA(t, srv.ConnString(), core.WithChroot(root), creds)
	_, err := owner.Create(ctxA(t), "/secret", []byte("s"), core.WithACL(core.DigestACL("late", "pw", core.PermAll)...))
	require.NoError(t, err)
	return root
}

// AddAuth tied (WithSession) to a session that has already ended fails at
// once, as WithSession promises, and gives its credentials to nobody: not
// to the client's current session, nor to later ones.
func TestAddAuthTiedToEndedSession(t *testing.T) {
	srv := zktest.Shared(t)
	root := addAuthSecretA(t, srv)
	ctx := ctxA(t)
	c := startA(t, srv.ConnString(), core.WithChroot(root))

	old := c.Session()
	require.NoError(t, zktest.ExpireSession(ctx, srv.Addr(), old.ID(), old.Password()))
	require.Eventually(t, func() bool {
		s := c.Session()
		return old.Err() != nil && s != nil && s != old && c.State() == core.StateConnected
	}, testTimeoutA, 10*time.Millisecond)

	err := c.AddAuth(core.WithSession(ctx, old), "digest", []byte("late:pw"))
	require.ErrorIs(t, err, core.ErrSessionExpired)
	_, _, err = c.Get(ctx, "/secret")
	require.ErrorIs(t, err, core.ErrNoAuth, "the failed AddAuth authenticated the new session")
}

// An AddAuth whose ctx ends before the server confirms it fails, and its
// credentials do not go out on later connections: a call that failed
// leaves nothing behind but what the connection at hand may hold.
func TestAddAuthFailedLeavesNoCredentials(t *testing.T) {
	srv := zktest.Shared(t)
	root := addAuthSecretA(t, srv)
	ctx := ctxA(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	c := startA(t, proxy.Addr(), core.WithChroot(root))

	proxy.BlackHole(true) // the connection stays up; nothing gets through
	actx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err := c.AddAuth(actx, "digest", []byte("late:pw"))
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	proxy.CutAll()
	proxy.BlackHole(false)

	_, err = c.WaitSession(ctx)
	require.NoError(t, err)
	_, _, err = c.Get(ctx, "/secret")
	require.ErrorIs(t, err, core.ErrNoAuth, "the failed AddAuth's credentials went out on the new connection")

	// Added again, they hold, on this connection and the next.
	require.NoError(t, c.AddAuth(ctx, "digest", []byte("late:pw")))
	data, _, err := c.Get(ctx, "/secret")
	require.NoError(t, err)
	require.Equal(t, []byte("s"), data)
	proxy.CutAll()
	require.Eventually(t, func() bool {
		data, _, err := c.Get(ctx, "/secret")
		return err == nil && string(data) == "s"
	}, testTimeoutA, 10*time.Millisecond)
}
