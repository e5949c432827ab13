package proto

import (
	"bytes"
	"reflect"
	"testing"
)

// The literals in this file are spelled out field by field from
// zookeeper.jute (org.apache.zookeeper.proto and .data), MultiResponse.java
// and MultiOperationRecord.java, not produced by the encoders under test.

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got % x\nwant % x", what, got, want)
	}
}

func TestPrimitiveLayout(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"int32 positive", AppendInt32(nil, 0x01020304), "01020304"},
		{"int32 negative", AppendInt32(nil, -2), "fffffffe"},
		{"int64", AppendInt64(nil, 0x0102030405060708), "0102030405060708"},
		{"int64 negative", AppendInt64(nil, -1), "ffffffffffffffff"},
		{"bool true", AppendBool(nil, true), "01"},
		{"bool false", AppendBool(nil, false), "00"},
		{"nil buffer is null", AppendBuffer(nil, nil), "ffffffff"},
		{"empty buffer", AppendBuffer(nil, []byte{}), "00000000"},
		{"buffer", AppendBuffer(nil, []byte("ab")), "00000002 6162"},
		{"empty string", AppendString(nil, ""), "00000000"},
		{"string", AppendString(nil, "/zk"), "00000003 2f7a6b"},
		{"nil vector is empty", AppendStrings(nil, nil), "00000000"},
		{"vector", AppendStrings(nil, []string{"a", "bc"}), "00000002 00000001 61 00000002 6263"},
		{"nil ACLs", AppendACLs(nil, nil), "00000000"},
		{"ACL", AppendACLs(nil, worldAnyone), `
			00000001                        # count
			0000001f                        # perms ALL
			00000005 776f726c64             # scheme "world"
			00000006 616e796f6e65           # id "anyone"`},
		{"appends after existing bytes", AppendInt32([]byte{0xaa}, 1), "aa 00000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkBytes(t, tt.name, tt.got, unhex(t, tt.want)) })
	}
}

func TestDecodeBuffersNullAndEmpty(t *testing.T) {
	d := NewDecoder(unhex(t, "ffffffff 00000000 ffffffff 00000000 ffffffff 00000000 ffffffff"))
	if b := d.Bytes(); b != nil {
		t.Errorf("null buffer: got %#v, want nil", b)
	}
	if b := d.Bytes(); b == nil || len(b) != 0 {
		t.Errorf("empty buffer: got %#v, want non-nil empty", b)
	}
	if b := d.BytesView(); b != nil {
		t.Errorf("null buffer view: got %#v, want nil", b)
	}
	if b := d.BytesView(); b == nil || len(b) != 0 {
		t.Errorf("empty buffer view: got %#v, want non-nil empty", b)
	}
	if s := d.String(); s != "" {
		t.Errorf("null string: got %q", s)
	}
	if s := d.String(); s != "" {
		t.Errorf("empty string: got %q", s)
	}
	if ss := d.Strings(); ss != nil {
		t.Errorf("null vector: got %#v, want nil", ss)
	}
	if err := d.Err(); err != nil || d.Remaining() != 0 {
		t.Fatalf("err %v, %d bytes left", err, d.Remaining())
	}
}

func TestBytesCopiesAndBytesViewAliases(t *testing.T) {
	src := unhex(t, "00000002 6162 00000002 6364")
	d := NewDecoder(src)
	cp, view := d.Bytes(), d.BytesView()
	src[4], src[10] = 'X', 'Y'
	if string(cp) != "ab" {
		t.Errorf("Bytes aliases the source: %q", cp)
	}
	if string(view) != "Yd" {
		t.Errorf("BytesView does not alias the source: %q", view)
	}
}

const connectRequestNewSessionHex = `
	0000002d                         # frame length 45
	00000000                         # protocolVersion
	0000000000000000                 # lastZxidSeen
	00007530                         # timeOut 30000
	0000000000000000                 # sessionId
	00000010                         # passwd length 16
	00000000000000000000000000000000 # passwd
	00                               # readOnly
`

const connectRequestResumeHex = `
	0000002d                         # frame length 45
	00000000                         # protocolVersion
	0000000100000007                 # lastZxidSeen
	00002710                         # timeOut 10000
	0100000a1b2c0001                 # sessionId
	00000010                         # passwd length 16
	0102030405060708090a0b0c0d0e0f10 # passwd
	01                               # readOnly
`

var sessionPasswd = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

func TestConnectRequestLayout(t *testing.T) {
	tests := []struct {
		name string
		req  ConnectRequest
		want string
	}{
		{
			// A nil password is sent as 16 zero bytes, as the Java client does.
			name: "new session",
			req:  ConnectRequest{TimeoutMs: 30000},
			want: connectRequestNewSessionHex,
		},
		{
			name: "resume read-only",
			req: ConnectRequest{LastZxidSeen: 0x100000007, TimeoutMs: 10000,
				SessionID: 0x0100000a1b2c0001, Passwd: sessionPasswd, ReadOnly: true},
			want: connectRequestResumeHex,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, start := AppendFrameStart(nil)
			buf = FinishFrame(tt.req.Encode(buf), start)
			checkBytes(t, "frame", buf, unhex(t, tt.want))
		})
	}
}

func TestConnectRequestDecode(t *testing.T) {
	full := unhex(t, connectRequestResumeHex)[4:]
	want := ConnectRequest{LastZxidSeen: 0x100000007, TimeoutMs: 10000,
		SessionID: 0x0100000a1b2c0001, Passwd: sessionPasswd, ReadOnly: true}
	var got ConnectRequest
	d := NewDecoder(full)
	got.Decode(d)
	if d.Err() != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, d.Err(), want)
	}

	// Clients older than 3.4 do not send the read-only flag.
	var old ConnectRequest
	d = NewDecoder(full[:len(full)-1])
	old.Decode(d)
	want.ReadOnly = false
	if d.Err() != nil || !reflect.DeepEqual(old, want) {
		t.Fatalf("without readOnly: got %+v, %v; want %+v", old, d.Err(), want)
	}
}

const connectResponseHex = `
	00000000                         # protocolVersion
	00002710                         # timeOut 10000
	0100000a1b2c0001                 # sessionId
	00000010                         # passwd length 16
	0102030405060708090a0b0c0d0e0f10 # passwd
`

func TestConnectResponseLayout(t *testing.T) {
	resp := ConnectResponse{TimeoutMs: 10000, SessionID: 0x0100000a1b2c0001, Passwd: sessionPasswd, ReadOnly: true}
	checkBytes(t, "encode", resp.Encode(nil), unhex(t, connectResponseHex+"01"))

	tests := []struct {
		name string
		hex  string
		want ConnectResponse
	}{
		{"with readOnly", connectResponseHex + "01 # readOnly", resp},
		{"read-write", connectResponseHex + "00 # readOnly",
			ConnectResponse{TimeoutMs: 10000, SessionID: 0x0100000a1b2c0001, Passwd: sessionPasswd}},
		{"pre-3.4 server without readOnly", connectResponseHex,
			ConnectResponse{TimeoutMs: 10000, SessionID: 0x0100000a1b2c0001, Passwd: sessionPasswd}},
		{"expired session", `
			00000000 00000000 0000000000000000 # version, timeOut 0, sessionId 0
			00000010 00000000000000000000000000000000 00`,
			ConnectResponse{Passwd: make([]byte, 16)}},
		{"null password", "00000000 00007530 0000000000000001 ffffffff 00",
			ConnectResponse{TimeoutMs: 30000, SessionID: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got ConnectResponse
			d := NewDecoder(unhex(t, tt.hex))
			got.Decode(d)
			if d.Err() != nil || d.Remaining() != 0 {
				t.Fatalf("err %v, %d bytes left", d.Err(), d.Remaining())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Decoding into a reused record must not keep a field from the last frame:
// MultiResponse.Decode resets its results for the same reason.
func TestConnectDecodeIntoReusedRecord(t *testing.T) {
	var resp ConnectResponse
	resp.Decode(NewDecoder(unhex(t, connectResponseHex+"01")))
	d := NewDecoder(unhex(t, connectResponseHex))
	resp.Decode(d)
	if d.Err() != nil || resp.ReadOnly {
		t.Errorf("ConnectResponse: ReadOnly %v from the previous frame survives a frame without the flag (err %v)", resp.ReadOnly, d.Err())
	}

	var req ConnectRequest
	full := unhex(t, connectRequestResumeHex)[4:]
	req.Decode(NewDecoder(full))
	d = NewDecoder(full[:len(full)-1])
	req.Decode(d)
	if d.Err() != nil || req.ReadOnly {
		t.Errorf("ConnectRequest: ReadOnly %v from the previous frame survives a frame without the flag (err %v)", req.ReadOnly, d.Err())
	}
}

func TestHeaderLayout(t *testing.T) {
	t.Run("request", func(t *testing.T) {
		tests := []struct {
			h    RequestHeader
			want string
		}{
			{RequestHeader{Xid: 1, Opcode: OpGetData}, "00000001 00000004"},
			{RequestHeader{Xid: XidPing, Opcode: OpPing}, "fffffffe 0000000b"},
			{RequestHeader{Xid: XidAuth, Opcode: OpAuth}, "fffffffc 00000064"},
			{RequestHeader{Xid: 0x7fffffff, Opcode: OpCloseSession}, "7fffffff fffffff5"},
		}
		for _, tt := range tests {
			checkBytes(t, "encode", tt.h.Encode(nil), unhex(t, tt.want))
			var got RequestHeader
			d := NewDecoder(unhex(t, tt.want))
			got.Decode(d)
			if d.Err() != nil || got != tt.h {
				t.Errorf("decode %s: got %+v, %v", tt.want, got, d.Err())
			}
		}
	})
	t.Run("reply", func(t *testing.T) {
		tests := []struct {
			h    ReplyHeader
			want string
		}{
			{ReplyHeader{Xid: 1, Zxid: 0x100000005}, "00000001 0000000100000005 00000000"},
			{ReplyHeader{Xid: 7, Zxid: 0x100000005, Err: -101}, "00000007 0000000100000005 ffffff9b"},
			{ReplyHeader{Xid: XidNotification, Zxid: -1}, "ffffffff ffffffffffffffff 00000000"},
			{ReplyHeader{Xid: XidPing, Zxid: 0x100000005}, "fffffffe 0000000100000005 00000000"},
		}
		for _, tt := range tests {
			b := tt.h.Encode(nil)
			if len(b) != ReplyHeaderSize {
				t.Errorf("ReplyHeaderSize %d, encoded %d", ReplyHeaderSize, len(b))
			}
			checkBytes(t, "encode", b, unhex(t, tt.want))
			var got ReplyHeader
			d := NewDecoder(unhex(t, tt.want))
			got.Decode(d)
			if d.Err() != nil || got != tt.h {
				t.Errorf("decode %s: got %+v, %v", tt.want, got, d.Err())
			}
		}
	})
}

func TestStatLayout(t *testing.T) {
	want := unhex(t, sampleStatHex)
	if len(want) != StatSize || StatSize != 68 {
		t.Fatalf("literal is %d bytes, StatSize %d; jute Stat is 68", len(want), StatSize)
	}
	checkBytes(t, "encode", sampleStat.Encode(nil), want)
	var got Stat
	d := NewDecoder(want)
	got.Decode(d)
	if d.Err() != nil || got != sampleStat || d.Remaining() != 0 {
		t.Fatalf("decode: got %+v, %v, %d left", got, d.Err(), d.Remaining())
	}
}

const createBodyHex = `
	0000000a 2f6170702f6c6f636b2d # path "/app/lock-"
	00000002 6869                 # data "hi"
	00000001                      # acl count
	0000001f                      # perms ALL
	00000005 776f726c64           # scheme "world"
	00000006 616e796f6e65         # id "anyone"
`

func TestCreateRequestLayout(t *testing.T) {
	req := func(op, flags int32) *CreateRequest {
		// TTL is set on every variant: only createTTL may write it.
		return &CreateRequest{Op: op, Path: "/app/lock-", Data: []byte("hi"), ACL: worldAnyone, Flags: flags, TTL: 60000}
	}
	tests := []struct {
		name string
		req  *CreateRequest
		want string
	}{
		{"create", req(OpCreate, FlagEphemeralSequential),
			"0000003b 00000007 00000001" + createBodyHex + "00000003 # flags"},
		{"create2", req(OpCreate2, FlagPersistent),
			"0000003b 00000007 0000000f" + createBodyHex + "00000000 # flags"},
		{"createContainer", req(OpCreateContainer, FlagContainer),
			"0000003b 00000007 00000013" + createBodyHex + "00000004 # flags"},
		{"createTTL", req(OpCreateTTL, FlagPersistentWithTTL),
			"00000043 00000007 00000015" + createBodyHex + "00000005 # flags\n 000000000000ea60 # ttl 60000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBytes(t, "frame", appendRequestFrame(nil, 7, tt.req), unhex(t, tt.want))
		})
	}
}

func TestSetWatchesLayout(t *testing.T) {
	watches := func(op int32) *SetWatchesRequest {
		// Persistent watches are set on both: only setWatches2 may write them.
		return &SetWatchesRequest{Op: op, RelativeZxid: 0x100000005,
			DataWatches: []string{"/a"}, ExistWatches: []string{"/b"}, ChildWatches: []string{"/c", "/d"},
			PersistentWatches: []string{"/p"}}
	}
	const common = `
		0000000100000005              # relativeZxid
		00000001 00000002 2f61        # dataWatches ["/a"]
		00000001 00000002 2f62        # existWatches ["/b"]
		00000002 00000002 2f63 00000002 2f64 # childWatches ["/c", "/d"]
	`
	checkBytes(t, "setWatches", appendRequestFrame(nil, XidSetWatches, watches(OpSetWatches)),
		unhex(t, "00000034 fffffff8 00000065"+common))
	checkBytes(t, "setWatches2", appendRequestFrame(nil, XidSetWatches, watches(OpSetWatches2)),
		unhex(t, "00000042 fffffff8 00000069"+common+`
		00000001 00000002 2f70        # persistentWatches ["/p"]
		00000000                      # persistentRecursiveWatches []`))
}

func TestMultiRequestLayout(t *testing.T) {
	tests := []struct {
		name string
		xid  int32
		req  *MultiRequest
		want string
	}{
		{
			name: "multi",
			xid:  5,
			req: &MultiRequest{Ops: []Request{
				&CreateRequest{Op: OpCreate, Path: "/m", Data: []byte("v"), ACL: worldAnyone},
				&SetDataRequest{Path: "/m", Data: []byte("x"), Version: -1},
				&CheckVersionRequest{Path: "/m", Version: 1},
				&DeleteRequest{Path: "/m", Version: -1},
			}},
			want: `
				00000082 00000005 0000000e    # length 130, xid 5, multi
				00000001 00 ffffffff          # MultiHeader{create, false, -1}
				00000002 2f6d 00000001 76     # path "/m", data "v"
				00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65
				00000000                      # flags
				00000005 00 ffffffff          # MultiHeader{setData, false, -1}
				00000002 2f6d 00000001 78 ffffffff
				0000000d 00 ffffffff          # MultiHeader{check, false, -1}
				00000002 2f6d 00000001
				00000002 00 ffffffff          # MultiHeader{delete, false, -1}
				00000002 2f6d ffffffff
				ffffffff 01 ffffffff          # MultiHeader{-1, true, -1}`,
		},
		{
			name: "multiRead",
			xid:  6,
			req: &MultiRequest{Read: true, Ops: []Request{
				&PathWatchRequest{Op: OpGetData, Path: "/a"},
				&PathWatchRequest{Op: OpGetChildren, Path: "/b"},
			}},
			want: `
				00000031 00000006 00000016    # length 49, xid 6, multiRead
				00000004 00 ffffffff 00000002 2f61 00
				00000008 00 ffffffff 00000002 2f62 00
				ffffffff 01 ffffffff`,
		},
		{
			name: "empty",
			xid:  6,
			req:  &MultiRequest{},
			want: "00000011 00000006 0000000e ffffffff 01 ffffffff",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBytes(t, "frame", appendRequestFrame(nil, tt.xid, tt.req), unhex(t, tt.want))
		})
	}
}

func TestRequestLayout(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		op   int32
		want string // body only
	}{
		{"getData", &PathWatchRequest{Op: OpGetData, Path: "/zookeeper", Watch: true}, OpGetData,
			"0000000a 2f7a6f6f6b6565706572 01"},
		{"exists", &PathWatchRequest{Op: OpExists, Path: "/a"}, OpExists, "00000002 2f61 00"},
		{"getChildren2", &PathWatchRequest{Op: OpGetChildren2, Path: "/a", Watch: true}, OpGetChildren2, "00000002 2f61 01"},
		{"sync", &PathRequest{Op: OpSync, Path: "/a"}, OpSync, "00000002 2f61"},
		{"getAllChildrenNumber", &PathRequest{Op: OpGetAllChildrenNumber, Path: "/"}, OpGetAllChildrenNumber, "00000001 2f"},
		{"delete", &DeleteRequest{Path: "/a", Version: 3}, OpDelete, "00000002 2f61 00000003"},
		{"check", &CheckVersionRequest{Path: "/a", Version: -1}, OpCheck, "00000002 2f61 ffffffff"},
		{"setData nil data", &SetDataRequest{Path: "/a", Version: -1}, OpSetData, "00000002 2f61 ffffffff ffffffff"},
		{"setData empty data", &SetDataRequest{Path: "/a", Data: []byte{}, Version: 2}, OpSetData, "00000002 2f61 00000000 00000002"},
		{"setACL", &SetACLRequest{Path: "/a", ACL: worldAnyone, Version: 4}, OpSetACL,
			"00000002 2f61 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65 00000004"},
		{"auth", &AuthRequest{Scheme: "digest", Auth: []byte("user:pass")}, OpAuth,
			"00000000 00000006 646967657374 00000009 757365723a70617373"},
		{"addWatch", &AddWatchRequest{Path: "/a", Mode: AddWatchPersistentRecursive}, OpAddWatch, "00000002 2f61 00000001"},
		{"removeWatches", &RemoveWatchesRequest{Op: OpRemoveWatches, Path: "/a", Type: WatcherAny}, OpRemoveWatches,
			"00000002 2f61 00000003"},
		{"checkWatches", &RemoveWatchesRequest{Op: OpCheckWatches, Path: "/a", Type: WatcherData}, OpCheckWatches,
			"00000002 2f61 00000002"},
		{"ping", &EmptyRequest{Op: OpPing}, OpPing, ""},
		{"whoAmI", &EmptyRequest{Op: OpWhoAmI}, OpWhoAmI, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.Opcode(); got != tt.op {
				t.Errorf("Opcode %d, want %d", got, tt.op)
			}
			checkBytes(t, "body", tt.req.Encode(nil), unhex(t, tt.want))
		})
	}
}

func TestWellKnownFrames(t *testing.T) {
	checkBytes(t, "ping", appendRequestFrame(nil, XidPing, &EmptyRequest{Op: OpPing}),
		unhex(t, "00000008 fffffffe 0000000b"))
	checkBytes(t, "closeSession", appendRequestFrame(nil, 9, &EmptyRequest{Op: OpCloseSession}),
		unhex(t, "00000008 00000009 fffffff5"))
	checkBytes(t, "getData", appendRequestFrame(nil, 1, &PathWatchRequest{Op: OpGetData, Path: "/zookeeper", Watch: true}),
		unhex(t, `
			00000017                      # length 23
			00000001 00000004             # xid 1, getData
			0000000a 2f7a6f6f6b6565706572 # "/zookeeper"
			01                            # watch`))
	checkBytes(t, "auth", appendRequestFrame(nil, XidAuth, &AuthRequest{Scheme: "digest", Auth: []byte("user:pass")}),
		unhex(t, `
			00000023 fffffffc 00000064    # length 35, xid -4, auth
			00000000                      # type
			00000006 646967657374         # scheme "digest"
			00000009 757365723a70617373   # auth "user:pass"`))
}

func TestFramesShareOneBuffer(t *testing.T) {
	buf := appendRequestFrame(nil, XidPing, &EmptyRequest{Op: OpPing})
	buf = appendRequestFrame(buf, 3, &PathRequest{Op: OpSync, Path: "/a"})
	checkBytes(t, "two frames", buf, unhex(t, `
		00000008 fffffffe 0000000b
		0000000e 00000003 00000009 00000002 2f61`))
}

// replyBodies are server replies after a 16-byte ReplyHeader, decoded by the
// response record the pending request expects.
var replyBodies = []struct {
	name string
	hex  string
	want Response
}{
	{"empty", "", &EmptyResponse{}},
	{"path", "00000014 2f6170702f6c6f636b2d30303030303030303031",
		&PathResponse{Path: "/app/lock-0000000001"}},
	{"create2", "00000014 2f6170702f6c6f636b2d30303030303030303031" + sampleStatHex,
		&Create2Response{Path: "/app/lock-0000000001", Stat: sampleStat}},
	{"stat", sampleStatHex, &StatResponse{Stat: sampleStat}},
	{"getData", "00000005 68656c6c6f # data \"hello\"" + sampleStatHex,
		&GetDataResponse{Data: []byte("hello"), Stat: sampleStat}},
	{"getData null", "ffffffff" + sampleStatHex, &GetDataResponse{Stat: sampleStat}},
	{"getData empty", "00000000" + sampleStatHex, &GetDataResponse{Data: []byte{}, Stat: sampleStat}},
	{"getACL", `
		00000002                                                 # count
		00000001 00000005 776f726c64 00000006 616e796f6e65       # READ world:anyone
		0000001f 00000004 61757468 00000000                      # ALL auth:""
		` + sampleStatHex,
		&GetACLResponse{ACL: []ACL{{PermRead, "world", "anyone"}, {PermAll, "auth", ""}}, Stat: sampleStat}},
	{"children", "00000002 00000001 61 00000002 6263", &ChildrenResponse{Children: []string{"a", "bc"}}},
	{"children none", "00000000", &ChildrenResponse{}},
	{"children2", "00000002 00000001 61 00000002 6263" + sampleStatHex,
		&Children2Response{Children: []string{"a", "bc"}, Stat: sampleStat}},
	{"count", "0000002a", &CountResponse{Count: 42}},
	{"whoAmI", `
		00000002
		00000002 6970 00000009 3132372e302e302e31    # ip 127.0.0.1
		00000006 646967657374 00000004 75736572      # digest user`,
		&WhoAmIResponse{Infos: []ClientInfo{{"ip", "127.0.0.1"}, {"digest", "user"}}}},
	{"watcherEvent", "00000003 00000003 0000000b 2f6170702f636f6e666967",
		&WatcherEvent{Type: EventNodeDataChanged, State: StateSyncConnected, Path: "/app/config"}},
	{"watcherEvent expired", "ffffffff ffffff90 00000000",
		&WatcherEvent{Type: EventNone, State: StateExpired}},
	{"multi", `
		00000001 00 00000000 00000002 2f6d      # create "/m"
		00000005 00 00000000` + sampleStatHex + `# setData
		00000002 00 00000000                    # delete
		0000000d 00 00000000                    # check
		ffffffff 01 ffffffff                    # done`,
		&MultiResponse{Results: []MultiResult{
			{Op: OpCreate, Path: "/m"},
			{Op: OpSetData, Stat: sampleStat, HasStat: true},
			{Op: OpDelete},
			{Op: OpCheck},
		}}},
	{"multi create2", "0000000f 00 00000000 00000002 2f6d" + sampleStatHex + "ffffffff 01 ffffffff",
		&MultiResponse{Results: []MultiResult{{Op: OpCreate2, Path: "/m", Stat: sampleStat, HasStat: true}}}},
	{"multi failed", `
		ffffffff 00 00000000 00000000           # ok, rolled back
		ffffffff 00 ffffff9b ffffff9b           # NoNode
		ffffffff 00 fffffffe fffffffe           # RuntimeInconsistency
		ffffffff 01 ffffffff`,
		&MultiResponse{Results: []MultiResult{
			{Op: OpError, Err: 0},
			{Op: OpError, Err: -101},
			{Op: OpError, Err: -2},
		}}},
	{"multiRead", `
		00000004 00 00000000 00000001 76` + sampleStatHex + `# getData "v"
		00000008 00 00000000 00000001 00000001 63  # getChildren ["c"]
		ffffffff 00 ffffff9b ffffff9b              # NoNode
		ffffffff 01 ffffffff`,
		&MultiResponse{Results: []MultiResult{
			{Op: OpGetData, Data: []byte("v"), Stat: sampleStat, HasStat: true},
			{Op: OpGetChildren, Children: []string{"c"}},
			{Op: OpError, Err: -101},
		}}},
	{"multi empty", "ffffffff 01 ffffffff", &MultiResponse{}},
}

func TestResponseLayout(t *testing.T) {
	for _, tt := range replyBodies {
		t.Run(tt.name, func(t *testing.T) {
			frame := unhex(t, "00000001 0000000100000005 00000000"+tt.hex)
			d := NewDecoder(frame)
			var h ReplyHeader
			h.Decode(d)
			got := newLike(tt.want)
			got.Decode(d)
			if d.Err() != nil || d.Remaining() != 0 {
				t.Fatalf("err %v, %d bytes left", d.Err(), d.Remaining())
			}
			if h != (ReplyHeader{Xid: 1, Zxid: 0x100000005}) {
				t.Errorf("header %+v", h)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// The encoders for server-side records must produce the same literals.
func TestServerEncodersMatchLayout(t *testing.T) {
	for _, tt := range replyBodies {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			switch r := tt.want.(type) {
			case *WatcherEvent:
				got = r.Encode(nil)
			case *MultiResponse:
				got = EncodeMultiResponse(nil, r.Results)
			default:
				t.Skip("the package has no encoder for this response")
			}
			checkBytes(t, "encode", got, unhex(t, tt.hex))
		})
	}
}

func TestMultiResponseUnknownResultType(t *testing.T) {
	var r MultiResponse
	d := NewDecoder(unhex(t, "00000003 00 00000000 ffffffff 01 ffffffff")) // exists is not a multi op
	r.Decode(d)
	if d.Err() == nil || !isDecodeError(d.Err()) {
		t.Fatalf("got %v, want unknown multi result type", d.Err())
	}
}

func TestMultiResponseDecodeReusesResults(t *testing.T) {
	var r MultiResponse
	r.Decode(NewDecoder(unhex(t, "00000002 00 00000000 00000002 00 00000000 ffffffff 01 ffffffff")))
	if len(r.Results) != 2 {
		t.Fatalf("got %d results", len(r.Results))
	}
	d := NewDecoder(unhex(t, "00000001 00 00000000 00000002 2f6d ffffffff 01 ffffffff"))
	r.Decode(d)
	want := []MultiResult{{Op: OpCreate, Path: "/m"}}
	if d.Err() != nil || !reflect.DeepEqual(r.Results, want) {
		t.Fatalf("got %+v, %v; want %+v", r.Results, d.Err(), want)
	}
}
