package proto

import (
	"bytes"
	"fmt"
	"testing"
)

var (
	benchGetData = &PathWatchRequest{Op: OpGetData, Path: "/app/config/service-a", Watch: true}
	benchCreate  = &CreateRequest{Op: OpCreate2, Path: "/app/locks/lock-", Data: []byte("host-17:4242"),
		ACL: worldAnyone, Flags: FlagEphemeralSequential}
	benchMulti = &MultiRequest{Ops: []Request{
		&CreateRequest{Op: OpCreate, Path: "/app/jobs/42", Data: []byte("pending"), ACL: worldAnyone},
		&CreateRequest{Op: OpCreate, Path: "/app/jobs/42/owner", Data: []byte("host-17"), ACL: worldAnyone, Flags: FlagEphemeral},
		&SetDataRequest{Path: "/app/jobs", Data: []byte("43"), Version: 41},
		&CheckVersionRequest{Path: "/app", Version: 3},
		&DeleteRequest{Path: "/app/queue/42", Version: -1},
	}}
	benchData     = bytes.Repeat([]byte("0123456789"), 10)
	benchChildren = func() []string {
		names := make([]string, 100)
		for i := range names {
			names[i] = fmt.Sprintf("member-%010d", i)
		}
		return names
	}()
)

// appendReplyFrame frames a server reply, as the tests' server side does.
func appendReplyFrame(dst []byte, h ReplyHeader, body func([]byte) []byte) []byte {
	dst, start := AppendFrameStart(dst)
	return FinishFrame(body(h.Encode(dst)), start)
}

func encodeGetDataReply(dst []byte) []byte {
	return appendReplyFrame(dst, ReplyHeader{Xid: 1, Zxid: 0x100000005}, func(b []byte) []byte {
		return sampleStat.Encode(AppendBuffer(b, benchData))
	})
}

func encodeChildren2Reply(dst []byte) []byte {
	return appendReplyFrame(dst, ReplyHeader{Xid: 1, Zxid: 0x100000005}, func(b []byte) []byte {
		return sampleStat.Encode(AppendStrings(b, benchChildren))
	})
}

var benchEncoders = []struct {
	name string
	enc  func(dst []byte) []byte
}{
	{"getData-request", func(dst []byte) []byte { return appendRequestFrame(dst, 1, benchGetData) }},
	{"getData-reply-100B", encodeGetDataReply},
	{"create-request", func(dst []byte) []byte { return appendRequestFrame(dst, 1, benchCreate) }},
	{"children2-reply-100", encodeChildren2Reply},
	{"multi-request-5ops", func(dst []byte) []byte { return appendRequestFrame(dst, 1, benchMulti) }},
}

// Encoding into a reused buffer must not allocate.
func BenchmarkEncode(b *testing.B) {
	for _, bc := range benchEncoders {
		b.Run(bc.name, func(b *testing.B) {
			buf := bc.enc(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = bc.enc(buf[:0])
			}
		})
	}
}

func TestEncodeIntoReusedBufferDoesNotAllocate(t *testing.T) {
	for _, bc := range benchEncoders {
		buf := bc.enc(nil)
		if n := testing.AllocsPerRun(100, func() { buf = bc.enc(buf[:0]) }); n != 0 {
			t.Errorf("%s: %v allocs per encode", bc.name, n)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	decoders := []struct {
		name   string
		frame  []byte
		decode func(d *Decoder)
	}{
		{"getData-request", benchEncoders[0].enc(nil), func(d *Decoder) {
			// Server side: header, then the body it names.
			var h RequestHeader
			h.Decode(d)
			r := PathWatchRequest{Op: h.Opcode, Path: d.String(), Watch: d.Bool()}
			_ = r
		}},
		{"getData-reply-100B", encodeGetDataReply(nil), func(d *Decoder) {
			var h ReplyHeader
			var r GetDataResponse
			h.Decode(d)
			r.Decode(d)
		}},
		{"create-request", benchEncoders[2].enc(nil), func(d *Decoder) {
			var h RequestHeader
			h.Decode(d)
			r := CreateRequest{Op: h.Opcode, Path: d.String(), Data: d.Bytes(), ACL: d.ACLs(), Flags: d.Int32()}
			_ = r
		}},
		{"children2-reply-100", encodeChildren2Reply(nil), func(d *Decoder) {
			var h ReplyHeader
			var r Children2Response
			h.Decode(d)
			r.Decode(d)
		}},
		{"multi-request-5ops", benchEncoders[4].enc(nil), func(d *Decoder) {
			var h RequestHeader
			h.Decode(d)
			_, _ = decodeRequest(d, h.Opcode)
		}},
	}
	for _, bc := range decoders {
		b.Run(bc.name, func(b *testing.B) {
			body := bc.frame[4:]
			var d Decoder
			d.Reset(body)
			bc.decode(&d)
			if d.Err() != nil || d.Remaining() != 0 {
				b.Fatalf("decode: %v, %d bytes left", d.Err(), d.Remaining())
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				d.Reset(body)
				bc.decode(&d)
			}
		})
	}
}

// BenchmarkReadFrame reads a getData reply into a reused buffer.
func BenchmarkReadFrame(b *testing.B) {
	frame := encodeGetDataReply(nil)
	r := bytes.NewReader(frame)
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(frame)
		var err error
		if buf, err = ReadFrame(r, buf[:0], DefaultMaxFrame); err != nil {
			b.Fatal(err)
		}
	}
}
