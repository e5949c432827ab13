package core_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// onFirstRead runs onFirst once the client's first read on a connection,
// that of the connect response, returns: the client then sets the
// connection up.
type onFirstRead struct {
	net.Conn
	once    sync.Once
	onFirst func()
}

func (c *onFirstRead) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.onFirst != nil {
		c.once.Do(c.onFirst)
	}
	return n, err
}

// The last recursive watcher beside a plain one closes while a new
// connection is set up, after that connection listed the path's watch as
// recursive and before it went live. The plain watcher must still see its
// children change: the frame setting the path plain must not be dropped.
// The window is narrow; many long one-shot watches elsewhere widen it (the
// connection encodes them after its listing), and the test tries it in
// several rounds.
func TestWatchRecursiveClosesWhileConnecting(t *testing.T) {
	srv := zktest.Shared(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	root := chrootB(t, srv.ConnString())
	var (
		mu    sync.Mutex
		armed func()
	)
	dialer := wrapDialer(func(nc net.Conn) net.Conn {
		mu.Lock()
		defer mu.Unlock()
		f := armed
		armed = nil
		return &onFirstRead{Conn: nc, onFirst: f}
	})
	c := startClientB(t, proxy.Addr(), core.WithChroot(root), core.WithDialer(dialer),
		core.WithSessionTimeout(20*time.Second), core.WithConnectTimeout(2*time.Second))
	other := startClientB(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxB(t, 2*time.Minute)
	states := listenB(t, c)

	long := strings.Repeat("x", 30000)
	for i := range 600 {
		_, _, err := c.ExistsW(ctx, fmt.Sprintf("/w/%d%s", i, long))
		require.NoError(t, err)
	}
	_, err := c.Create(ctx, "/n", nil)
	require.NoError(t, err)
	plain, err := c.AddWatch(ctx, "/n", core.WatchPersistent)
	require.NoError(t, err)

	for round := 1; round <= 4; round++ {
		recursive, err := c.AddWatch(ctx, "/n", core.WatchPersistentRecursive)
		require.NoError(t, err)
		closed := make(chan error, 1)
		mu.Lock()
		armed = func() { go func() { closed <- recursive.Close() }() }
		mu.Unlock()
		proxy.CutAll()
		waitCountB(t, states, core.StateConnected, round)
		require.NoError(t, <-closed)
		// One round trip: the new connection's setWatches are in effect.
		_, err = c.Exists(ctx, "/n")
		require.NoError(t, err)

		_, err = other.Create(ctx, fmt.Sprintf("/n/kid%d", round), nil)
		require.NoError(t, err)
		wantEventB(t, plain.Events(), core.EventNodeChildrenChanged, "/n")
	}
}
