package core

import "github.com/zkit-go/zkit/core/proto"

// createReply is the reply to any create request: the created path, and
// the node's Stat for every kind but a plain create (create2,
// createContainer and createTTL carry one).
type createReply struct {
	op   int32 // the request's opcode
	path string
	stat proto.Stat
}

func (r *createReply) Decode(d *proto.Decoder) {
	r.path = d.String()
	if r.op != proto.OpCreate {
		r.stat.Decode(d)
	}
}

// result returns the created path and the Stat, nil after a plain create.
func (r *createReply) result() (string, *Stat) {
	if r.op == proto.OpCreate {
		return r.path, nil
	}
	return r.path, newStat(&r.stat)
}
