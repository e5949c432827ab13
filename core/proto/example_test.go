package proto_test

import (
	"bytes"
	"fmt"

	"github.com/zkit-go/zkit/core/proto"
)

// serverReply builds the frame a server would send; examples use it to
// stand in for the socket.
func serverReply(h proto.ReplyHeader, body func([]byte) []byte) []byte {
	b, start := proto.AppendFrameStart(nil)
	return proto.FinishFrame(body(h.Encode(b)), start)
}

// A request is framed by reserving the length, appending the header and the
// body, and patching the length. The reply is read as one frame and decoded
// by the record the pending request expects.
func Example() {
	// The connection keeps one write buffer and reuses it for every frame.
	var wbuf []byte
	req := &proto.PathWatchRequest{Op: proto.OpGetData, Path: "/app/config", Watch: true}
	wbuf, start := proto.AppendFrameStart(wbuf[:0])
	wbuf = proto.RequestHeader{Xid: 1, Opcode: req.Opcode()}.Encode(wbuf)
	wbuf = req.Encode(wbuf)
	wbuf = proto.FinishFrame(wbuf, start)
	fmt.Printf("request % x\n", wbuf)

	conn := bytes.NewReader(serverReply(proto.ReplyHeader{Xid: 1, Zxid: 0x100000005}, func(b []byte) []byte {
		b = proto.AppendBuffer(b, []byte("color=blue"))
		return (&proto.Stat{Version: 4, DataLength: 10}).Encode(b)
	}))

	frame, err := proto.ReadFrame(conn, nil, proto.DefaultMaxFrame)
	if err != nil {
		fmt.Println(err)
		return
	}
	d := proto.NewDecoder(frame)
	var h proto.ReplyHeader
	h.Decode(d)
	if h.Err != 0 {
		fmt.Println("server error", h.Err) // no body follows
		return
	}
	var resp proto.GetDataResponse
	resp.Decode(d)
	if err := d.Err(); err != nil { // one check covers every field
		fmt.Println(err)
		return
	}
	fmt.Printf("xid %d zxid %#x data %q version %d\n", h.Xid, h.Zxid, resp.Data, resp.Stat.Version)
	// Output:
	// request 00 00 00 18 00 00 00 01 00 00 00 04 00 00 00 0b 2f 61 70 70 2f 63 6f 6e 66 69 67 01
	// xid 1 zxid 0x100000005 data "color=blue" version 4
}

// Frames that answer no request carry special xids: a reader dispatches on
// the header before it looks for a pending request.
func ExampleReadFrame() {
	var stream []byte
	stream = append(stream, serverReply(proto.ReplyHeader{Xid: proto.XidPing, Zxid: 7}, func(b []byte) []byte { return b })...)
	stream = append(stream, serverReply(proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1}, func(b []byte) []byte {
		return (&proto.WatcherEvent{Type: proto.EventNodeDeleted, State: proto.StateSyncConnected, Path: "/lock"}).Encode(b)
	})...)
	stream = append(stream, serverReply(proto.ReplyHeader{Xid: 2, Zxid: 8, Err: -101}, func(b []byte) []byte { return b })...)

	r := bytes.NewReader(stream)
	buf := make([]byte, 0, 512) // reused for every frame
	var d proto.Decoder
	for {
		frame, err := proto.ReadFrame(r, buf, proto.DefaultMaxFrame)
		if err != nil {
			fmt.Println(err)
			return
		}
		buf = frame[:0]
		d.Reset(frame)
		var h proto.ReplyHeader
		h.Decode(&d)
		switch h.Xid {
		case proto.XidPing:
			fmt.Println("ping")
		case proto.XidNotification:
			var ev proto.WatcherEvent
			ev.Decode(&d)
			fmt.Printf("event type %d on %s\n", ev.Type, ev.Path)
		default:
			fmt.Printf("reply to xid %d, error %d\n", h.Xid, h.Err)
		}
	}
	// Output:
	// ping
	// event type 2 on /lock
	// reply to xid 2, error -101
	// EOF
}

// A multi writes a MultiHeader before each operation and an end marker; its
// response holds one result per operation, in order.
func ExampleMultiRequest() {
	acl := []proto.ACL{{Perms: proto.PermAll, Scheme: "world", ID: "anyone"}}
	multi := &proto.MultiRequest{Ops: []proto.Request{
		&proto.CreateRequest{Op: proto.OpCreate, Path: "/jobs/1", Data: []byte("new"), ACL: acl},
		&proto.SetDataRequest{Path: "/jobs", Data: []byte("1"), Version: 0},
	}}
	b, start := proto.AppendFrameStart(nil)
	b = proto.RequestHeader{Xid: 3, Opcode: multi.Opcode()}.Encode(b)
	b = proto.FinishFrame(multi.Encode(b), start)
	fmt.Println("request bytes:", len(b))

	// The server rolled the transaction back: every result is an error.
	body := proto.EncodeMultiResponse(nil, []proto.MultiResult{
		{Op: proto.OpError, Err: 0},
		{Op: proto.OpError, Err: -103}, // BadVersion
	})
	var resp proto.MultiResponse
	d := proto.NewDecoder(body)
	resp.Decode(d)
	if d.Err() != nil {
		fmt.Println(d.Err())
		return
	}
	for i, res := range resp.Results {
		fmt.Printf("op %d: type %d err %d\n", i, res.Op, res.Err)
	}
	// Output:
	// request bytes: 106
	// op 0: type -1 err 0
	// op 1: type -1 err -103
}

// A Decoder remembers its first error and returns zero values afterwards,
// so a record is decoded straight through and checked once.
func ExampleDecoder() {
	d := proto.NewDecoder([]byte{0, 0, 0, 1, 0, 0, 0, 9, '/'}) // a string claims 9 bytes, 1 follows
	n := d.Int32()
	s := d.String()
	fmt.Printf("%d %q\n", n, s)
	fmt.Println(d.Err())
	// Output:
	// 1 ""
	// proto: invalid length prefix: 9 with 1 bytes left
}
