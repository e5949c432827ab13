package core_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// With many requests in flight the reader goroutine pauses to gather
// replies, and the writer goroutine to gather requests, and every caller
// still gets its own reply; one caller at a time never makes either pause.
func TestGatherRepliesUnderLoad(t *testing.T) {
	c, _, _ := sharedA(t)
	assert.Equal(t, runtime.GOOS == "linux" && runtime.GOMAXPROCS(0) > 1, core.OwnsSocket(c),
		"on Linux, with more than one proc, the connection polls its socket itself by default")
	pauses := loadGetsA(t, c)
	assert.Positive(t, core.WritePauses(c), "64 callers keep enough requests in flight to gather them")
	if runtime.GOOS == "linux" {
		assert.Positive(t, pauses, "64 callers keep enough requests in flight to gather")
	} else {
		assert.Zero(t, pauses, "off Linux the reader never pauses")
	}
}

// With one proc the connection stays in Go's network poller and no thread
// may block, yet the reader still gathers replies under load: it sleeps
// in the scheduler while the callers it answered send their next
// requests, and every caller still gets its own reply.
func TestGatherRepliesWithOneProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("replies are gathered on Linux only")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c, _, _ := sharedA(t)
	require.False(t, core.OwnsSocket(c))
	assert.Positive(t, loadGetsA(t, c), "the reader pauses with one proc too")
	assert.Positive(t, core.WritePauses(c))
}

// WithGatherReplies(false): neither the reader nor the writer ever
// pauses, even under load.
func TestGatherRepliesOff(t *testing.T) {
	c, _, _ := sharedA(t, core.WithGatherReplies(false))
	assert.Zero(t, loadGetsA(t, c))
	assert.Zero(t, core.WritePauses(c))
}

// WithOwnPolling(false) leaves the socket in Go's network poller, where
// calls work and replies are gathered as well.
func TestOwnPollingOff(t *testing.T) {
	c, _, _ := sharedA(t, core.WithOwnPolling(false))
	assert.False(t, core.OwnsSocket(c))
	pauses := loadGetsA(t, c)
	if runtime.GOOS == "linux" && runtime.GOMAXPROCS(0) > 1 {
		assert.Positive(t, pauses)
	}
}

// A connection made with one proc stays in the network poller, where
// calls work as well.
func TestOwnPollingNotWithOneProc(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c, _, _ := sharedA(t)
	assert.False(t, core.OwnsSocket(c))
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/n", []byte("x"))
	require.NoError(t, err)
	data, err := c.GetData(ctx, "/n")
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
}

// A TLS connection's reads return a record at a time, so they never show
// the socket drained: the reader never pauses there, and the load goes
// through at full speed.
func TestGatherRepliesNotOverTLS(t *testing.T) {
	srv := zktest.StartServer(t, zktest.WithTLS())
	c := startA(t, srv.SecureConnString(), core.WithTLS(srv.TLSConfig()), core.WithChroot(zktest.UniquePath(t)))
	assert.False(t, core.OwnsSocket(c), "a TLS connection stays in the network poller")
	assert.Zero(t, loadGetsA(t, c))
	assert.Positive(t, core.WritePauses(c), "the writer gathers requests over TLS too")
}

// loadGetsA checks that one caller at a time never makes the reader pause,
// then has 64 goroutines read nodes at once on c, checks every reply, and
// returns how often the reader paused to gather replies.
func loadGetsA(t *testing.T, c *core.Client) int64 {
	t.Helper()
	ctx := ctxA(t)
	const nodes = 8
	for k := range nodes {
		_, err := c.Create(ctx, fmt.Sprintf("/n%d", k), fmt.Appendf(nil, "data-%d", k))
		require.NoError(t, err)
	}

	for range 200 {
		_, err := c.GetData(ctx, "/n0")
		require.NoError(t, err)
	}
	assert.Zero(t, core.GatherPauses(c), "one request at a time is never held back")
	assert.Zero(t, core.WritePauses(c), "nor is its write")

	const goroutines, calls = 64, 300
	inParallelA(t, goroutines, func(g int) error {
		for i := range calls {
			k := (g + i) % nodes
			data, err := c.GetData(ctx, fmt.Sprintf("/n%d", k))
			if err != nil {
				return err
			}
			if string(data) != fmt.Sprintf("data-%d", k) {
				return fmt.Errorf("/n%d: got %q", k, data)
			}
		}
		return nil
	})
	return core.GatherPauses(c)
}
