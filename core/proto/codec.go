package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrShortBuffer reports a record that ends before all of its fields.
var ErrShortBuffer = errors.New("proto: record truncated")

// ErrBadLength reports a negative or impossible length prefix.
var ErrBadLength = errors.New("proto: invalid length prefix")

// AppendInt32 appends v in big-endian order.
func AppendInt32(dst []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(v))
}

// AppendInt64 appends v in big-endian order.
func AppendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v))
}

// AppendBool appends v as one byte.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendBuffer appends a length-prefixed byte buffer. A nil slice is written
// as length -1, which jute reads back as null.
func AppendBuffer(dst []byte, b []byte) []byte {
	if b == nil {
		return AppendInt32(dst, -1)
	}
	dst = AppendInt32(dst, int32(len(b)))
	return append(dst, b...)
}

// AppendString appends a length-prefixed UTF-8 string.
func AppendString(dst []byte, s string) []byte {
	dst = AppendInt32(dst, int32(len(s)))
	return append(dst, s...)
}

// AppendStrings appends a vector of strings. A nil slice is written as an
// empty vector.
func AppendStrings(dst []byte, ss []string) []byte {
	dst = AppendInt32(dst, int32(len(ss)))
	for _, s := range ss {
		dst = AppendString(dst, s)
	}
	return dst
}

// Decoder reads jute fields from a byte slice. The first error sticks: every
// later read returns a zero value, and Err reports it.
type Decoder struct {
	src []byte
	off int
	err error
}

// NewDecoder returns a decoder over src.
func NewDecoder(src []byte) *Decoder { return &Decoder{src: src} }

// Reset points the decoder at src and clears its error.
func (d *Decoder) Reset(src []byte) { *d = Decoder{src: src} }

// Err returns the first error met, if any.
func (d *Decoder) Err() error { return d.err }

// Remaining returns how many bytes are left to read.
func (d *Decoder) Remaining() int { return len(d.src) - d.off }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.src)-d.off {
		d.fail(ErrShortBuffer)
		return nil
	}
	b := d.src[d.off : d.off+n]
	d.off += n
	return b
}

// Int32 reads a big-endian int32.
func (d *Decoder) Int32() int32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Int64 reads a big-endian int64.
func (d *Decoder) Int64() int64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// Bool reads one byte; any non-zero value is true.
func (d *Decoder) Bool() bool {
	b := d.take(1)
	return b != nil && b[0] != 0
}

func (d *Decoder) length() (int, bool) {
	n := d.Int32()
	if d.err != nil {
		return 0, false
	}
	if n == -1 {
		return -1, true
	}
	if n < 0 || int(n) > d.Remaining() {
		d.fail(fmt.Errorf("%w: %d with %d bytes left", ErrBadLength, n, d.Remaining()))
		return 0, false
	}
	return int(n), true
}

// Bytes reads a length-prefixed buffer into a fresh slice. Null reads as nil;
// an empty buffer reads as a non-nil empty slice.
func (d *Decoder) Bytes() []byte {
	n, ok := d.length()
	if !ok || n < 0 {
		return nil
	}
	b := d.take(n)
	out := make([]byte, n)
	copy(out, b)
	return out
}

// BytesView reads a length-prefixed buffer and returns a view into the
// source, valid only as long as the source is.
func (d *Decoder) BytesView() []byte {
	n, ok := d.length()
	if !ok || n < 0 {
		return nil
	}
	return d.take(n)
}

// String reads a length-prefixed string. Null reads as "".
func (d *Decoder) String() string {
	n, ok := d.length()
	if !ok || n < 0 {
		return ""
	}
	return string(d.take(n))
}

// Strings reads a vector of strings. Each element needs at least four bytes,
// which bounds the allocation by the input size.
func (d *Decoder) Strings() []string {
	n := d.vectorLen(4)
	if n <= 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.String())
	}
	return out
}

// vectorLen reads a vector count and checks that minSize bytes per element
// are left. It returns -1 for a null vector.
func (d *Decoder) vectorLen(minSize int) int {
	n := d.Int32()
	if d.err != nil {
		return 0
	}
	if n == -1 {
		return -1
	}
	if n < 0 || int64(n)*int64(minSize) > int64(d.Remaining()) {
		d.fail(fmt.Errorf("%w: vector of %d with %d bytes left", ErrBadLength, n, d.Remaining()))
		return 0
	}
	return int(n)
}
