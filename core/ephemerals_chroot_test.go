package core_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestGetEphemeralsStaysInChroot: the server matches GetEphemerals' prefix
// as a plain string, so for a client chrooted at /t-X it would also list
// the session's ephemeral nodes under /t-Xle. The client lists only those
// in its chroot, relative to it.
func TestGetEphemeralsStaysInChroot(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	sibling := root + "le"
	cleanupTreeA(t, srv, sibling)
	proxy := zktest.StartProxy(t, srv.Addr())
	ctx := ctxA(t)

	// The session makes its ephemeral nodes through a client without a
	// chroot, which reaches the server through the proxy...
	maker := startA(t, proxy.Addr())
	for _, p := range []string{root, sibling} {
		_, err := maker.Create(ctx, p, nil)
		require.NoError(t, err)
		_, err = maker.Create(ctx, p+"/e", nil, core.Ephemeral())
		require.NoError(t, err)
	}
	sess := maker.Session()
	// ...and is then cut off for good, so it cannot take the session back.
	proxy.Refuse(true)
	proxy.CutAll()

	c, err := core.NewClient(srv.ConnString(), core.WithChroot(root))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	core.ResumeSession(c, sess)
	require.NoError(t, c.Start(ctx))
	require.Equal(t, sess.ID(), c.Session().ID(), "the chrooted client has the session")

	eph, err := c.GetEphemerals(ctx, "/")
	require.NoError(t, err)
	require.Equal(t, []string{"/e"}, eph)
}
