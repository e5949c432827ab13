package core

import (
	"context"

	"github.com/zkit-go/zkit/core/proto"
)

// callBatch sends reqs back to back on the live connection, in one step and
// in order, and waits for all their replies: one round trip for the lot.
// The server applies a session's requests in the order they arrive, so a
// later request sees what an earlier one did.
//
// Each request's outcome goes to zxids[i] and errs[i]. The returned error
// is set when the batch did not go out (then nothing was sent, and every
// request gets that error), or when ctx or the tied session ended before
// every reply was in; requests answered by then keep their outcome, the
// others get that error.
func (c *Client) callBatch(ctx context.Context, reqs []proto.Request, resps []proto.Response, zxids []int64, errs []error) error {
	cn, tied, err := c.liveFor(ctx)
	if err != nil {
		for i := range errs {
			zxids[i], errs[i] = 0, err
		}
		return err
	}
	began := c.debugStart()
	batch := make([]outgoing, len(reqs))
	for i, req := range reqs {
		batch[i] = outgoing{req: req, r: newRequest(resps[i])}
	}
	if _, err := cn.sendAll(false, batch...); err != nil {
		for i, o := range batch {
			o.r.release()
			zxids[i], errs[i] = 0, err
		}
		return err
	}
	// Replies come in order: once the last is done, the others are done or
	// about to be (a failing connection may finish the last while the
	// reader still decodes an earlier one). replied takes the last one's
	// done signal.
	last := len(batch) - 1
	var stop error
	if !replied(ctx, tied, batch[last].r) {
		stop = stillOut(ctx, tied)
	}
	for i, o := range batch {
		if stop != nil && len(o.r.done) == 0 {
			// Still out: the reader finishes it later, for nobody.
			zxids[i], errs[i] = 0, stop
			continue
		}
		if i != last || stop != nil {
			<-o.r.done
		}
		zxids[i], errs[i] = o.r.zxid, o.r.err
		o.r.release()
		c.debugCall(began, reqs[i], zxids[i], errs[i])
	}
	return stop
}

// batchRPC is callBatch under the retry policy, for requests that are all
// safe to send again: after a connection loss, those whose replies never
// came go again, and only those. It returns each request's outcome.
func (c *Client) batchRPC(ctx context.Context, reqs []proto.Request, resps []proto.Response) (zxids []int64, errs []error) {
	zxids, errs = make([]int64, len(reqs)), make([]error, len(reqs))
	todo := make([]int, len(reqs))
	for i := range todo {
		todo[i] = i
	}
	var (
		subReqs  []proto.Request
		subResps []proto.Response
	)
	err := c.cfg.retry.run(ctx, c.waitReady, retrySafe, func(ctx context.Context) error {
		subReqs, subResps = subReqs[:0], subResps[:0]
		for _, i := range todo {
			subReqs, subResps = append(subReqs, reqs[i]), append(subResps, resps[i])
		}
		subZxids, subErrs := make([]int64, len(todo)), make([]error, len(todo))
		stop := c.callBatch(ctx, subReqs, subResps, subZxids, subErrs)
		var lost error
		left := todo[:0]
		for k, i := range todo {
			zxids[i], errs[i] = subZxids[k], subErrs[k]
			if retrySafe(subErrs[k]) {
				left, lost = append(left, i), subErrs[k]
			}
		}
		todo = left
		if stop != nil {
			return stop
		}
		return lost
	})
	if err != nil {
		for _, i := range todo {
			errs[i] = err
		}
	}
	return zxids, errs
}
