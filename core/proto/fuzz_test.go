package proto

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ and run with every
// `go test`. They are generated from fuzzSeeds; after changing a seed, run
//
//	go test ./core/proto/ -run=TestFuzzSeeds -update-fuzz-seeds
var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the generated seed corpora in testdata/fuzz")

// decodeReply reads a ReplyHeader and, when it reports success, the body
// the given kind of pending request expects, as the connection does.
func decodeReply(src []byte, kind responseKind) (ReplyHeader, Response, *Decoder) {
	d := NewDecoder(src)
	var h ReplyHeader
	h.Decode(d)
	r := kind.new()
	if d.Err() == nil && h.Err == 0 {
		r.Decode(d)
	}
	return h, r, d
}

func appendReply(dst []byte, h ReplyHeader, r Response, kind responseKind) []byte {
	dst = h.Encode(dst)
	if h.Err == 0 {
		dst = kind.encode(dst, r)
	}
	return dst
}

// FuzzResponse decodes a reply as the pending request of the kind picked by
// the first byte would, then checks that re-encoding what was decoded reads
// back the same and encodes to the same bytes.
func FuzzResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		kind := responseKinds[int(data[0])%len(responseKinds)]
		h, r, d := decodeReply(data[1:], kind)
		if err := d.Err(); err != nil {
			if !isDecodeError(err) {
				t.Fatalf("%s: undocumented error %v", kind.name, err)
			}
			return
		}
		enc := appendReply(nil, h, r, kind)
		h2, r2, d2 := decodeReply(enc, kind)
		if d2.Err() != nil || d2.Remaining() != 0 {
			t.Fatalf("%s: re-decode: %v, %d bytes left of % x", kind.name, d2.Err(), d2.Remaining(), enc)
		}
		if h2 != h || !reflect.DeepEqual(r2, r) {
			t.Fatalf("%s: round trip changed the reply:\n%+v %+v\n%+v %+v", kind.name, h, r, h2, r2)
		}
		checkStable(t, enc, appendReply(nil, h2, r2, kind))
	})
}

func checkStable(t *testing.T, enc, again []byte) {
	t.Helper()
	if !bytes.Equal(enc, again) {
		t.Fatalf("encoding is not stable:\n% x\n% x", enc, again)
	}
}

func FuzzConnectResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var r ConnectResponse
		d := NewDecoder(data)
		r.Decode(d)
		if err := d.Err(); err != nil {
			if !isDecodeError(err) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		enc := r.Encode(nil)
		var r2 ConnectResponse
		d = NewDecoder(enc)
		r2.Decode(d)
		if d.Err() != nil || d.Remaining() != 0 || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %+v -> %+v (%v, %d left)", r, r2, d.Err(), d.Remaining())
		}
		checkStable(t, enc, r2.Encode(nil))
	})
}

func FuzzMultiResponse(f *testing.F) {
	// Requests the reply must answer, as the client always decodes a
	// multi reply: every kind of operation a transaction or a multi read
	// sends, the fuzzer's first byte picking one of them.
	sentKinds := []*MultiRequest{
		{Ops: []Request{
			&CreateRequest{Op: OpCreate, Path: "/a"},
			&PathWatchRequest{Op: OpGetData, Path: "/b"},
			&CheckVersionRequest{Path: "/c"},
		}},
		{Ops: []Request{
			&CreateRequest{Op: OpCreate2, Path: "/a"},
			&CreateRequest{Op: OpCreateTTL, Path: "/t"},
			&CreateRequest{Op: OpCreateContainer, Path: "/k"},
			&SetDataRequest{Path: "/s"},
			&DeleteRequest{Path: "/d"},
		}},
		{Ops: []Request{
			&PathWatchRequest{Op: OpGetChildren, Path: "/g"},
			&PathWatchRequest{Op: OpGetData, Path: "/h"},
		}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 {
			sent := sentKinds[int(data[0])%len(sentKinds)]
			answer := MultiResponse{For: sent}
			answer.Decode(NewDecoder(data[1:]))
			if len(answer.Results) > len(sent.Ops) {
				t.Fatalf("%d results for %d operations", len(answer.Results), len(sent.Ops))
			}
		}
		var r MultiResponse
		d := NewDecoder(data)
		r.Decode(d)
		if err := d.Err(); err != nil {
			if !isDecodeError(err) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if len(r.Results) > len(data)/9 /* each result has a 9-byte MultiHeader */ {
			t.Fatalf("%d results from %d bytes", len(r.Results), len(data))
		}
		enc := EncodeMultiResponse(nil, r.Results)
		var r2 MultiResponse
		d = NewDecoder(enc)
		r2.Decode(d)
		if d.Err() != nil || d.Remaining() != 0 || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %+v -> %+v (%v, %d left)", r, r2, d.Err(), d.Remaining())
		}
		checkStable(t, enc, EncodeMultiResponse(nil, r2.Results))
	})
}

// FuzzWatcherEvent decodes a notification frame body: a ReplyHeader with
// xid -1 and a WatcherEvent.
func FuzzWatcherEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var h ReplyHeader
		var e WatcherEvent
		d := NewDecoder(data)
		h.Decode(d)
		e.Decode(d)
		if err := d.Err(); err != nil {
			if !isDecodeError(err) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		enc := e.Encode(h.Encode(nil))
		var h2 ReplyHeader
		var e2 WatcherEvent
		d = NewDecoder(enc)
		h2.Decode(d)
		e2.Decode(d)
		if d.Err() != nil || d.Remaining() != 0 || h != h2 || e != e2 {
			t.Fatalf("round trip: %+v %+v -> %+v %+v (%v, %d left)", h, e, h2, e2, d.Err(), d.Remaining())
		}
		checkStable(t, enc, e2.Encode(h2.Encode(nil)))
	})
}

// fuzzFrameLimit keeps FuzzReadFrame's allocations small.
const fuzzFrameLimit = 1 << 12

// FuzzReadFrame reads frames from a stream until an error, reusing one
// buffer, and checks the frames are exactly the stream's bytes.
func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var buf, rebuilt []byte
		for {
			frame, err := ReadFrame(r, buf, fuzzFrameLimit)
			if err != nil {
				if frame != nil {
					t.Fatalf("%d bytes returned with %v", len(frame), err)
				}
				consumed := len(data) - r.Len()
				switch {
				case err == io.EOF:
					if consumed != len(rebuilt) || r.Len() != 0 {
						t.Fatalf("io.EOF inside the stream, %d of %d bytes framed", len(rebuilt), len(data))
					}
				case errors.Is(err, io.ErrUnexpectedEOF):
					if r.Len() != 0 {
						t.Fatalf("ErrUnexpectedEOF with %d bytes unread", r.Len())
					}
				case errors.Is(err, ErrBadLength), errors.Is(err, ErrFrameTooLarge):
					if consumed != len(rebuilt)+4 {
						t.Fatalf("%v after reading %d bytes past the last frame", err, consumed-len(rebuilt))
					}
				default:
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(frame) > fuzzFrameLimit {
				t.Fatalf("%d-byte frame over the %d limit", len(frame), fuzzFrameLimit)
			}
			rebuilt = append(AppendInt32(rebuilt, int32(len(frame))), frame...)
			buf = frame[:0]
		}
		if !bytes.Equal(rebuilt, data[:len(rebuilt)]) {
			t.Fatalf("frames % x are not the stream % x", rebuilt, data)
		}
	})
}

type fuzzSeed struct {
	name string
	data []byte
}

// fuzzSeeds returns realistic inputs for each fuzz target.
func fuzzSeeds(t *testing.T) map[string][]fuzzSeed {
	t.Helper()
	okHeader := unhex(t, "00000001 0000000100000005 00000000")
	seeds := map[string][]fuzzSeed{}

	for _, rb := range replyBodies {
		kind := kindOf(t, rb.want)
		data := append([]byte{byte(kind)}, okHeader...)
		seeds["FuzzResponse"] = append(seeds["FuzzResponse"],
			fuzzSeed{"reply-" + rb.name, append(data, unhex(t, rb.hex)...)})
		if _, ok := rb.want.(*MultiResponse); ok {
			seeds["FuzzMultiResponse"] = append(seeds["FuzzMultiResponse"],
				fuzzSeed{rb.name, unhex(t, rb.hex)})
		}
	}
	seeds["FuzzResponse"] = append(seeds["FuzzResponse"],
		fuzzSeed{"reply-error-nonode", append([]byte{byte(kindIndex(t, "getData"))},
			unhex(t, "00000007 0000000100000005 ffffff9b")...)},
		fuzzSeed{"reply-ping", append([]byte{byte(kindIndex(t, "empty"))},
			unhex(t, "fffffffe 0000000100000005 00000000")...)},
	)

	connResp := unhex(t, connectResponseHex)
	seeds["FuzzConnectResponse"] = []fuzzSeed{
		{"read-only", append(bytes.Clone(connResp), 1)},
		{"read-write", append(bytes.Clone(connResp), 0)},
		{"pre-3.4-server", connResp},
		{"expired", unhex(t, "00000000 00000000 0000000000000000 00000010 00000000000000000000000000000000 00")},
		{"null-password", unhex(t, "00000000 00007530 0000000000000001 ffffffff 00")},
	}

	notification := func(typ, state int32, path string) []byte {
		h := ReplyHeader{Xid: XidNotification, Zxid: -1}
		return (&WatcherEvent{Type: typ, State: state, Path: path}).Encode(h.Encode(nil))
	}
	seeds["FuzzWatcherEvent"] = []fuzzSeed{
		{"node-created", notification(EventNodeCreated, StateSyncConnected, "/app/a")},
		{"node-deleted", notification(EventNodeDeleted, StateSyncConnected, "/app/lock-0000000001")},
		{"data-changed", notification(EventNodeDataChanged, StateSyncConnected, "/app/config")},
		{"children-changed", notification(EventNodeChildrenChanged, StateSyncConnected, "/")},
		{"persistent-watch-removed", notification(EventPersistentWatchRemoved, StateSyncConnected, "/app")},
		{"session-expired", notification(EventNone, StateExpired, "")},
		{"disconnected", notification(EventNone, StateDisconnected, "")},
	}

	frame := func(body []byte) []byte {
		b, start := AppendFrameStart(nil)
		return FinishFrame(append(b, body...), start)
	}
	pingReply := frame(unhex(t, "fffffffe 0000000100000005 00000000"))
	getDataReply := frame(unhex(t, "00000001 0000000100000005 00000000 00000005 68656c6c6f"+sampleStatHex))
	seeds["FuzzReadFrame"] = []fuzzSeed{
		{"ping-reply", pingReply},
		{"connect-response", frame(append(bytes.Clone(connResp), 0))},
		{"notification", frame(notification(EventNodeDataChanged, StateSyncConnected, "/app/config"))},
		{"get-data-reply", getDataReply},
		{"three-frames", bytes.Join([][]byte{pingReply, getDataReply, pingReply}, nil)},
		{"empty-frame", unhex(t, "00000000")},
		{"truncated-body", getDataReply[:len(getDataReply)-10]},
		{"negative-length", unhex(t, "ffffffff 00000000")},
		{"over-limit", unhex(t, "00100000 00")},
	}
	return seeds
}

// kindOf returns the index in responseKinds of r's record type.
func kindOf(t *testing.T, r Response) int {
	t.Helper()
	for i, k := range responseKinds {
		if reflect.TypeOf(k.new()) == reflect.TypeOf(r) {
			return i
		}
	}
	t.Fatalf("no response kind for %T", r)
	return -1
}

// marshalSeed writes data in the corpus file format of `go test -fuzz`.
func marshalSeed(data []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data)
}

// TestFuzzSeeds checks that the committed seed corpora are the ones
// fuzzSeeds generates, or rewrites them with -update-fuzz-seeds.
func TestFuzzSeeds(t *testing.T) {
	for target, seeds := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateFuzzSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range seeds {
			path := filepath.Join(dir, "seed-"+strings.ReplaceAll(s.name, " ", "-"))
			want := marshalSeed(s.data)
			if *updateFuzzSeeds {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is missing or stale (%v); run go test ./core/proto/ -run=TestFuzzSeeds -update-fuzz-seeds", path, err)
			}
		}
	}
}
