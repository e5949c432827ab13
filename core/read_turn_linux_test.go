package core_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// A caller that reads its own reply in a blocking poll waits before its
// first read, so a reply costs it one read system call, not an empty read
// and then the one that finds it. Counted on the caller's locked thread:
// the reads of calls answered through the reader goroutine are made on
// other threads. A reply slower than the held part of the wait (1 ms)
// costs a second read, so the bound leaves room for some.
func TestOwnReadWaitsBeforeReading(t *testing.T) {
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	c := startA(t, srv.ConnString(), core.WithChroot(root))
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/n", []byte("v"))
	require.NoError(t, err)

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	core.ForgetSlowOwnReads(c)
	polledBefore := core.PolledOwnReads(c)
	// Reading the io file takes reads of its own: count them between two
	// readings with nothing in between.
	first, err := core.ThreadReadCalls()
	if err != nil {
		t.Skipf("no per-thread io counters: %v", err)
	}
	before, err := core.ThreadReadCalls()
	require.NoError(t, err)
	for calls := 0; calls < 2000 && core.PolledOwnReads(c)-polledBefore < 50; calls++ {
		_, err := c.GetData(ctx, "/n")
		require.NoError(t, err)
	}
	after, err := core.ThreadReadCalls()
	require.NoError(t, err)
	polled := core.PolledOwnReads(c) - polledBefore
	if polled == 0 {
		t.Skip("no caller waited in a blocking poll (one proc?)")
	}
	reads := int64(after - before - (before - first))
	assert.Less(t, reads, polled*3/2, "%d read system calls for %d replies read in a blocking poll", reads, polled)
}
