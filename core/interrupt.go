package core

import (
	"context"
	"net"
	"sync"
	"time"
)

// untilStopped returns a copy of parent that also ends when the client
// closes or done is closed (nil for never), so that a connection attempt
// or a probe stops at once on Close. The returned function ends the
// context and waits for the goroutine that watches for Close; call it
// before returning.
func (c *Client) untilStopped(parent context.Context, done <-chan struct{}) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-c.stopCh:
		case <-done:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, func() {
		cancel()
		<-watched
	}
}

// graceAfterStop returns a copy of parent that also ends grace after the
// client closes. A handshake runs under it: the server may already have
// made a session for the client, and reading its answer lets Close end
// that session rather than leave it to time out. The returned function
// ends the context and waits for the goroutine that watches for Close;
// call it before returning.
func (c *Client) graceAfterStop(parent context.Context, grace time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		defer cancel()
		select {
		case <-c.stopCh:
		case <-ctx.Done():
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
