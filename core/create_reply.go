package core

import "github.com/zkit-go/zkit/core/proto"

// createReply is the reply to any create request: the created path, and
// the node's Stat for every kind but a plain create (create2,
// createContainer and createTTL carry one). It decodes with the proto
// package's reply of that kind.
type createReply struct {
	op    int32 // the request's opcode
	reply proto.Create2Response
}

func (r *createReply) Decode(d *proto.Decoder) {
	if r.op == proto.OpCreate {
		var p proto.PathResponse
		p.Decode(d)
		r.reply.Path = p.Path
		return
	}
	r.reply.Decode(d)
}

// result returns the created path and the Stat, nil after a plain create.
func (r *createReply) result() (string, *Stat) {
	if r.op == proto.OpCreate {
		return r.reply.Path, nil
	}
	return r.reply.Path, newStat(&r.reply.Stat)
}
