package proto

import "fmt"

// MultiRequest is a transaction (multi) or a batch of reads (multiRead).
// Each operation is preceded by a MultiHeader; a header with Done ends it.
type MultiRequest struct {
	Ops  []Request
	Read bool
}

func (r *MultiRequest) Opcode() int32 {
	if r.Read {
		return OpMultiRead
	}
	return OpMulti
}

func (r *MultiRequest) Encode(dst []byte) []byte {
	for _, op := range r.Ops {
		dst = appendMultiHeader(dst, op.Opcode(), false, -1)
		dst = op.Encode(dst)
	}
	return appendMultiHeader(dst, -1, true, -1)
}

func appendMultiHeader(dst []byte, op int32, done bool, err int32) []byte {
	dst = AppendInt32(dst, op)
	dst = AppendBool(dst, done)
	return AppendInt32(dst, err)
}

// MultiResult is one operation's outcome. Op is the result type the server
// wrote: OpError for a failed (or rolled back) operation, with Err set.
type MultiResult struct {
	Op       int32
	Err      int32
	Path     string
	Stat     Stat
	HasStat  bool
	Data     []byte
	Children []string
}

// MultiResponse holds the results of a multi or multiRead, in request order.
type MultiResponse struct {
	Results []MultiResult
}

func (r *MultiResponse) Decode(d *Decoder) {
	r.Results = r.Results[:0]
	for d.Err() == nil {
		op := d.Int32()
		done := d.Bool()
		errCode := d.Int32()
		if d.Err() != nil || done {
			return
		}
		res := MultiResult{Op: op, Err: errCode}
		switch op {
		case OpCreate:
			res.Path = d.String()
		case OpCreate2:
			res.Path = d.String()
			res.Stat.Decode(d)
			res.HasStat = true
		case OpSetData:
			res.Stat.Decode(d)
			res.HasStat = true
		case OpDelete, OpCheck:
		case OpGetData:
			res.Data = d.Bytes()
			res.Stat.Decode(d)
			res.HasStat = true
		case OpGetChildren:
			res.Children = d.Strings()
		case OpError:
			res.Err = d.Int32()
		default:
			d.fail(fmt.Errorf("proto: unknown multi result type %d", op))
			return
		}
		r.Results = append(r.Results, res)
	}
}

// EncodeMultiResponse appends a multi response, as a server would. It exists
// for tests and fuzz seeds.
func EncodeMultiResponse(dst []byte, results []MultiResult) []byte {
	for _, res := range results {
		dst = appendMultiHeader(dst, res.Op, false, res.Err)
		switch res.Op {
		case OpCreate:
			dst = AppendString(dst, res.Path)
		case OpCreate2:
			dst = AppendString(dst, res.Path)
			dst = res.Stat.Encode(dst)
		case OpSetData:
			dst = res.Stat.Encode(dst)
		case OpGetData:
			dst = AppendBuffer(dst, res.Data)
			dst = res.Stat.Encode(dst)
		case OpGetChildren:
			dst = AppendStrings(dst, res.Children)
		case OpError:
			dst = AppendInt32(dst, res.Err)
		}
	}
	return appendMultiHeader(dst, -1, true, -1)
}
