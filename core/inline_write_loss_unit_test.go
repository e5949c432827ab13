package core

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// failingWrite is a connection whose first Write waits until fail is
// closed and then fails, as a socket the peer has reset.
type failingWrite struct {
	net.Conn
	entered chan struct{}
	fail    chan struct{}
}

func (f *failingWrite) Write([]byte) (int, error) {
	close(f.entered)
	<-f.fail
	return 0, errors.New("connection reset by peer")
}

func (f *failingWrite) SetWriteDeadline(time.Time) error { return nil }
func (f *failingWrite) Close() error                     { return nil }

// A caller's own write that fails ends the connection and reports the
// loss to the requests still out, on the caller's goroutine. stop waits
// for that, as it waits for the reader and the writer goroutines: a hook
// run by the loss never outlives the connection's stop.
func TestUnitInlineWriteLossCountedByStop(t *testing.T) {
	nc := &failingWrite{entered: make(chan struct{}), fail: make(chan struct{})}
	c := newConn(nc, &creditLog{}, zap.NewNop(), time.Minute, 1<<20, 1)

	inHook, release := make(chan struct{}), make(chan struct{})
	r := newRequest(&proto.EmptyResponse{})
	r.onReply = func(*request) {
		close(inHook)
		<-release
	}
	sent := make(chan error, 1)
	go func() {
		_, err := c.sendAll(false, outgoing{&proto.EmptyRequest{Op: proto.OpPing}, r})
		sent <- err
	}()
	<-nc.entered // the caller writes the request itself: the connection was idle
	if !r.abandon() {
		t.Fatal("the request was answered before its write returned")
	}
	close(nc.fail)
	<-inHook // the loss runs the abandoned request's hook

	stopped := make(chan struct{})
	go func() {
		c.stop(errors.New("closing"))
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("stop returned while the failed write's loss report still ran")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	<-stopped
	if err := <-sent; err != nil {
		t.Errorf("sendAll = %v, want nil: the request was queued", err)
	}
}
