package core

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// FuzzHandleFrame hands the reader's dispatch frames a server might send
// while requests of every reply kind, pings, credentials and setWatches
// are out: a frame is a reply, an event or garbage, and none panics the
// client. The input is frames, each behind a two-byte length; handleFrame
// may end the connection with an error, after which nothing more is read,
// as on a live connection.
func FuzzHandleFrame(f *testing.F) {
	// frame is one input frame: its two-byte length, a reply header with
	// xid, and body.
	frame := func(xid int32, body []byte) []byte {
		fr := append(proto.ReplyHeader{Xid: xid, Zxid: 7}.Encode(nil), body...)
		return append(binary.BigEndian.AppendUint16(nil, uint16(len(fr))), fr...)
	}
	event := proto.WatcherEvent{Type: 1, State: 3, Path: "/a"}
	f.Add(append(frame(proto.XidPing, nil), frame(1, []byte{0, 0, 0, 1, 'x'})...))
	f.Add(frame(proto.XidNotification, event.Encode(nil)))
	f.Add(slices.Concat(frame(proto.XidSetWatches, nil), frame(proto.XidAuth, nil), frame(1, nil), frame(2, nil)))

	f.Fuzz(func(t *testing.T, input []byte) {
		c := newConn(nil, &creditLog{}, zap.NewNop(), 0, 1<<20, 0)
		multi := &proto.MultiRequest{Ops: []proto.Request{
			&proto.CreateRequest{Op: proto.OpCreate, Path: "/a"},
			&proto.SetDataRequest{Path: "/b"},
			&proto.PathWatchRequest{Op: proto.OpGetData, Path: "/c"},
		}}
		resps := []proto.Response{
			&proto.GetDataResponse{},
			&proto.MultiResponse{For: multi},
			&proto.Create2Response{},
			&proto.Children2Response{},
			&proto.GetACLResponse{},
			&proto.EmptyResponse{},
		}
		for i, resp := range resps {
			r := newRequest(resp)
			r.xid = int32(i + 1)
			r.decodeOnError = i == 1 // a failed multi's results
			c.pending = append(c.pending, r)
		}
		_ = c.sendSpecial(proto.XidPing, &proto.EmptyRequest{Op: proto.OpPing})
		_ = c.sendSpecial(proto.XidAuth, &proto.AuthRequest{Scheme: "digest", Auth: []byte("u:p")})
		_ = c.sendSetWatches(&proto.SetWatchesRequest{DataWatches: []string{"/a"}}, func(int64, bool) {})

		var dec proto.Decoder
		for len(input) >= 2 {
			n := int(binary.BigEndian.Uint16(input))
			input = input[2:]
			if n > len(input) {
				n = len(input)
			}
			fr := input[:n]
			input = input[n:]
			if err := c.handleFrame(&dec, fr); err != nil {
				return
			}
		}
	})
}
