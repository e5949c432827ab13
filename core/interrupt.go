package core

import (
	"context"
	"net"
	"sync"
	"time"
)

// untilStopped returns a copy of parent that also ends when done is
// closed (nil for never), and grace after the client closes: at once for
// a connection attempt's dial or a probe; after a grace for a handshake,
// whose answer may name a session the server has already made, which
// Close then ends rather than leave it to time out (see abandoned),
// unless a Start whose ctx ended closes the client (noGrace). The
// returned function ends the context and waits for the goroutine that
// watches for Close; call it before returning.
func (c *Client) untilStopped(parent context.Context, done <-chan struct{}, grace time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		defer cancel()
		select {
		case <-c.stopCh:
		case <-done:
			return
		case <-ctx.Done():
			return
		}
		if grace <= 0 || c.noGrace.Load() {
			return
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		cancel()
		<-watched
	}
}

// closeOnDone closes nc when ctx ends, which interrupts any read or write
// in progress on it. The returned release stops that: it reports true when
// nc was left open, and false when ctx ended first, after waiting for the
// close to finish. Calls after the first return the first one's answer.
func closeOnDone(ctx context.Context, nc net.Conn) (release func() bool) {
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		_ = nc.Close()
	})
	return sync.OnceValue(func() bool {
		if stop() {
			return true
		}
		<-closed
		return false
	})
}
