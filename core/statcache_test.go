package core_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
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
