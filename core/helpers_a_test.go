package core_test

// Helpers shared by the operation, bad-input, chroot, ACL, TLS,
// concurrency, close and gathering tests (inParallelA serves the watch
// tests too). Their names end in "A" so that they never
// meet the helpers of the other core test files.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// testTimeoutA bounds every call a test makes; a test that needs longer
// has a bug.
const testTimeoutA = 30 * time.Second

// ctxA returns a context that ends with the test or after testTimeoutA.
func ctxA(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeoutA)
	t.Cleanup(cancel)
	return ctx
}

// startA creates and starts a client for servers and closes it when the
// test ends.
func startA(t testing.TB, servers string, opts ...core.Option) *core.Client {
	t.Helper()
	c, err := core.NewClient(servers, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Start(ctxA(t)))
	return c
}

// chrootA returns a fresh chroot for the test on srv and makes sure the
// tree below it is gone when the test ends. authOpts are given to the
// cleaning client, for trees holding nodes that others may not read.
func chrootA(t testing.TB, srv *zktest.Server, authOpts ...core.Option) string {
	t.Helper()
	root := zktest.UniquePath(t)
	cleanupTreeA(t, srv, root, authOpts...)
	return root
}

// cleanupTreeA deletes path and everything below it when the test ends,
// after the test's own clients have closed (cleanups run last-in first-out,
// and this one is registered before them).
func cleanupTreeA(t testing.TB, srv *zktest.Server, path string, opts ...core.Option) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeoutA)
		defer cancel()
		c, err := core.NewClient(srv.ConnString(), opts...)
		if err != nil {
			t.Errorf("cleanup of %s: %v", path, err)
			return
		}
		defer c.Close()
		if err := c.Start(ctx); err != nil {
			t.Errorf("cleanup of %s: %v", path, err)
			return
		}
		if err := c.DeleteAll(ctx, path); err != nil {
			t.Errorf("cleanup of %s: %v", path, err)
		}
	})
}

// sharedA starts a client on the shared server under a chroot of its own,
// which is removed when the test ends. It returns the client, the server
// and the chroot.
func sharedA(t testing.TB, opts ...core.Option) (*core.Client, *zktest.Server, string) {
	t.Helper()
	srv := zktest.Shared(t)
	root := chrootA(t, srv)
	c := startA(t, srv.ConnString(), append([]core.Option{core.WithChroot(root)}, opts...)...)
	return c, srv, root
}

// rootA starts a client without a chroot on srv: the view of another
// session, or of an administrator.
func rootA(t testing.TB, srv *zktest.Server, opts ...core.Option) *core.Client {
	t.Helper()
	return startA(t, srv.ConnString(), opts...)
}

// consA returns the server's view of the connection that serves sessionID,
// from the "cons" four-letter word: its counters such as recved and sent.
func consA(t testing.TB, srv *zktest.Server, sessionID int64) map[string]string {
	t.Helper()
	out, err := srv.FourLetter(ctx4lwA(t), "cons")
	require.NoError(t, err)
	want := "sid=0x" + strconv.FormatUint(uint64(sessionID), 16)
	for line := range strings.Lines(out) {
		open := strings.IndexByte(line, '(')
		close := strings.LastIndexByte(line, ')')
		if open < 0 || close < open || !strings.Contains(line, want+",") {
			continue
		}
		fields := map[string]string{}
		for _, kv := range strings.Split(line[open+1:close], ",") {
			k, v, _ := strings.Cut(kv, "=")
			fields[k] = v
		}
		return fields
	}
	require.Failf(t, "session not found", "cons lists no connection of session 0x%x:\n%s", sessionID, out)
	return nil
}

// receivedA returns how many packets the server has received on the
// connection of sessionID.
func receivedA(t testing.TB, srv *zktest.Server, sessionID int64) int {
	t.Helper()
	n, err := strconv.Atoi(consA(t, srv, sessionID)["recved"])
	require.NoError(t, err)
	return n
}

func ctx4lwA(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ephemeralsA returns the paths the server's "dump" lists as ephemeral
// nodes of sessionID.
func ephemeralsA(t testing.TB, srv *zktest.Server, sessionID int64) []string {
	t.Helper()
	out, err := srv.FourLetter(ctx4lwA(t), "dump")
	require.NoError(t, err)
	var (
		paths []string
		in    bool
	)
	header := fmt.Sprintf("0x%x:", uint64(sessionID))
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.TrimSpace(line) == header:
			in = true
		case in && strings.HasPrefix(line, "\t"):
			paths = append(paths, strings.TrimSpace(line))
		default:
			in = false
		}
	}
	return paths
}

// requireErrA checks that err matches want with errors.Is and that its
// message names the operation and the path.
func requireErrA(t testing.TB, err, want error, op, path string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, want)
	require.Contains(t, err.Error(), op+" "+path, "the error names the operation and the path")
	var ze *core.Error
	if errors.As(err, &ze) {
		require.Equal(t, op, ze.Op)
		require.Equal(t, path, ze.Path)
	}
}

// inParallelA runs work(0) to work(n-1) in goroutines of their own, waits
// for all of them, and fails the test with any error they returned.
func inParallelA(t testing.TB, n int, work func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := work(i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
