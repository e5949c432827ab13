package core

import (
	"context"
	"errors"
	"io"
	"time"

	"go.uber.org/zap"
)

// Read-only mode: while a read-only server serves the client, it looks
// for a read-write one and moves there when one answers.

// errMovingToReadWrite ends a read-only connection once a read-write
// server answers.
var errMovingToReadWrite = errors.New("zk: moving to a read-write server")

// probeReadWrite looks for a read-write server while the client is served
// by a read-only one, and moves the client there when one answers "rw" to
// the isro command. Close, or the end of the read-only connection, stops
// it at once, a probe in progress included.
func (c *Client) probeReadWrite(cn *conn, current int) {
	defer c.wg.Done()
	ctx, stop := c.untilStopped(context.Background(), cn.done, 0)
	defer stop()
	bo := jittered(100*time.Millisecond, 5*time.Second)()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(bo.NextBackOff()):
		}
		for i, srv := range c.servers {
			if ctx.Err() != nil {
				return
			}
			if i == current && len(c.servers) > 1 {
				continue
			}
			if c.isReadWrite(ctx, srv) {
				c.mu.Lock()
				c.preferred = i
				c.mu.Unlock()
				c.log.Info("zk: found a read-write server", zap.Stringer("server", srv))
				cn.fail(errMovingToReadWrite)
				return
			}
		}
	}
}

// isReadWrite asks srv whether it serves writes, within a second and
// until ctx ends.
func (c *Client) isReadWrite(ctx context.Context, srv serverAddr) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	nc, err := c.dial(ctx, srv)
	if err != nil {
		return false
	}
	defer nc.Close()
	release := closeOnDone(ctx, nc)
	defer release()
	if _, err := nc.Write([]byte("isro")); err != nil {
		return false
	}
	answer := make([]byte, 2)
	if _, err := io.ReadFull(nc, answer); err != nil {
		return false
	}
	return string(answer) == "rw"
}
