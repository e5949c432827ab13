package core

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/zkit-go/zkit/core/proto"
)

// frameReader reads length-prefixed frames from a connection. The
// goroutines that take turns at reading a connection share one, and a read
// that stops on a deadline keeps what it has read: the next turn goes on
// with the same frame, wherever the previous one stopped.
type frameReader struct {
	r     *bufio.Reader
	limit int

	head   [4]byte
	nhead  int
	inBody bool
	size   int    // the length of the frame being read
	body   []byte // the frame being read, as far as its buffer has grown
	nbody  int
	spare  []byte // a buffer to reuse, when it is small enough to keep
}

// firstBodyBuffer is the most a frame's buffer takes before its bytes
// come: a larger frame's buffer grows as they do, so that a length prefix
// alone, from a server gone wrong, costs little whatever the limit.
const firstBodyBuffer = 64 << 10

func newFrameReader(r *bufio.Reader, limit int) *frameReader {
	return &frameReader{r: r, limit: limit}
}

// next returns the next whole frame. The frame is valid until the next
// call. On an error nothing read is lost: after a timeout, the next call
// goes on where this one stopped.
func (f *frameReader) next() ([]byte, error) {
	for f.nhead < len(f.head) {
		n, err := f.r.Read(f.head[f.nhead:])
		f.nhead += n
		if err != nil && f.nhead < len(f.head) {
			if err == io.EOF && f.nhead > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	if !f.inBody {
		size := int32(binary.BigEndian.Uint32(f.head[:]))
		switch {
		case size < 0:
			return nil, fmt.Errorf("%w: negative length %d", proto.ErrBadLength, size)
		case int(size) > f.limit:
			return nil, fmt.Errorf("%w: %d > %d", proto.ErrFrameTooLarge, size, f.limit)
		}
		f.size = int(size)
		if cap(f.spare) >= f.size {
			f.body = f.spare[:f.size]
		} else {
			f.body = make([]byte, min(f.size, firstBodyBuffer))
		}
		f.inBody, f.nbody = true, 0
	}
	for f.nbody < f.size {
		if f.nbody == len(f.body) {
			grown := min(f.size, 2*len(f.body))
			f.body = slices.Grow(f.body, grown-len(f.body))[:grown]
		}
		n, err := f.r.Read(f.body[f.nbody:])
		f.nbody += n
		if err != nil && f.nbody < f.size {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	frame := f.body
	f.nhead, f.inBody, f.body, f.nbody = 0, false, nil, 0
	if cap(frame) <= keepBuffer {
		f.spare = frame[:0]
	} else {
		f.spare = nil
	}
	return frame, nil
}
