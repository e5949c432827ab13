package core_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// A caller that reads its own reply in a blocking poll reads the socket
// only once the poll says the reply is there: one read system call per
// reply, not an empty read before the wait nor one after a held wait that
// ended first. Counted on the caller's locked thread, for the calls that
// waited so; the others leave their reply to the reader goroutine, which
// reads on its own thread.
func TestOwnReadWaitsBeforeReading(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("with one proc no caller waits in a blocking poll")
	}
	srv := zktest.Shared(t)
	c, ctx := ownReadClient(t, srv, chrootA(t, srv))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Reading the io file takes reads of its own: count them between two
	// readings with nothing in between.
	first, err := core.ThreadReadCalls()
	if err != nil {
		t.Skipf("no per-thread io counters: %v", err)
	}
	second, err := core.ThreadReadCalls()
	require.NoError(t, err)
	own := second - first
	var reads, polled int64
	for calls := 0; calls < 2000 && polled < 50; calls++ {
		polledBefore := core.PolledOwnReads(c)
		before, err := core.ThreadReadCalls()
		require.NoError(t, err)
		_, err = c.GetData(ctx, "/n")
		require.NoError(t, err)
		after, err := core.ThreadReadCalls()
		require.NoError(t, err)
		if core.PolledOwnReads(c) > polledBefore {
			polled++
			reads += int64(after - before - own)
		}
	}
	require.Positive(t, polled, "no caller waited in a blocking poll")
	assert.LessOrEqual(t, reads, polled, "%d read system calls for %d replies read in a blocking poll", reads, polled)
}
