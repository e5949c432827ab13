package proto

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// record is anything with both halves of the codec.
type record interface {
	Encode(dst []byte) []byte
	Decode(d *Decoder)
}

// roundTrip encodes in, decodes into out and checks out equals want, that
// every byte was consumed, and that re-encoding gives the same bytes.
func roundTrip(t *testing.T, in, out record, want any) {
	t.Helper()
	b := in.Encode([]byte{0xee}) // a prefix checks Encode appends
	if b[0] != 0xee {
		t.Fatalf("Encode overwrote the buffer's existing bytes")
	}
	d := NewDecoder(b[1:])
	out.Decode(d)
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("decode: err %v, %d bytes left", d.Err(), d.Remaining())
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got  %+v\nwant %+v", out, want)
	}
	checkBytes(t, "re-encode", out.Encode(nil), b[1:])
}

func TestRoundTripConnect(t *testing.T) {
	reqs := []ConnectRequest{
		{TimeoutMs: 30000, Passwd: make([]byte, 16)},
		{ProtocolVersion: 0, LastZxidSeen: math.MaxInt64, TimeoutMs: math.MaxInt32,
			SessionID: math.MinInt64, Passwd: sessionPasswd, ReadOnly: true},
		{TimeoutMs: -1, Passwd: []byte{}},
	}
	for _, r := range reqs {
		var got ConnectRequest
		roundTrip(t, &r, &got, &r)
	}
	// A nil password goes out as the 16 zero bytes of a new session.
	var got ConnectRequest
	roundTrip(t, &ConnectRequest{TimeoutMs: 4000}, &got, &ConnectRequest{TimeoutMs: 4000, Passwd: make([]byte, 16)})

	resps := []ConnectResponse{
		{TimeoutMs: 10000, SessionID: 0x0100000a1b2c0001, Passwd: sessionPasswd, ReadOnly: true},
		{TimeoutMs: 0, Passwd: nil},
		{ProtocolVersion: math.MinInt32, TimeoutMs: math.MaxInt32, SessionID: -1, Passwd: []byte{}},
	}
	for _, r := range resps {
		var got ConnectResponse
		roundTrip(t, &r, &got, &r)
	}
}

func TestRoundTripHeadersStatAndEvent(t *testing.T) {
	for _, h := range []RequestHeader{{}, {Xid: 1, Opcode: OpGetData}, {Xid: math.MinInt32, Opcode: math.MaxInt32}} {
		var got RequestHeader
		roundTrip(t, &h, &got, &h)
	}
	for _, h := range []ReplyHeader{{}, {Xid: -1, Zxid: -1}, {Xid: 9, Zxid: math.MaxInt64, Err: math.MinInt32}} {
		var got ReplyHeader
		roundTrip(t, &h, &got, &h)
	}
	maxStat := Stat{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt32, math.MaxInt32,
		math.MaxInt32, math.MaxInt64, math.MaxInt32, math.MaxInt32, math.MaxInt64}
	for _, s := range []Stat{{}, sampleStat, maxStat} {
		var got Stat
		roundTrip(t, &s, &got, &s)
	}
	for _, e := range []WatcherEvent{
		{Type: EventNodeCreated, State: StateSyncConnected, Path: "/a"},
		{Type: EventNone, State: StateExpired},
		{Type: EventPersistentWatchRemoved, State: StateSyncConnected, Path: "/" + strings.Repeat("x", 1000)},
		{Type: EventNodeDataChanged, State: StateSyncConnected, Path: "/ünïcødé/\x00/路径"},
	} {
		var got WatcherEvent
		roundTrip(t, &e, &got, &e)
	}
}

func TestRoundTripPrimitives(t *testing.T) {
	for _, b := range [][]byte{nil, {}, {0}, []byte("hello"), make([]byte, 70000)} {
		d := NewDecoder(AppendBuffer(nil, b))
		if got := d.Bytes(); !reflect.DeepEqual(got, b) || d.Err() != nil || d.Remaining() != 0 {
			t.Errorf("buffer %d bytes (nil %v): got %d bytes (nil %v), %v", len(b), b == nil, len(got), got == nil, d.Err())
		}
	}
	for _, ss := range [][]string{nil, {""}, {"a", "", "ccc"}, {strings.Repeat("z", 300)}} {
		d := NewDecoder(AppendStrings(nil, ss))
		if got := d.Strings(); !reflect.DeepEqual(got, ss) || d.Err() != nil || d.Remaining() != 0 {
			t.Errorf("strings %q: got %q, %v", ss, got, d.Err())
		}
	}
	for _, acls := range [][]ACL{nil, worldAnyone, {{PermRead | PermWrite, "digest", "u:h="}, {0, "", ""}}} {
		d := NewDecoder(AppendACLs(nil, acls))
		if got := d.ACLs(); !reflect.DeepEqual(got, acls) || d.Err() != nil || d.Remaining() != 0 {
			t.Errorf("acls %+v: got %+v, %v", acls, got, d.Err())
		}
	}
}

func TestRoundTripMultiResponse(t *testing.T) {
	tests := [][]MultiResult{
		nil,
		{{Op: OpCreate, Path: "/m"}},
		{
			{Op: OpCreate2, Path: "/m-0000000001", Stat: sampleStat, HasStat: true},
			{Op: OpSetData, Stat: sampleStat, HasStat: true},
			{Op: OpDelete},
			{Op: OpCheck},
		},
		{
			{Op: OpGetData, Data: []byte("v"), Stat: sampleStat, HasStat: true},
			{Op: OpGetData, Stat: sampleStat, HasStat: true},
			{Op: OpGetData, Data: []byte{}, Stat: sampleStat, HasStat: true},
			{Op: OpGetChildren, Children: []string{"a", "b"}},
			{Op: OpGetChildren},
		},
		{{Op: OpError}, {Op: OpError, Err: -101}, {Op: OpError, Err: -2}},
	}
	for _, results := range tests {
		b := EncodeMultiResponse(nil, results)
		var got MultiResponse
		d := NewDecoder(b)
		got.Decode(d)
		if d.Err() != nil || d.Remaining() != 0 {
			t.Fatalf("%+v: err %v, %d left", results, d.Err(), d.Remaining())
		}
		if !reflect.DeepEqual(got.Results, results) {
			t.Errorf("got  %+v\nwant %+v", got.Results, results)
		}
	}
}

// Request encoders round-trip through decodeRequest, a server's view.
func TestRoundTripRequests(t *testing.T) {
	reqs := []Request{
		&CreateRequest{Op: OpCreate, Path: "/a", Data: []byte("d"), ACL: worldAnyone, Flags: FlagEphemeral},
		&CreateRequest{Op: OpCreate2, Path: "/a", ACL: worldAnyone, Flags: FlagSequential},
		&CreateRequest{Op: OpCreateContainer, Path: "/a", Data: []byte{}, ACL: worldAnyone, Flags: FlagContainer},
		&CreateRequest{Op: OpCreateTTL, Path: "/a", ACL: worldAnyone, Flags: FlagPersistentSequentialWithTTL, TTL: math.MaxInt64},
		&DeleteRequest{Path: "/a", Version: -1},
		&CheckVersionRequest{Path: "/a", Version: 7},
		&PathWatchRequest{Op: OpExists, Path: "/a", Watch: true},
		&PathWatchRequest{Op: OpGetChildren, Path: "/a"},
		&PathRequest{Op: OpGetACL, Path: "/a"},
		&PathRequest{Op: OpGetEphemerals, Path: "/"},
		&SetDataRequest{Path: "/a", Data: make([]byte, 1024), Version: 3},
		&SetACLRequest{Path: "/a", ACL: []ACL{{PermAll, "ip", "10.0.0.0/8"}, {PermRead, "world", "anyone"}}, Version: -1},
		&AuthRequest{Scheme: "digest", Auth: []byte("u:p")},
		&AuthRequest{Scheme: "sasl"},
		&SetWatchesRequest{Op: OpSetWatches, RelativeZxid: 9, DataWatches: []string{"/a", "/b"}},
		&SetWatchesRequest{Op: OpSetWatches2, RelativeZxid: 9, ChildWatches: []string{"/c"},
			PersistentWatches: []string{"/p"}, PersistentRecursive: []string{"/r", "/s"}},
		&AddWatchRequest{Path: "/a", Mode: AddWatchPersistent},
		&RemoveWatchesRequest{Op: OpRemoveWatches, Path: "/a", Type: WatcherChildren},
		&EmptyRequest{Op: OpPing},
		&EmptyRequest{Op: OpCloseSession},
		&MultiRequest{},
		&MultiRequest{Ops: []Request{
			&CreateRequest{Op: OpCreateTTL, Path: "/t", ACL: worldAnyone, Flags: FlagPersistentWithTTL, TTL: 1000},
			&CreateRequest{Op: OpCreateContainer, Path: "/c", ACL: worldAnyone, Flags: FlagContainer},
			&SetDataRequest{Path: "/t", Data: []byte("x"), Version: 0},
			&CheckVersionRequest{Path: "/c", Version: 0},
			&DeleteRequest{Path: "/t", Version: -1},
		}},
		&MultiRequest{Read: true, Ops: []Request{
			&PathWatchRequest{Op: OpGetData, Path: "/a"},
			&PathWatchRequest{Op: OpGetChildren, Path: "/b"},
		}},
	}
	for i, r := range reqs {
		frame := appendRequestFrame(nil, int32(i+1), r)
		h, got, err := decodeRequestFrame(frame)
		if err != nil {
			t.Fatalf("%T op %d: %v", r, r.Opcode(), err)
		}
		if h != (RequestHeader{Xid: int32(i + 1), Opcode: r.Opcode()}) {
			t.Errorf("%T: header %+v", r, h)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("%T:\n got  %+v\n want %+v", r, got, r)
		}
	}
}
