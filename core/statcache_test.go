package core_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// Reads of a path running beside this client's own non-forced writes to it
// must not put an older version back into the stat cache: each SetData
// writes at the version the one before it made, whatever the reads
// recorded meanwhile.
func TestStatCacheReadsBesideWrites(t *testing.T) {
	c, _, _ := sharedA(t)
	ctx := ctxA(t)
	_, err := c.Create(ctx, "/n", []byte("0"))
	require.NoError(t, err)

	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 8 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := c.Get(ctx, "/n"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	defer func() {
		close(stop)
		readers.Wait()
	}()
	for i := range 1000 {
		st, err := c.SetData(ctx, "/n", []byte("x"))
		require.NoError(t, err, "write %d", i)
		require.Equal(t, int32(i+1), st.Version)
	}
}

// A reply that finds no node tells the client the versions it cached
// belong to a node gone since. A later node at the path, made by another
// client, is then written at any version, as a path never seen is; before,
// the gone node's version 0 made the write fail against the new node's 1.
func TestStatCacheForgetsMissingNode(t *testing.T) {
	c, srv, root := sharedA(t)
	other := rootA(t, srv)
	ctx := ctxA(t)

	finders := []struct {
		name string
		find func(path string) error
	}{
		{"exists", func(p string) error {
			ok, err := c.Exists(ctx, p)
			require.False(t, ok)
			return err
		}},
		{"get", func(p string) error { _, _, err := c.Get(ctx, p); return err }},
		{"getChildren", func(p string) error { _, err := c.GetChildren(ctx, p); return err }},
		{"getACL", func(p string) error { _, _, err := c.GetACL(ctx, p); return err }},
		{"setData", func(p string) error { _, err := c.SetData(ctx, p, []byte("x")); return err }},
		{"setACL", func(p string) error { _, err := c.SetACL(ctx, p, core.OpenACLUnsafe); return err }},
		{"delete", func(p string) error { return c.Delete(ctx, p) }},
		{"multiRead", func(p string) error {
			res, err := c.MultiRead(ctx, core.ReadData(p))
			require.NoError(t, err)
			return res[0].Err
		}},
	}
	for _, f := range finders {
		t.Run(f.name, func(t *testing.T) {
			p := "/forget-" + f.name
			_, err := c.Create(ctx, p, nil) // caches version 0
			require.NoError(t, err)
			require.NoError(t, other.Delete(ctx, root+p, core.Force()))

			err = f.find(p)
			if f.name != "exists" {
				require.ErrorIs(t, err, core.ErrNoNode)
			}

			_, err = other.Create(ctx, root+p, nil)
			require.NoError(t, err)
			_, err = other.Set(ctx, root+p, []byte("v1"), 0)
			require.NoError(t, err)
			st, err := c.SetData(ctx, p, []byte("ours"))
			require.NoError(t, err, "the gone node's version was still cached")
			require.Equal(t, int32(2), st.Version)
		})
	}
}
