package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// versionedRetryClients returns a client behind a proxy, which the test
// faults, and a second client straight to the server, both under one
// chroot holding /n at version 0.
func versionedRetryClients(t *testing.T) (c, other *core.Client, px *zktest.Proxy) {
	t.Helper()
	srv := zktest.Shared(t)
	px = zktest.StartProxy(t, srv.Addr())
	root := chrootA(t, srv)
	c = startA(t, px.Addr()+root, core.WithSessionTimeout(6*time.Second), core.WithConnectTimeout(300*time.Millisecond))
	other = startA(t, srv.ConnString()+root)
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/n", []byte("v0"))
	require.NoError(t, err)
	_, st, err := c.Get(ctx, "/n")
	require.NoError(t, err)
	require.EqualValues(t, 0, st.Version)
	return c, other, px
}

// inBackground runs call on a goroutine of its own and returns the
// channel its error comes on.
func inBackground(call func() error) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- call() }()
	return errc
}

// waitAppliedA waits until other reads data at path: a write whose reply
// the proxy drops has been applied.
func waitAppliedA(t *testing.T, other *core.Client, path, data string) {
	t.Helper()
	ctx := ctxA(t)
	require.Eventually(t, func() bool {
		got, err := other.GetData(ctx, path)
		return err == nil && string(got) == data
	}, 10*time.Second, 5*time.Millisecond, "the write is applied")
}

// TestVersionedWriteAppliedThenOverwrittenIsOutcomeUnknown: a versioned
// set whose reply is lost after the server applied it, retried once
// another client has written over it, cannot tell whether it was applied.
// It fails with ErrOutcomeUnknown, which matches ErrConnectionLoss and not
// ErrBadVersion: a caller that retries on ErrBadVersion would apply its
// change twice.
func TestVersionedWriteAppliedThenOverwrittenIsOutcomeUnknown(t *testing.T) {
	for _, viaCache := range []bool{false, true} {
		name := "Set"
		if viaCache {
			name = "SetData"
		}
		t.Run(name, func(t *testing.T) {
			c, other, px := versionedRetryClients(t)
			ctx := ctxA(t)

			px.Refuse(true) // no new connection until the other client has written
			px.DropNextReply()
			errc := inBackground(func() error {
				if viaCache {
					_, err := c.SetData(ctx, "/n", []byte("ours"))
					return err
				}
				_, err := c.Set(ctx, "/n", []byte("ours"), 0)
				return err
			})
			waitAppliedA(t, other, "/n", "ours")
			_, err := other.Set(ctx, "/n", []byte("theirs"), 1)
			require.NoError(t, err)
			px.Refuse(false)

			err = <-errc
			requireErrA(t, err, core.ErrOutcomeUnknown, "setData", "/n")
			require.ErrorIs(t, err, core.ErrConnectionLoss)
			require.NotErrorIs(t, err, core.ErrBadVersion)
			var ze *core.Error
			require.True(t, errors.As(err, &ze))
			require.Equal(t, core.CodeConnectionLoss, ze.Code)
		})
	}
}

// TestVersionedWriteLostBeforeAnotherWonIsBadVersion: a versioned set that
// never reached the server, retried after another client's write took the
// node to the next version, fails with ErrBadVersion: that write won.
func TestVersionedWriteLostBeforeAnotherWonIsBadVersion(t *testing.T) {
	c, other, px := versionedRetryClients(t)
	ctx := ctxA(t)

	px.BlackHoleToServer(true)
	before := px.Swallowed()
	errc := inBackground(func() error {
		_, err := c.Set(ctx, "/n", []byte("ours"), 0)
		return err
	})
	require.Eventually(t, func() bool { return px.Swallowed() > before }, 10*time.Second, time.Millisecond)
	_, err := other.Set(ctx, "/n", []byte("theirs"), 0)
	require.NoError(t, err)
	px.BlackHoleToServer(false)

	err = <-errc
	requireErrA(t, err, core.ErrBadVersion, "setData", "/n")
	require.NotErrorIs(t, err, core.ErrOutcomeUnknown)
	data, err := other.GetData(ctx, "/n")
	require.NoError(t, err)
	require.Equal(t, "theirs", string(data))
}

// TestDeleteRetryLeavesANewerNodeAlone: a Delete at the cached version
// whose reply is lost after the server applied it is retried; when
// another client has meanwhile made a new node at the path (at version 0
// too), the retry leaves that node alone and the call succeeds, the node
// it meant being gone.
func TestDeleteRetryLeavesANewerNodeAlone(t *testing.T) {
	c, other, px := versionedRetryClients(t)
	ctx := ctxA(t)

	px.Refuse(true)
	px.DropNextReply()
	errc := inBackground(func() error { return c.Delete(ctx, "/n") }) // at the cached version 0
	require.Eventually(t, func() bool {
		ok, err := other.Exists(ctx, "/n")
		return err == nil && !ok
	}, 10*time.Second, 5*time.Millisecond, "the delete is applied")
	_, err := other.Create(ctx, "/n", []byte("theirs"))
	require.NoError(t, err)
	px.Refuse(false)

	require.NoError(t, <-errc)
	data, err := other.GetData(ctx, "/n")
	require.NoError(t, err, "the node made after the delete is still there")
	require.Equal(t, "theirs", string(data))

	// The cache now knows the new node: a Delete without options takes it.
	require.NoError(t, c.Delete(ctx, "/n"))
	ok, err := other.Exists(ctx, "/n")
	require.NoError(t, err)
	require.False(t, ok)
}

// TestDeleteRetryDeletesTheNodeItMeant: a Delete at the cached version
// that never reached the server is retried and deletes the node.
func TestDeleteRetryDeletesTheNodeItMeant(t *testing.T) {
	c, other, px := versionedRetryClients(t)
	ctx := ctxA(t)

	px.BlackHoleToServer(true)
	before := px.Swallowed()
	errc := inBackground(func() error { return c.Delete(ctx, "/n") })
	require.Eventually(t, func() bool { return px.Swallowed() > before }, 10*time.Second, time.Millisecond)
	px.BlackHoleToServer(false)

	require.NoError(t, <-errc)
	ok, err := other.Exists(ctx, "/n")
	require.NoError(t, err)
	require.False(t, ok, "the retry deleted the node")
}

// TestVersionedWriteAppliedThenNodeMadeAgainIsOutcomeUnknown: a versioned
// set applied and lost in flight, whose node another client then deletes
// and makes again up to the same next version with other data, cannot
// tell whether it was applied: the node it was sent to is gone. It fails
// with ErrOutcomeUnknown, not ErrBadVersion.
func TestVersionedWriteAppliedThenNodeMadeAgainIsOutcomeUnknown(t *testing.T) {
	c, other, px := versionedRetryClients(t)
	ctx := ctxA(t)

	px.Refuse(true)
	px.DropNextReply()
	errc := inBackground(func() error {
		_, err := c.Set(ctx, "/n", []byte("ours"), 0)
		return err
	})
	waitAppliedA(t, other, "/n", "ours")
	require.NoError(t, other.Delete(ctx, "/n", core.Force()))
	_, err := other.Create(ctx, "/n", []byte("new"))
	require.NoError(t, err)
	st, err := other.Set(ctx, "/n", []byte("theirs"), 0)
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Version, "the new node is at the version the lost write made")
	px.Refuse(false)

	err = <-errc
	requireErrA(t, err, core.ErrOutcomeUnknown, "setData", "/n")
	require.NotErrorIs(t, err, core.ErrBadVersion)
}

// TestSetACLRefusedAfterLossKeepsItsRefusal: a versioned SetACL by a
// client without ADMIN permission, whose refusal is lost in flight, meets
// ErrNoAuth again on its retry. The ACL read back is still at the version
// written at, on the same node, so nothing was applied: the call fails
// with ErrNoAuth, not with ErrOutcomeUnknown.
func TestSetACLRefusedAfterLossKeepsItsRefusal(t *testing.T) {
	c, other, px := versionedRetryClients(t)
	ctx := ctxA(t)
	_, err := other.SetACL(ctx, "/n", core.ReadACLUnsafe, core.Force())
	require.NoError(t, err)
	_, st, err := c.Get(ctx, "/n")
	require.NoError(t, err)
	require.EqualValues(t, 1, st.ACLVersion)

	states := listenB(t, c)
	px.DropNextReply()
	_, err = c.SetACL(ctx, "/n", core.OpenACLUnsafe, core.WithVersion(1))
	require.Equal(t, 1, states.count(core.StateSuspended), "the first attempt's reply was lost with its connection")
	requireErrA(t, err, core.ErrNoAuth, "setACL", "/n")
	require.NotErrorIs(t, err, core.ErrOutcomeUnknown)
}

// TestVersionedWriteRetryLeavesANodeMadeSinceAlone: a write at a version,
// applied and lost in flight, whose node another client then deletes and
// makes again (at version 0, as the write was sent at), is not sent again
// to the new node: the retry looks first, finds a node made since, and
// fails with ErrOutcomeUnknown. The new node keeps its data and ACL.
func TestVersionedWriteRetryLeavesANodeMadeSinceAlone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(ctx context.Context, c *core.Client) error
	}{
		{"Set", func(ctx context.Context, c *core.Client) error {
			_, err := c.Set(ctx, "/n", []byte("ours"), 0)
			return err
		}},
		{"SetData", func(ctx context.Context, c *core.Client) error {
			_, err := c.SetData(ctx, "/n", []byte("ours"))
			return err
		}},
		{"SetACL", func(ctx context.Context, c *core.Client) error {
			_, err := c.SetACL(ctx, "/n", core.ReadACLUnsafe)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, other, px := versionedRetryClients(t)
			ctx := ctxA(t)

			px.Refuse(true)
			px.DropNextReply()
			errc := inBackground(func() error { return tc.write(ctx, c) })
			require.Eventually(t, func() bool {
				_, st, err := other.Get(ctx, "/n")
				return err == nil && (st.Version == 1 || st.ACLVersion == 1)
			}, 10*time.Second, 5*time.Millisecond, "the write is applied")
			require.NoError(t, other.Delete(ctx, "/n", core.Force()))
			_, err := other.Create(ctx, "/n", []byte("theirs"))
			require.NoError(t, err)
			px.Refuse(false)

			err = <-errc
			requireErrA(t, err, core.ErrOutcomeUnknown, map[string]string{"Set": "setData", "SetData": "setData", "SetACL": "setACL"}[tc.name], "/n")
			data, st, err := other.Get(ctx, "/n")
			require.NoError(t, err)
			require.Equal(t, "theirs", string(data), "the new node's data is its own")
			require.EqualValues(t, 0, st.Version)
			require.EqualValues(t, 0, st.ACLVersion, "the new node's ACL is its own")
		})
	}
}
