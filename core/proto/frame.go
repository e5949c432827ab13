package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxFrame is ZooKeeper's default jute.maxbuffer (0xfffff bytes) plus
// room for the record around the data.
const DefaultMaxFrame = 0xfffff + 64*1024

// ErrFrameTooLarge reports a frame whose length prefix exceeds the limit.
var ErrFrameTooLarge = errors.New("proto: frame exceeds limit")

// AppendFrameStart reserves the 4-byte length prefix of a frame and returns
// the buffer and the prefix's offset, for FinishFrame.
func AppendFrameStart(dst []byte) ([]byte, int) {
	start := len(dst)
	return append(dst, 0, 0, 0, 0), start
}

// FinishFrame writes the length of everything after the prefix at start.
func FinishFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// ReadFrame reads one length-prefixed frame from r. It reuses buf when the
// frame fits and refuses frames longer than limit.
func ReadFrame(r io.Reader, buf []byte, limit int) ([]byte, error) {
	// The header is read into buf so that it does not escape to the heap;
	// the body then overwrites it.
	if cap(buf) < 4 {
		buf = make([]byte, 4)
	}
	hdr := buf[:4]
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr))
	if n < 0 {
		return nil, fmt.Errorf("%w: negative length %d", ErrBadLength, n)
	}
	if int(n) > limit {
		return nil, fmt.Errorf("%w: %d > %d", ErrFrameTooLarge, n, limit)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}
