package core_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/zkit-go/zkit/core"
)

// An ancestor can vanish while a create makes the missing ones: the server
// removes an emptied container at its next check (every 100 ms under
// zktest), or another client deletes an empty node, also between the
// client's look at an ancestor and its create below it. A create with
// WithContainerParents then makes the missing nodes again instead of
// failing with ErrNoNode. Here a second client plays the server's check,
// deleting the empty ancestors every 20 ms. Before the fix, a create failed
// within a few hundred.
func TestContainerParentsVanishing(t *testing.T) {
	c, srv, root := sharedA(t)
	other := startA(t, srv.ConnString()+root)
	ctx := ctxA(t)

	var stop atomic.Bool
	var sweeps atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			for _, p := range []string{"/vanish/a/b", "/vanish/a", "/vanish"} {
				_ = other.Delete(ctx, p, core.Force()) // only empty ones go
			}
			sweeps.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
	})
	var creators sync.WaitGroup
	for w := range 2 {
		creators.Go(func() {
			for range 150 {
				var (
					p   string
					err error
				)
				if w == 0 {
					p, err = c.Create(ctx, "/vanish/a/b/n-", nil, core.Ephemeral(), core.Sequential(), core.WithContainerParents())
				} else {
					p, _, err = c.CreateAndList(ctx, "/vanish/a/b/n-", nil, "/vanish/a/b", core.Ephemeral(), core.Sequential(), core.WithContainerParents())
				}
				if !assert.NoError(t, err, "create while its ancestors come and go") {
					return
				}
				if !assert.NoError(t, c.Delete(ctx, p, core.Force())) {
					return
				}
			}
		})
	}
	creators.Wait()
	stop.Store(true)
	wg.Wait()
	assert.Positive(t, sweeps.Load())
}
