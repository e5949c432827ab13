package proto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// unhex decodes a commented hex dump. Whitespace and '|' are ignored and '#'
// starts a comment that runs to the end of the line, so a literal can name
// each field it spells out.
func unhex(tb testing.TB, dump string) []byte {
	tb.Helper()
	var clean strings.Builder
	for line := range strings.SplitSeq(dump, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, c := range line {
			if c == ' ' || c == '\t' || c == '|' || c == '\r' {
				continue
			}
			clean.WriteRune(c)
		}
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		tb.Fatalf("bad hex literal: %v", err)
	}
	return b
}

// isDecodeError reports whether err is one the decoder documents. Unknown
// multi result types carry no sentinel yet, so they are matched by text.
func isDecodeError(err error) bool {
	return errors.Is(err, ErrShortBuffer) || errors.Is(err, ErrBadLength) ||
		strings.Contains(fmt.Sprint(err), "unknown multi result type") || strings.Contains(fmt.Sprint(err), "multi result")
}

// sampleStat has a distinct value in every field, so a swapped field shows.
var sampleStat = Stat{
	Czxid:          0x0000000100000002,
	Mzxid:          0x0000000100000003,
	Ctime:          0x0000018c1a2b3c4d,
	Mtime:          0x0000018c1a2b3c4e,
	Version:        5,
	Cversion:       6,
	Aversion:       7,
	EphemeralOwner: 0x0100000a1b2c0001,
	DataLength:     100,
	NumChildren:    3,
	Pzxid:          0x0000000100000004,
}

// sampleStatHex is sampleStat as jute writes it: 68 bytes.
const sampleStatHex = `
	0000000100000002 # czxid
	0000000100000003 # mzxid
	0000018c1a2b3c4d # ctime
	0000018c1a2b3c4e # mtime
	00000005         # version
	00000006         # cversion
	00000007         # aversion
	0100000a1b2c0001 # ephemeralOwner
	00000064         # dataLength 100
	00000003         # numChildren
	0000000100000004 # pzxid
`

var worldAnyone = []ACL{{Perms: PermAll, Scheme: "world", ID: "anyone"}}

// responseKind pairs a response record with a server-side encoder, which the
// package does not need (clients only decode responses) but tests do.
type responseKind struct {
	name   string
	new    func() Response
	encode func(dst []byte, r Response) []byte
}

func appendClientInfos(dst []byte, infos []ClientInfo) []byte {
	dst = AppendInt32(dst, int32(len(infos)))
	for _, ci := range infos {
		dst = AppendString(dst, ci.AuthScheme)
		dst = AppendString(dst, ci.User)
	}
	return dst
}

// responseKinds lists every Response in the package. The fuzz target picks
// one by the first input byte, so only append to this list: reordering it
// changes what the committed seeds mean.
var responseKinds = []responseKind{
	{"empty", func() Response { return new(EmptyResponse) },
		func(dst []byte, _ Response) []byte { return dst }},
	{"path", func() Response { return new(PathResponse) },
		func(dst []byte, r Response) []byte { return AppendString(dst, r.(*PathResponse).Path) }},
	{"create2", func() Response { return new(Create2Response) },
		func(dst []byte, r Response) []byte {
			c := r.(*Create2Response)
			return c.Stat.Encode(AppendString(dst, c.Path))
		}},
	{"stat", func() Response { return new(StatResponse) },
		func(dst []byte, r Response) []byte { return r.(*StatResponse).Stat.Encode(dst) }},
	{"getData", func() Response { return new(GetDataResponse) },
		func(dst []byte, r Response) []byte {
			g := r.(*GetDataResponse)
			return g.Stat.Encode(AppendBuffer(dst, g.Data))
		}},
	{"getACL", func() Response { return new(GetACLResponse) },
		func(dst []byte, r Response) []byte {
			g := r.(*GetACLResponse)
			return g.Stat.Encode(AppendACLs(dst, g.ACL))
		}},
	{"children", func() Response { return new(ChildrenResponse) },
		func(dst []byte, r Response) []byte { return AppendStrings(dst, r.(*ChildrenResponse).Children) }},
	{"children2", func() Response { return new(Children2Response) },
		func(dst []byte, r Response) []byte {
			c := r.(*Children2Response)
			return c.Stat.Encode(AppendStrings(dst, c.Children))
		}},
	{"count", func() Response { return new(CountResponse) },
		func(dst []byte, r Response) []byte { return AppendInt32(dst, r.(*CountResponse).Count) }},
	{"whoAmI", func() Response { return new(WhoAmIResponse) },
		func(dst []byte, r Response) []byte { return appendClientInfos(dst, r.(*WhoAmIResponse).Infos) }},
	{"watcherEvent", func() Response { return new(WatcherEvent) },
		func(dst []byte, r Response) []byte { return r.(*WatcherEvent).Encode(dst) }},
	{"multi", func() Response { return new(MultiResponse) },
		func(dst []byte, r Response) []byte { return EncodeMultiResponse(dst, r.(*MultiResponse).Results) }},
}

func kindIndex(tb testing.TB, name string) int {
	tb.Helper()
	for i, k := range responseKinds {
		if k.name == name {
			return i
		}
	}
	tb.Fatalf("no response kind %q", name)
	return -1
}

// decodeRequest reads a request body as a server would, into the record the
// client encoded, so request encoders can be round-tripped. op tells a
// multi from a multiRead, which the body alone cannot.
func decodeRequest(d *Decoder, op int32) (Request, error) {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL:
		r := &CreateRequest{Op: op, Path: d.String(), Data: d.Bytes(), ACL: d.ACLs(), Flags: d.Int32()}
		if op == OpCreateTTL {
			r.TTL = d.Int64()
		}
		return r, nil
	case OpDelete:
		return &DeleteRequest{Path: d.String(), Version: d.Int32()}, nil
	case OpCheck:
		return &CheckVersionRequest{Path: d.String(), Version: d.Int32()}, nil
	case OpExists, OpGetData, OpGetChildren, OpGetChildren2:
		return &PathWatchRequest{Op: op, Path: d.String(), Watch: d.Bool()}, nil
	case OpGetACL, OpSync, OpGetEphemerals, OpGetAllChildrenNumber:
		return &PathRequest{Op: op, Path: d.String()}, nil
	case OpSetData:
		return &SetDataRequest{Path: d.String(), Data: d.Bytes(), Version: d.Int32()}, nil
	case OpSetACL:
		return &SetACLRequest{Path: d.String(), ACL: d.ACLs(), Version: d.Int32()}, nil
	case OpAuth:
		return &AuthRequest{Type: d.Int32(), Scheme: d.String(), Auth: d.Bytes()}, nil
	case OpSetWatches, OpSetWatches2:
		r := &SetWatchesRequest{Op: op, RelativeZxid: d.Int64(),
			DataWatches: d.Strings(), ExistWatches: d.Strings(), ChildWatches: d.Strings()}
		if op == OpSetWatches2 {
			r.PersistentWatches = d.Strings()
			r.PersistentRecursive = d.Strings()
		}
		return r, nil
	case OpAddWatch:
		return &AddWatchRequest{Path: d.String(), Mode: d.Int32()}, nil
	case OpCheckWatches, OpRemoveWatches:
		return &RemoveWatchesRequest{Op: op, Path: d.String(), Type: d.Int32()}, nil
	case OpPing, OpCloseSession, OpWhoAmI:
		return &EmptyRequest{Op: op}, nil
	case OpMulti, OpMultiRead:
		m := &MultiRequest{Read: op == OpMultiRead}
		for d.Err() == nil {
			sub, done, errCode := d.Int32(), d.Bool(), d.Int32()
			if d.Err() != nil {
				break
			}
			if done {
				if sub != -1 || errCode != -1 {
					return nil, fmt.Errorf("multi end header {%d, true, %d}, want {-1, true, -1}", sub, errCode)
				}
				return m, nil
			}
			if errCode != -1 {
				return nil, fmt.Errorf("multi op header err %d, want -1", errCode)
			}
			r, err := decodeRequest(d, sub)
			if err != nil {
				return nil, err
			}
			m.Ops = append(m.Ops, r)
		}
		return nil, d.Err()
	}
	return nil, fmt.Errorf("no test decoder for opcode %d", op)
}

// decodeRequestFrame reads a whole client frame: length, header and body.
func decodeRequestFrame(frame []byte) (RequestHeader, Request, error) {
	d := NewDecoder(frame)
	n := d.Int32()
	if d.Err() == nil && int(n) != d.Remaining() {
		return RequestHeader{}, nil, fmt.Errorf("frame length %d, %d bytes follow", n, d.Remaining())
	}
	var h RequestHeader
	h.Decode(d)
	r, err := decodeRequest(d, h.Opcode)
	if err == nil {
		err = d.Err()
	}
	if err == nil && d.Remaining() != 0 {
		err = fmt.Errorf("%d trailing bytes", d.Remaining())
	}
	return h, r, err
}

// appendRequestFrame frames a request the way the connection writer does.
func appendRequestFrame(dst []byte, xid int32, r Request) []byte {
	dst, start := AppendFrameStart(dst)
	dst = RequestHeader{Xid: xid, Opcode: r.Opcode()}.Encode(dst)
	dst = r.Encode(dst)
	return FinishFrame(dst, start)
}
