package core_test

// The writer of a watch model round (see watch_model_test.go): the changes
// the checks match the watches' events to.

import (
	"math/rand"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// write makes the writer's changes, one at a time, and logs each with its
// zxid: create where a node is missing (and its parent is not), else set
// its data or, when it has no children, delete it.
func (r *modelRound) write(rng *rand.Rand) {
	t := r.t
	ctx := ctxB(t, waitB)
	exists := map[string]bool{"/": true}
	hasChildren := func(p string) bool {
		for _, n := range modelNodes {
			if exists[n] && modelParent(n) == p {
				return true
			}
		}
		return false
	}
	var last int64
	for len(r.log.snapshot().changes) < modelWrites {
		p := modelNodes[rng.Intn(len(modelNodes))]
		c := modelChange{path: p, start: r.log.now()}
		switch {
		case !exists[p] && !exists[modelParent(p)]:
			continue
		case !exists[p]:
			_, st, err := r.writer.CreateStat(ctx, p, []byte{byte(rng.Intn(256))})
			require.NoError(t, err)
			c.kind, c.zxid = core.EventNodeCreated, st.CreatedZxid
			exists[p] = true
		case hasChildren(p) || rng.Intn(10) < 7:
			st, err := r.writer.SetData(ctx, p, []byte{byte(rng.Intn(256))})
			require.NoError(t, err)
			c.kind, c.zxid = core.EventNodeDataChanged, st.LastModifiedZxid
		default:
			require.NoError(t, r.writer.Delete(ctx, p))
			c.kind, c.zxid = core.EventNodeDeleted, r.writer.LastZxid()
			exists[p] = false
		}
		c.end = r.log.now()
		require.Greater(t, c.zxid, last, "the writer's zxids grow")
		last = c.zxid
		r.log.addChange(c)
		time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
	}
}
