package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// An AddWatch whose ctx ends while the connection has stalled returns
// then, not once the connection is declared lost: setting the other
// watchers of the path back as they were does not hold the caller.
func TestAddWatchCtxOnStalledConnection(t *testing.T) {
	p := startProxiedB(t, 12*time.Second) // a read timeout of 8 s
	ctx := ctxB(t, waitB)
	_, err := p.c.Create(ctx, "/a", nil)
	require.NoError(t, err)
	plain, err := p.c.AddWatch(ctx, "/a", core.WatchPersistent)
	require.NoError(t, err)
	defer plain.Close()
	states := listenB(t, p.c)

	p.proxy.BlackHole(true)
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = p.c.AddWatch(short, "/a", core.WatchPersistentRecursive)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// The connection is declared lost 8 s after its last reply; a call
	// held until then returns just before the client goes Suspended.
	require.Never(t, func() bool { return states.count(core.StateSuspended) > 0 }, time.Second, 10*time.Millisecond,
		"AddWatch returned only once the connection was lost")
	p.proxy.BlackHole(false)
}
