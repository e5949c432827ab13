package main

import (
	"context"
	"fmt"
	"time"

	"github.com/zkit-go/zkit/bench/internal/harness"
	"github.com/zkit-go/zkit/core/proto"
)

// taskWireSync is a synchronous call on a raw connection: one goroutine
// writes a pre-encoded request and reads its reply through Go's network
// poller, one request at a time. A client whose callers wait in the
// network poller pays at least this per call at one goroutine: one write,
// one read and the wake-up between them. (zkit's callers, on Linux, wait
// in a blocking poll instead, which costs less.)
const taskWireSync = "wire-sync"

func init() { registerTask(taskWireSync, runWireSync) }

func runWireSync(ctx context.Context, _ harness.Driver, job harness.Job) (harness.Result, error) {
	nc, br, done, err := wireDial(ctx, job, 16<<10)
	if err != nil {
		return harness.Result{}, err
	}
	defer done()
	frame, err := wireFrames(job, 1)
	if err != nil {
		return harness.Result{}, err
	}
	var failure error
	r, err := harness.Measure(ctx, job, 1, func(ctx context.Context, _ int, l *harness.Loop) {
		var (
			buf []byte
			dec proto.Decoder
		)
		for l.Running() {
			t0 := time.Now()
			if _, err := nc.Write(frame); err != nil {
				failure = fmt.Errorf("write: %w", err)
				return
			}
			reply, err := proto.ReadFrame(br, buf, proto.DefaultMaxFrame)
			if err != nil {
				failure = fmt.Errorf("read: %w", err)
				return
			}
			buf = reply[:0]
			dec.Reset(reply)
			var h proto.ReplyHeader
			h.Decode(&dec)
			if h.Err != 0 {
				l.Done(t0, fmt.Errorf("server error code %d", h.Err))
			} else {
				l.Done(t0, nil)
			}
		}
	})
	if err == nil {
		err = failure
	}
	if err == nil {
		err = wireClose(nc, br)
	}
	return r, err
}
