package core

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/zkit-go/zkit/core/proto"
)

// stutter hands out its data a few bytes at a time and fails with a
// deadline error between some of the pieces, as a socket read whose turn
// ends does.
type stutter struct {
	data []byte
	rng  *rand.Rand
	stop bool // the next Read times out
}

func (s *stutter) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	if s.stop {
		s.stop = false
		return 0, os.ErrDeadlineExceeded
	}
	n := min(len(p), len(s.data), 1+s.rng.IntN(7))
	copy(p, s.data[:n])
	s.data = s.data[n:]
	s.stop = s.rng.IntN(2) == 0
	return n, nil
}

func frameOf(body []byte) []byte {
	f := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(f, body...)
}

// A frame whose reading stops on deadlines, between any two bytes, comes
// out whole, and the frames after it too.
func TestFrameReaderResumesAfterDeadlines(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i := range 200 {
		body := bytes.Repeat([]byte{byte(i)}, i%37)
		want = append(want, body)
		stream = append(stream, frameOf(body)...)
	}
	for seed := range uint64(20) {
		src := &stutter{data: stream, rng: rand.New(rand.NewPCG(seed, 1))}
		// A 16-byte buffer makes bufio pass most reads through.
		fr := newFrameReader(bufio.NewReaderSize(src, 16), 1<<20)
		var timeouts int
		for i := 0; i < len(want); {
			frame, err := fr.next()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				timeouts++
				continue
			}
			if err != nil {
				t.Fatalf("seed %d, frame %d: %v", seed, i, err)
			}
			if !bytes.Equal(frame, want[i]) {
				t.Fatalf("seed %d, frame %d: got %x, want %x", seed, i, frame, want[i])
			}
			i++
		}
		if timeouts == 0 {
			t.Fatalf("seed %d: no read stopped on a deadline", seed)
		}
		if _, err := fr.next(); err != io.EOF {
			t.Fatalf("seed %d: after the last frame: %v, want io.EOF", seed, err)
		}
	}
}

func TestFrameReaderErrors(t *testing.T) {
	read := func(stream []byte, limit int) error {
		_, err := newFrameReader(bufio.NewReader(bytes.NewReader(stream)), limit).next()
		return err
	}
	if err := read(frameOf(make([]byte, 10))[:7], 100); err != io.ErrUnexpectedEOF {
		t.Errorf("cut in the body: %v, want io.ErrUnexpectedEOF", err)
	}
	if err := read([]byte{0, 0}, 100); err != io.ErrUnexpectedEOF {
		t.Errorf("cut in the length: %v, want io.ErrUnexpectedEOF", err)
	}
	if err := read(nil, 100); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
	if err := read(frameOf(make([]byte, 101)), 100); !errors.Is(err, proto.ErrFrameTooLarge) {
		t.Errorf("frame over the limit: %v, want ErrFrameTooLarge", err)
	}
	if err := read([]byte{0xff, 0xff, 0xff, 0xfe}, 100); !errors.Is(err, proto.ErrBadLength) {
		t.Errorf("negative length: %v, want ErrBadLength", err)
	}
}

// A frame larger than the first buffer comes out whole while its buffer
// grows, also when its reading stops on deadlines.
func TestFrameReaderGrowsLargeFrames(t *testing.T) {
	body := make([]byte, 5*firstBodyBuffer+123)
	for i := range body {
		body[i] = byte(i * 7)
	}
	stream := append(frameOf(body), frameOf([]byte("after"))...)
	src := &stutter{data: stream, rng: rand.New(rand.NewPCG(3, 1))}
	fr := newFrameReader(bufio.NewReaderSize(src, 4096), 1<<20)
	var got [][]byte
	for len(got) < 2 {
		frame, err := fr.next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bytes.Clone(frame))
	}
	if !bytes.Equal(got[0], body) || string(got[1]) != "after" {
		t.Fatalf("frames of %d and %d bytes, want %d and 5", len(got[0]), len(got[1]), len(body))
	}
}

// A length prefix alone, however large the limit lets it be, costs the
// client no buffer of that size: the buffer grows as the bytes come.
func TestFrameReaderLengthAloneCostsLittle(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fr := newFrameReader(bufio.NewReader(bytes.NewReader([]byte{0x7f, 0xff, 0xff, 0xff})), math.MaxInt32)
	if _, err := fr.next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("a length without its frame: %v, want io.ErrUnexpectedEOF", err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("reading a 2 GiB length allocated %d bytes", grew)
	}
}

func TestUnitReplyFrameLimitSaturates(t *testing.T) {
	if got := replyFrameLimit(math.MaxInt); got != math.MaxInt32 {
		t.Fatalf("replyFrameLimit(MaxInt) = %d, want %d", got, math.MaxInt32)
	}
	if got := replyFrameLimit(0xfffff); got != proto.DefaultMaxFrame {
		t.Fatalf("replyFrameLimit(default) = %d, want %d", got, proto.DefaultMaxFrame)
	}
}

// FuzzFrameReader reads whatever a server may send as frames: it never
// panics, never returns a frame over its limit, and fails only with a
// read error or a bad length.
func FuzzFrameReader(f *testing.F) {
	f.Add(append(frameOf([]byte("one")), frameOf(nil)...), uint8(16))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2}, uint8(255))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint8(0))
	f.Fuzz(func(t *testing.T, stream []byte, limit uint8) {
		fr := newFrameReader(bufio.NewReaderSize(bytes.NewReader(stream), 16), int(limit)<<4)
		for range len(stream) + 1 {
			frame, err := fr.next()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF &&
					!errors.Is(err, proto.ErrBadLength) && !errors.Is(err, proto.ErrFrameTooLarge) {
					t.Fatalf("undocumented error %v", err)
				}
				return
			}
			if len(frame) > int(limit)<<4 {
				t.Fatalf("a frame of %d bytes over the limit %d", len(frame), int(limit)<<4)
			}
		}
		t.Fatal("more frames than bytes")
	})
}
