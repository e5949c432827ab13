package core

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core/proto"
)

// watchPathsOfLength makes n paths of every kind, of lengths that cycle
// through 2..maxLen bytes, each naming its kind and index.
func watchPathsOfLength(n, maxLen int) watchPaths {
	make1 := func(kind string) []string {
		out := make([]string, n)
		for i := range out {
			p := fmt.Sprintf("/%s%d", kind, i)
			if want := 2 + i*7%(maxLen-1); len(p) < want {
				p += strings.Repeat("x", want-len(p))
			}
			out[i] = p
		}
		return out
	}
	return watchPaths{
		data:       make1("d"),
		exist:      make1("e"),
		child:      make1("c"),
		persistent: make1("p"),
		recursive:  make1("r"),
	}
}

// frameBody is the size of a setWatches frame's body on the wire: the
// request header and the record.
func frameBody(req proto.Request) int {
	return len(proto.RequestHeader{Xid: proto.XidSetWatches, Opcode: req.Opcode()}.Encode(nil)) + len(req.Encode(nil))
}

// joinFrames puts the frames' lists back together, kind by kind.
func joinFrames(t *testing.T, frames []proto.Request) watchPaths {
	t.Helper()
	var got watchPaths
	for _, f := range frames {
		r := f.(*proto.SetWatchesRequest)
		got.data = append(got.data, r.DataWatches...)
		got.exist = append(got.exist, r.ExistWatches...)
		got.child = append(got.child, r.ChildWatches...)
		got.persistent = append(got.persistent, r.PersistentWatches...)
		got.recursive = append(got.recursive, r.PersistentRecursive...)
	}
	return got
}

// pathBytes is what the paths of a frame take on the wire.
func pathBytes(r *proto.SetWatchesRequest) int {
	n := 0
	for _, l := range [][]string{r.DataWatches, r.ExistWatches, r.ChildWatches, r.PersistentWatches, r.PersistentRecursive} {
		for _, p := range l {
			n += 4 + len(p)
		}
	}
	return n
}

// firstPath is the first path of a frame, in the order of the lists.
func firstPath(r *proto.SetWatchesRequest) string {
	for _, l := range [][]string{r.DataWatches, r.ExistWatches, r.ChildWatches, r.PersistentWatches, r.PersistentRecursive} {
		if len(l) > 0 {
			return l[0]
		}
	}
	return ""
}

func frameIsEmpty(r *proto.SetWatchesRequest) bool {
	return len(r.DataWatches)+len(r.ExistWatches)+len(r.ChildWatches)+len(r.PersistentWatches)+len(r.PersistentRecursive) == 0
}

// TestSetWatchesSplit: the frames of a re-registration hold every path once,
// in order, within the limit, each as full as the next path allows, and
// none is empty; setWatches2 is used when persistent watches are among
// them.
func TestSetWatchesSplit(t *testing.T) {
	cases := []struct {
		name  string
		paths watchPaths
		limit int
	}{
		{"TightestLimit", watchPathsOfLength(20, 30), setWatchesOverhead + 4 + 30},
		{"Small", watchPathsOfLength(200, 60), 300},
		{"Medium", watchPathsOfLength(500, 200), 4096},
		{"Default", watchPathsOfLength(3000, 100), setWatchesLimit},
		{"OneFrame", watchPathsOfLength(10, 20), setWatchesLimit},
		{"OneShotOnly", watchPaths{data: []string{"/a", "/b"}, child: []string{"/c"}}, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const zxid = 0x1234
			frames := splitSetWatches(zxid, tc.paths, tc.limit)
			wantOp := proto.OpSetWatches
			if len(tc.paths.persistent)+len(tc.paths.recursive) > 0 {
				wantOp = proto.OpSetWatches2
			}
			for i, f := range frames {
				r := f.(*proto.SetWatchesRequest)
				require.Equal(t, wantOp, r.Op, "frame %d", i)
				require.Equal(t, int64(zxid), r.RelativeZxid, "frame %d", i)
				require.False(t, frameIsEmpty(r), "frame %d of %d is empty", i, len(frames))
				require.LessOrEqual(t, frameBody(f), tc.limit, "frame %d of %d", i, len(frames))
				if i+1 < len(frames) {
					next := firstPath(frames[i+1].(*proto.SetWatchesRequest))
					require.Greater(t, pathBytes(r)+4+len(next), tc.limit-setWatchesOverhead,
						"frame %d ends early: %s would have fit", i, next)
				}
			}
			require.Equal(t, tc.paths, joinFrames(t, frames), "every path once, in order, in its own list")
		})
	}
}

// TestSetWatchesSplitEdges: nothing to register sends nothing, and a path
// longer than any frame allows goes alone in its own frame.
func TestSetWatchesSplitEdges(t *testing.T) {
	require.Empty(t, splitSetWatches(1, watchPaths{}, setWatchesLimit))

	long := "/" + strings.Repeat("l", 500)
	paths := watchPaths{data: []string{"/a", long, "/b"}}
	frames := splitSetWatches(1, paths, 200)
	require.Len(t, frames, 3)
	require.Equal(t, []string{long}, frames[1].(*proto.SetWatchesRequest).DataWatches)
	require.Equal(t, paths, joinFrames(t, frames))
}

// TestSetWatchesFrameLimit: the re-registration frames stay within the
// largest request the server takes when it is below the default limit.
func TestSetWatchesFrameLimit(t *testing.T) {
	var wg sync.WaitGroup
	reg := newWatchRegistry("", 10, &wg)
	for i := range 4000 {
		reg.addOneShot(watchKey{path: fmt.Sprintf("/node-%04d-%s", i, strings.Repeat("x", 40)), kind: oneShotKind(i % 3)}, make(chan Event, 1))
	}
	for _, tc := range []struct{ maxRequest, want int }{
		{0, setWatchesLimit},
		{16 << 10, 16 << 10},
		{1 << 20, setWatchesLimit},
	} {
		reg.limitRequests(tc.maxRequest)
		frames := reg.rearmRequests(7).main
		require.Greater(t, len(frames), 1, "maxRequest %d", tc.maxRequest)
		n := 0
		for _, f := range frames {
			require.LessOrEqual(t, frameBody(f), tc.want, "maxRequest %d", tc.maxRequest)
			r := f.(*proto.SetWatchesRequest)
			n += len(r.DataWatches) + len(r.ExistWatches) + len(r.ChildWatches)
		}
		require.Equal(t, 4000, n, "maxRequest %d", tc.maxRequest)
	}
}
