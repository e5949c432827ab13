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
	// For is the request answered, if known. The results must then match
	// its operations: one each (or none, for a request refused as a
	// whole), of a type that answers it (or OpError). Otherwise Decode
	// fails, at the first result too many, so that a reply cannot make the
	// client build more results than it asked for.
	For     *MultiRequest
	Results []MultiResult
}

func (r *MultiResponse) Decode(d *Decoder) {
	r.Results = r.Results[:0]
	for d.Err() == nil {
		op := d.Int32()
		done := d.Bool()
		errCode := d.Int32()
		if d.Err() != nil {
			return
		}
		if done {
			// None at all is a request refused as a whole.
			if n := len(r.Results); r.For != nil && n > 0 && n != len(r.For.Ops) {
				d.fail(fmt.Errorf("proto: %d multi results for %d operations", n, len(r.For.Ops)))
			}
			return
		}
		if r.For != nil {
			i := len(r.Results)
			if i == len(r.For.Ops) {
				d.fail(fmt.Errorf("proto: more multi results than the %d operations", i))
				return
			}
			if sent := r.For.Ops[i].Opcode(); !resultAnswers(op, sent) {
				d.fail(fmt.Errorf("proto: multi result %d of type %d answers an operation %d", i, op, sent))
				return
			}
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

// resultAnswers reports whether a multi result of type got may answer an
// operation sent with opcode sent: its own type, OpError, or for a create
// of any kind create or create2 (servers answer createTTL and
// createContainer with create2).
func resultAnswers(got, sent int32) bool {
	switch {
	case got == OpError:
		return true
	case sent == OpCreate, sent == OpCreate2, sent == OpCreateTTL, sent == OpCreateContainer:
		return got == OpCreate || got == OpCreate2
	}
	return got == sent
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
