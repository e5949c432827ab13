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

// createCall is what one Create, CreateStat or CreateAndList keeps on the
// heap, in one allocation: its options, its request, and the reply to its
// first attempt.
type createCall struct {
	o       createOptions
	req     proto.CreateRequest
	reply   createReply
	replied bool // reply has been handed out
}

func newCreateCall(withStat bool, opts []CreateOption) *createCall {
	call := &createCall{o: createOptions{withStat: withStat}}
	for _, opt := range opts {
		opt(&call.o)
	}
	return call
}

// replyFor returns an empty reply for req: the call's own for the first
// attempt, a new one for each retry, so that nothing of an earlier attempt
// can reach it.
func (c *createCall) replyFor(req *proto.CreateRequest) *createReply {
	if c.replied {
		return &createReply{op: req.Op}
	}
	c.replied = true
	c.reply = createReply{op: req.Op}
	return &c.reply
}
