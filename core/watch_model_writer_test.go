package core_test

// The writer of a watch model round (see watch_model_test.go): the changes
// the checks match the watches' events to.

import (
	"context"
	"errors"
	"math/rand"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

// write makes the writer's changes, one at a time, and logs each with its
// zxid: create where a node is missing (and its parent is not), else set
// its data or, when it has no children, delete it. A write lost with its
// connection is logged only if it was applied (see outcome).
func (r *modelRound) write(rng *rand.Rand) {
	t := r.t
	ctx := ctxB(t, waitB)
	exists := map[string]bool{"/": true}
	modified := map[string]int64{} // the zxid of each node's last create or set
	hasChildren := func(p string) bool {
		for _, n := range modelNodes {
			if exists[n] && modelParent(n) == p {
				return true
			}
		}
		return false
	}
	var last int64
	defer func() {
		if r.lostWrites > 0 {
			t.Logf("the writer lost %d writes with its connection, %d of them applied", r.lostWrites, r.lostApplied)
		}
	}()
	for len(r.log.snapshot().changes) < modelWrites {
		p := modelNodes[rng.Intn(len(modelNodes))]
		c := modelChange{path: p, start: r.log.now()}
		switch {
		case !exists[p] && !exists[modelParent(p)]:
			continue
		case !exists[p]:
			_, st, err := r.writer.CreateStat(ctx, p, []byte{byte(rng.Intn(256))})
			c.kind = core.EventNodeCreated
			if err == nil {
				c.zxid = st.CreatedZxid
			} else {
				c.zxid = r.outcome(ctx, err, func(ctx context.Context) (int64, error) {
					st, err := r.writer.ExistsStat(ctx, p)
					if st == nil {
						return 0, err
					}
					return st.CreatedZxid, nil
				})
			}
			exists[p] = c.zxid != 0
		case hasChildren(p) || rng.Intn(10) < 7:
			st, err := r.writer.SetData(ctx, p, []byte{byte(rng.Intn(256))})
			c.kind = core.EventNodeDataChanged
			if err == nil {
				c.zxid = st.LastModifiedZxid
			} else {
				c.zxid = r.outcome(ctx, err, func(ctx context.Context) (int64, error) {
					st, err := r.writer.ExistsStat(ctx, p)
					if err != nil {
						return 0, err
					}
					require.NotNil(t, st, "%s vanished", p)
					if st.LastModifiedZxid == modified[p] {
						return 0, nil
					}
					return st.LastModifiedZxid, nil
				})
			}
		default:
			err := r.writer.Delete(ctx, p)
			c.kind = core.EventNodeDeleted
			if err == nil {
				c.zxid = r.writer.LastZxid()
			} else {
				c.zxid = r.outcome(ctx, err, func(ctx context.Context) (int64, error) {
					st, err := r.writer.ExistsStat(ctx, p)
					if st != nil || err != nil {
						return 0, err
					}
					// The delete is the last change of its parent's children.
					parent, err := r.writer.ExistsStat(ctx, modelParent(p))
					if err != nil {
						return 0, err
					}
					require.NotNil(t, parent, "the parent of %s vanished", p)
					return parent.LastModifiedChildren, nil
				})
			}
			exists[p] = c.zxid == 0
		}
		if c.zxid == 0 {
			continue // lost, not applied
		}
		c.end = r.log.now()
		require.Greater(t, c.zxid, last, "the writer's zxids grow")
		last = c.zxid
		modified[p] = c.zxid
		r.log.addChange(c)
		time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
	}
}

// outcome finds out whether a write whose call failed with err was
// applied, and returns its zxid, or 0 if it was not. Only the failover
// rounds' writer meets errors: it lost its connection with the write in
// flight, which the servers may or may not have applied. The writer alone
// changes the tree, one write at a time, so the tree tells: zxidOf reads
// the zxid the write would have left, once a CatchUp has brought the
// writer's new server up to date. (ZooKeeper does not promise that a
// request the dead server had passed on to the leader reaches it before
// that one; the pause before it leaves such a request time to.)
func (r *modelRound) outcome(ctx context.Context, err error, zxidOf func(context.Context) (int64, error)) int64 {
	t := r.t
	require.True(t, r.env.ensemble != nil && lostWrite(err), "write: %v", err)
	for {
		time.Sleep(50 * time.Millisecond)
		err := r.writer.CatchUp(ctx, "/")
		if err == nil {
			var zxid int64
			if zxid, err = zxidOf(ctx); err == nil {
				r.lostWrites++
				if zxid != 0 {
					r.lostApplied++
				}
				return zxid
			}
		}
		require.NoError(t, ctx.Err(), "finding out whether a lost write was applied: %v", err)
	}
}

// lostWrite reports whether err leaves a write's fate unknown.
func lostWrite(err error) bool {
	return errors.Is(err, core.ErrConnectionLoss) || errors.Is(err, core.ErrOperationTimeout) || errors.Is(err, core.ErrTimeout)
}
