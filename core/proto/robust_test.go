package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// validFrame is a complete record and the decoder that reads it. A prefix
// of a valid frame must fail to decode, except at the lengths in okAt.
type validFrame struct {
	name   string
	src    []byte
	decode func(d *Decoder)
	okAt   []int
}

func validFrames(t *testing.T) []validFrame {
	t.Helper()
	var frames []validFrame
	for _, rb := range replyBodies {
		if rb.hex == "" {
			continue // an empty body has no prefix to truncate
		}
		want := rb.want
		frames = append(frames, validFrame{
			name: "reply " + rb.name,
			src:  unhex(t, "00000001 0000000100000005 00000000"+rb.hex),
			decode: func(d *Decoder) {
				var h ReplyHeader
				h.Decode(d)
				newLike(want).Decode(d)
			},
		})
	}
	connReq := unhex(t, connectRequestResumeHex)[4:]
	connResp := unhex(t, connectResponseHex+"01")
	frames = append(frames,
		// The trailing read-only flag is optional in both connect records.
		validFrame{name: "ConnectRequest", src: connReq, okAt: []int{len(connReq) - 1},
			decode: func(d *Decoder) { new(ConnectRequest).Decode(d) }},
		validFrame{name: "ConnectResponse", src: connResp, okAt: []int{len(connResp) - 1},
			decode: func(d *Decoder) { new(ConnectResponse).Decode(d) }},
		validFrame{name: "RequestHeader", src: unhex(t, "00000001 00000004"),
			decode: func(d *Decoder) { new(RequestHeader).Decode(d) }},
		validFrame{name: "Stat", src: unhex(t, sampleStatHex),
			decode: func(d *Decoder) { new(Stat).Decode(d) }},
		validFrame{name: "notification", src: unhex(t, "ffffffff ffffffffffffffff 00000000 00000001 00000003 00000002 2f61"),
			decode: func(d *Decoder) {
				var h ReplyHeader
				h.Decode(d)
				new(WatcherEvent).Decode(d)
			}},
	)
	// Request bodies, read as a server would: this checks that a truncated
	// request can never be mistaken for a shorter valid one.
	for _, r := range []Request{
		&CreateRequest{Op: OpCreateTTL, Path: "/a", Data: []byte("d"), ACL: worldAnyone, Flags: FlagPersistentWithTTL, TTL: 5},
		&SetWatchesRequest{Op: OpSetWatches2, RelativeZxid: 1, DataWatches: []string{"/a"}, PersistentRecursive: []string{"/r"}},
		&MultiRequest{Ops: []Request{&DeleteRequest{Path: "/a", Version: -1}, &CheckVersionRequest{Path: "/b"}}},
		&AuthRequest{Scheme: "digest", Auth: []byte("u:p")},
	} {
		frames = append(frames, validFrame{
			name:   fmt.Sprintf("request %T", r),
			src:    r.Encode(nil),
			decode: func(d *Decoder) { _, _ = decodeRequest(d, r.Opcode()) },
		})
	}
	return frames
}

// newLike returns a fresh zero record of r's type.
func newLike(r Response) Response {
	return reflect.New(reflect.TypeOf(r).Elem()).Interface().(Response)
}

func TestTruncatedFramesFail(t *testing.T) {
	for _, f := range validFrames(t) {
		t.Run(f.name, func(t *testing.T) {
			d := NewDecoder(f.src)
			f.decode(d)
			if d.Err() != nil || d.Remaining() != 0 {
				t.Fatalf("full frame: err %v, %d bytes left", d.Err(), d.Remaining())
			}
			for n := 0; n < len(f.src); n++ {
				// A copy sized exactly n makes any read past the end visible
				// to the race detector and to bounds checks.
				prefix := bytes.Clone(f.src[:n])
				d.Reset(prefix)
				f.decode(d)
				err := d.Err()
				switch {
				case containsInt(f.okAt, n):
					if err != nil {
						t.Errorf("prefix %d/%d: %v, want success", n, len(f.src), err)
					}
				case err == nil:
					t.Errorf("prefix %d/%d decoded without error", n, len(f.src))
				case !errors.Is(err, ErrShortBuffer) && !errors.Is(err, ErrBadLength):
					t.Errorf("prefix %d/%d: %v, want ErrShortBuffer or ErrBadLength", n, len(f.src), err)
				}
			}
		})
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestBadLengths(t *testing.T) {
	bytesOf := func(d *Decoder) { d.Bytes() }
	viewOf := func(d *Decoder) { d.BytesView() }
	stringOf := func(d *Decoder) { _ = d.String() }
	stringsOf := func(d *Decoder) { d.Strings() }
	aclsOf := func(d *Decoder) { d.ACLs() }
	tests := []struct {
		name string
		hex  string
		read func(d *Decoder)
		want error
	}{
		{"int32 with 3 bytes", "000000", func(d *Decoder) { d.Int32() }, ErrShortBuffer},
		{"int64 with 7 bytes", "00000000000000", func(d *Decoder) { d.Int64() }, ErrShortBuffer},
		{"bool with no bytes", "", func(d *Decoder) { d.Bool() }, ErrShortBuffer},
		{"buffer length prefix cut", "000000", bytesOf, ErrShortBuffer},
		{"buffer length -2", "fffffffe 61", bytesOf, ErrBadLength},
		{"buffer length MinInt32", "80000000 61", bytesOf, ErrBadLength},
		{"buffer length MaxInt32", "7fffffff 616263", bytesOf, ErrBadLength},
		{"buffer one byte longer than input", "00000005 61626364", bytesOf, ErrBadLength},
		{"buffer view length -2", "fffffffe", viewOf, ErrBadLength},
		{"buffer view length MaxInt32", "7fffffff 00", viewOf, ErrBadLength},
		{"string length -100", "ffffff9c 2f", stringOf, ErrBadLength},
		{"string length MaxInt32", "7fffffff 2f", stringOf, ErrBadLength},
		{"string longer than input", "00000003 2f61", stringOf, ErrBadLength},
		{"vector count -2", "fffffffe", stringsOf, ErrBadLength},
		{"vector count MinInt32", "80000000", stringsOf, ErrBadLength},
		{"vector count MaxInt32", "7fffffff 00000000", stringsOf, ErrBadLength},
		{"vector count exceeds bytes left", "00000002 00000000", stringsOf, ErrBadLength},
		{"vector element longer than input", "00000001 00000005 6162", stringsOf, ErrBadLength},
		{"vector element length negative", "00000001 fffffffe", stringsOf, ErrBadLength},
		{"vector second element cut", "00000002 00000001 61 000000", stringsOf, ErrShortBuffer},
		{"ACL count -5", "fffffffb", aclsOf, ErrBadLength},
		{"ACL count exceeds bytes left", "00000001 00000000 00000000", aclsOf, ErrBadLength},
		{"ACL count MaxInt32", "7fffffff 0000001f 00000000 00000000", aclsOf, ErrBadLength},
		{"ACL scheme longer than input", "00000001 0000001f 00000009 00000000", aclsOf, ErrBadLength},
		{"whoAmI count exceeds bytes left", "00000002 00000000 00000000",
			func(d *Decoder) { new(WhoAmIResponse).Decode(d) }, ErrBadLength},
		{"whoAmI count -7", "fffffff9", func(d *Decoder) { new(WhoAmIResponse).Decode(d) }, ErrBadLength},
		{"getData length exceeds frame", "00000100 00",
			func(d *Decoder) { new(GetDataResponse).Decode(d) }, ErrBadLength},
		{"getData stat cut", "00000000 0000000100000002",
			func(d *Decoder) { new(GetDataResponse).Decode(d) }, ErrShortBuffer},
		{"multi without end header", "00000002 00 00000000",
			func(d *Decoder) { new(MultiResponse).Decode(d) }, ErrShortBuffer},
		{"multi header cut", "00000002 00",
			func(d *Decoder) { new(MultiResponse).Decode(d) }, ErrShortBuffer},
		{"multi create path negative", "00000001 00 00000000 fffffffe ffffffff 01 ffffffff",
			func(d *Decoder) { new(MultiResponse).Decode(d) }, ErrBadLength},
		{"multi children count huge", "00000008 00 00000000 7ffffff0 ffffffff 01 ffffffff",
			func(d *Decoder) { new(MultiResponse).Decode(d) }, ErrBadLength},
		{"connect passwd length huge", "00000000 00007530 0000000000000001 7fffff00 00",
			func(d *Decoder) { new(ConnectResponse).Decode(d) }, ErrBadLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(unhex(t, tt.hex))
			tt.read(d)
			if !errors.Is(d.Err(), tt.want) {
				t.Fatalf("got %v, want %v", d.Err(), tt.want)
			}
		})
	}
}

func TestDecoderErrorSticks(t *testing.T) {
	d := NewDecoder(unhex(t, "000000ff 00000001 02"))
	if b := d.Bytes(); b != nil {
		t.Fatalf("bad buffer read as %v", b)
	}
	first := d.Err()
	if !errors.Is(first, ErrBadLength) {
		t.Fatalf("got %v, want ErrBadLength", first)
	}
	left := d.Remaining()
	// Bytes remain, but every read after the first error yields zero.
	if v := d.Int32(); v != 0 {
		t.Errorf("Int32 after error: %d", v)
	}
	if v := d.Bool(); v {
		t.Errorf("Bool after error: true")
	}
	if v := d.Int64(); v != 0 {
		t.Errorf("Int64 after error: %d", v)
	}
	if v := d.String(); v != "" {
		t.Errorf("String after error: %q", v)
	}
	if v := d.Strings(); v != nil {
		t.Errorf("Strings after error: %q", v)
	}
	if v := d.ACLs(); v != nil {
		t.Errorf("ACLs after error: %v", v)
	}
	if d.Err() != first || d.Remaining() != left {
		t.Errorf("error %v and remaining %d changed to %v and %d", first, left, d.Err(), d.Remaining())
	}

	// A later, different failure does not replace the first.
	d = NewDecoder(unhex(t, "00"))
	d.Int32()
	_ = d.String()
	if !errors.Is(d.Err(), ErrShortBuffer) {
		t.Errorf("got %v, want the first error ErrShortBuffer", d.Err())
	}

	d.Reset(unhex(t, "0000002a"))
	if d.Err() != nil || d.Int32() != 42 || d.Remaining() != 0 {
		t.Errorf("Reset did not clear the error: %v", d.Err())
	}

	var zero Decoder
	if zero.Int32() != 0 || !errors.Is(zero.Err(), ErrShortBuffer) {
		t.Errorf("zero Decoder: %v", zero.Err())
	}
}

// allocated returns the bytes f allocates on the heap. Tests that use it
// must not run in parallel.
//
// The count is process-wide, so a background allocation of the runtime or
// the testing package can land in it now and then: f runs five times and
// the least is kept. What f allocates itself shows in every run.
func allocated(f func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// A length or count is checked against the bytes left before anything is
// allocated, so a hostile prefix cannot make the decoder reserve gigabytes.
func TestHugeClaimsDoNotAllocate(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		read func(d *Decoder)
	}{
		{"buffer of 2 GiB", "7fffffff 00000000", func(d *Decoder) { d.Bytes() }},
		{"string of 2 GiB", "7fffffff 00000000", func(d *Decoder) { _ = d.String() }},
		{"vector of 2^31-1 strings", "7fffffff 00000000 00000000", func(d *Decoder) { d.Strings() }},
		{"vector of 2^31-1 ACLs", "7fffffff 00000000 00000000 00000000", func(d *Decoder) { d.ACLs() }},
		{"whoAmI of 2^31-1 infos", "7fffffff 00000000 00000000", func(d *Decoder) { new(WhoAmIResponse).Decode(d) }},
		{"children2 of 2^28 names", "10000000 00000000", func(d *Decoder) { new(Children2Response).Decode(d) }},
		{"getACL of 2^28 entries", "10000000 00000000", func(d *Decoder) { new(GetACLResponse).Decode(d) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := unhex(t, tt.hex)
			var err error
			n := allocated(func() {
				d := NewDecoder(src)
				tt.read(d)
				err = d.Err()
			})
			if !errors.Is(err, ErrBadLength) {
				t.Fatalf("got %v, want ErrBadLength", err)
			}
			// The error value itself allocates a little.
			if n > 4096 {
				t.Errorf("allocated %d bytes for a %d-byte input", n, len(src))
			}
		})
	}
}

// Within the bounds checks a valid frame can still expand into more memory
// than it occupies. The expansion is bounded by a constant factor, so
// DefaultMaxFrame bounds what one frame can cost.
func TestDecodeExpansionIsBounded(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name   string
		elem   []byte
		read   func(d *Decoder)
		factor uint64
	}{
		{"empty child names", unhex(t, "00000000"), func(d *Decoder) { new(ChildrenResponse).Decode(d) }, 8},
		{"empty ACLs", unhex(t, "00000000 00000000 00000000"), func(d *Decoder) { d.ACLs() }, 8},
		{"empty whoAmI infos", unhex(t, "00000000 00000000"), func(d *Decoder) { new(WhoAmIResponse).Decode(d) }, 8},
		// Each 9-byte delete result becomes a 152-byte MultiResult (17x),
		// and the results slice grows by append, so the copies left behind
		// bring the total to about 93x: the worst case of the package.
		{"multi delete results", unhex(t, "00000002 00 00000000"), func(d *Decoder) { new(MultiResponse).Decode(d) }, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count := size / len(tt.elem)
			var src []byte
			if strings.HasPrefix(tt.name, "multi") {
				src = append(bytes.Repeat(tt.elem, count), unhex(t, "ffffffff 01 ffffffff")...)
			} else {
				src = append(AppendInt32(nil, int32(count)), bytes.Repeat(tt.elem, count)...)
			}
			var err error
			n := allocated(func() {
				d := NewDecoder(src)
				tt.read(d)
				err = d.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d-byte frame allocated %d bytes (%.1fx)", len(src), n, float64(n)/float64(len(src)))
			if n > tt.factor*uint64(len(src)) {
				t.Errorf("allocated %d bytes for a %d-byte frame, over %dx", n, len(src), tt.factor)
			}
		})
	}
}

func TestReadFrame(t *testing.T) {
	ping := unhex(t, "00000010 fffffffe 0000000100000005 00000000")
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    []byte
		wantErr error
	}{
		{"ping reply", ping, DefaultMaxFrame, ping[4:], nil},
		{"at the limit", ping, 16, ping[4:], nil},
		{"empty frame", unhex(t, "00000000"), 16, []byte{}, nil},
		{"trailing bytes stay unread", append(bytes.Clone(ping), 0xff), 16, ping[4:], nil},
		{"no input", nil, 16, nil, io.EOF},
		{"header cut", unhex(t, "000000"), 16, nil, io.ErrUnexpectedEOF},
		{"negative length", unhex(t, "ffffffff 00"), 16, nil, ErrBadLength},
		{"MinInt32 length", unhex(t, "80000000"), 16, nil, ErrBadLength},
		{"one over the limit", ping, 15, nil, ErrFrameTooLarge},
		{"over DefaultMaxFrame", unhex(t, "7fffffff"), DefaultMaxFrame, nil, ErrFrameTooLarge},
		{"no body", unhex(t, "00000004"), 16, nil, io.ErrUnexpectedEOF},
		{"short body", unhex(t, "00000004 0102"), 16, nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFrame(bytes.NewReader(tt.in), nil, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if got != nil {
					t.Errorf("returned %d bytes with the error", len(got))
				}
				return
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got % x, want % x", got, tt.want)
			}
		})
	}
}

func TestReadFrameBuffer(t *testing.T) {
	frames := appendRequestFrame(nil, 1, &PathRequest{Op: OpSync, Path: "/a"})                  // 14-byte body
	frames = appendRequestFrame(frames, 2, &PathRequest{Op: OpSync, Path: "/abcdefghijklmnop"}) // 29-byte body
	frames = appendRequestFrame(frames, XidPing, &EmptyRequest{Op: OpPing})                     // 8-byte body

	// A reader that returns one byte at a time checks the reads are full.
	r := iotest.OneByteReader(bytes.NewReader(frames))
	buf := make([]byte, 0, 16)
	var got [][]byte
	var reused []bool
	for {
		frame, err := ReadFrame(r, buf, 64)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		reused = append(reused, &frame[:1][0] == &buf[:1][0])
		got = append(got, bytes.Clone(frame))
		buf = frame[:0]
	}
	if want := []bool{true, false, true}; !reflect.DeepEqual(reused, want) {
		t.Errorf("buffer reused %v, want %v (grown only for the 29-byte frame)", reused, want)
	}
	var rebuilt []byte
	for _, f := range got {
		rebuilt = append(AppendInt32(rebuilt, int32(len(f))), f...)
	}
	checkBytes(t, "frames", rebuilt, frames)
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestReadFrameReaderError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := ReadFrame(failingReader{boom}, nil, 16); !errors.Is(err, boom) {
		t.Errorf("header: got %v, want boom", err)
	}
	r := io.MultiReader(bytes.NewReader(unhex(t, "00000008 01")), failingReader{boom})
	if _, err := ReadFrame(r, nil, 16); !errors.Is(err, boom) {
		t.Errorf("body: got %v, want boom", err)
	}
}

// ReadFrame rejects an over-limit length before allocating its body.
func TestReadFrameHugeClaimDoesNotAllocate(t *testing.T) {
	src := unhex(t, "7fffffff 00")
	var err error
	n := allocated(func() { _, err = ReadFrame(bytes.NewReader(src), nil, DefaultMaxFrame) })
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v", err)
	}
	if n > 4096 {
		t.Errorf("allocated %d bytes", n)
	}
	if !strings.Contains(err.Error(), "2147483647") {
		t.Errorf("error %q does not name the length", err)
	}
}

// The read path runs once per server frame, so reading into a buffer that
// is large enough must not allocate.
func TestReadFrameIntoReusedBufferDoesNotAllocate(t *testing.T) {
	frame := appendRequestFrame(nil, 1, &PathWatchRequest{Op: OpGetData, Path: "/a", Watch: true})
	r := bytes.NewReader(frame)
	buf := make([]byte, 0, 64)
	n := testing.AllocsPerRun(100, func() {
		r.Reset(frame)
		var err error
		if buf, err = ReadFrame(r, buf[:0], DefaultMaxFrame); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocs per ReadFrame into a reused buffer, want 0", n)
	}
}

// A multi reply that names its request (MultiResponse.For) must answer it
// exactly: one result per operation, each of a type that answers it. A
// reply with more results fails at the first one too many, so a frame of a
// million results to a one-operation request costs nothing.
func TestMultiResultsMatchTheirRequest(t *testing.T) {
	req := &MultiRequest{Ops: []Request{
		&CreateRequest{Op: OpCreateTTL, Path: "/t"},
		&SetDataRequest{Path: "/s"},
		&CheckVersionRequest{Path: "/c"},
	}}
	stat := sampleStat
	good := []MultiResult{{Op: OpCreate2, Path: "/t", Stat: stat, HasStat: true}, {Op: OpSetData, Stat: stat, HasStat: true}, {Op: OpCheck}}
	failed := []MultiResult{{Op: OpError, Err: 0}, {Op: OpError, Err: -101}, {Op: OpError, Err: -2}}
	for _, tc := range []struct {
		name    string
		results []MultiResult
		want    string // "" for a reply that decodes
	}{
		{"matching", good, ""},
		{"failed transaction", failed, ""},
		{"refused as a whole", nil, ""},
		{"wrong type", []MultiResult{good[0], {Op: OpDelete}, good[2]}, "multi result 1 of type 2 answers an operation 5"},
		{"one too few", good[:2], "2 multi results for 3 operations"},
		{"one too many", append(slices.Clone(good), MultiResult{Op: OpCheck}), "more multi results than the 3 operations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := MultiResponse{For: req}
			d := NewDecoder(EncodeMultiResponse(nil, tc.results))
			r.Decode(d)
			if tc.want == "" {
				if d.Err() != nil || len(r.Results) != len(tc.results) {
					t.Fatalf("Decode: %v, %d results; want %d", d.Err(), len(r.Results), len(tc.results))
				}
				return
			}
			if d.Err() == nil || !strings.Contains(d.Err().Error(), tc.want) {
				t.Fatalf("Decode: %v, want %q", d.Err(), tc.want)
			}
		})
	}

	one := &MultiRequest{Ops: []Request{&CheckVersionRequest{Path: "/c", Version: -1}}}
	src := append(bytes.Repeat(unhex(t, "0000000d 00 00000000"), 1<<20/9), unhex(t, "ffffffff 01 ffffffff")...)
	var err error
	n := allocated(func() {
		d := NewDecoder(src)
		(&MultiResponse{For: one}).Decode(d)
		err = d.Err()
	})
	if err == nil || n > 4096 {
		t.Errorf("a million results to one check: %v, %d bytes allocated; want an error and next to nothing", err, n)
	}
}
