package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core/proto"
)

// pendingRegistry is a registry holding a one-shot data watch on each of
// paths, whose setting again relative to the zxid given was queued on a
// connection, and what that connection calls once it loses the frames.
func pendingRegistry(t *testing.T, zxids map[string]int64) (*watchRegistry, map[string]appliedFunc) {
	t.Helper()
	var wg sync.WaitGroup
	reg := newWatchRegistry("", 10, &wg)
	lost := map[string]appliedFunc{}
	for p, z := range zxids {
		reg.addOneShot(watchKey{path: p, kind: watchKindData}, make(chan Event, 1))
		reg.mu.Lock()
		wrapped, queued := reg.notePendingLocked(p, z, nil)
		queued()
		reg.mu.Unlock()
		lost[p] = wrapped
	}
	return reg, lost
}

// dataWatchesOf lists the data watches of setWatches frames.
func dataWatchesOf(reqs []proto.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.(*proto.SetWatchesRequest).DataWatches...)
	}
	return out
}

// A new connection sets each path whose one-shot watches' setting again
// the old one lost relative to that path's own zxid: one group of frames
// per zxid, none relative to an older zxid than its own.
func TestUnitRearmBehindGroupedByZxid(t *testing.T) {
	reg, _ := pendingRegistry(t, map[string]int64{"/a": 5, "/b": 7, "/c": 7, "/d": 12})
	frames := reg.rearmRequests(9)
	require.Equal(t, []string{"/d"}, dataWatchesOf(frames.main), "/d's zxid is not older than the last one seen")
	require.Len(t, frames.behind, 2)
	for i, want := range []struct {
		zxid  int64
		paths []string
	}{{5, []string{"/a"}}, {7, []string{"/b", "/c"}}} {
		g := frames.behind[i]
		require.ElementsMatch(t, want.paths, dataWatchesOf(g.reqs), "group %d", i)
		for _, r := range g.reqs {
			require.Equal(t, want.zxid, r.(*proto.SetWatchesRequest).RelativeZxid, "group %d", i)
		}
	}
}

// The old connection may report its frames lost after the new one's are
// applied: that late report leaves nothing behind for the next connection
// to set relative to the old zxid.
func TestUnitRearmLateLossLeavesNoStaleEntry(t *testing.T) {
	reg, lost := pendingRegistry(t, map[string]int64{"/p": 5})
	frames := reg.rearmRequests(9)
	require.Len(t, frames.behind, 1)
	frames.behind[0].applied(9, true) // the new connection's frames are applied
	lost["/p"](0, false)              // and then the old one reports its own lost
	frames = reg.rearmRequests(12)
	require.Empty(t, frames.behind, "no path is set relative to the old zxid again")
	require.Equal(t, []string{"/p"}, dataWatchesOf(frames.main))
}

// A failed create may have landed when it was lost in flight (now or in an
// earlier attempt), when its ctx ended with the request out, when its
// reply could not be read, or when the session it was tied to ended; not
// when the server refused it.
func TestUnitMayHaveLanded(t *testing.T) {
	for _, tc := range []struct {
		lost bool
		err  error
		want bool
	}{
		{true, ErrNoNode, true},
		{false, fmt.Errorf("call: %w", ErrConnectionLoss), true},
		{false, &stillOutError{cause: context.Canceled}, true},
		{false, ErrMarshallingError, true},
		{false, ErrSessionExpired, true},
		{false, ErrNoNode, false},
		{false, ErrNodeExists, false},
		{false, errors.Join(errNotSent, ErrConnectionLoss), false},
	} {
		require.Equal(t, tc.want, mayHaveLanded(tc.lost, tc.err), "lost %v, %v", tc.lost, tc.err)
	}
}
