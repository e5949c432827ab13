package core

import (
	"net"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// stalledWrite is a connection whose peer reads nothing: a Write waits
// until the test ends, as one into a full socket buffer does.
type stalledWrite struct {
	net.Conn
	entered chan struct{}
	end     chan struct{}
}

func (s *stalledWrite) Write(b []byte) (int, error) {
	select {
	case <-s.entered:
	default:
		close(s.entered)
	}
	<-s.end
	return len(b), nil
}

func (s *stalledWrite) SetWriteDeadline(time.Time) error { return nil }
func (s *stalledWrite) Close() error                     { return nil }

// A caller writes its request itself only when nothing sent before is
// unanswered, so that the socket's buffer has room and no write holds it
// past its ctx. An unanswered setWatches frame (megabytes after a
// reconnect with many watches) counts as much as a request: the caller
// leaves the write to the writer goroutine and returns at once.
func TestUnitNoInlineWriteBehindUnansweredSetWatches(t *testing.T) {
	nc := &stalledWrite{entered: make(chan struct{}), end: make(chan struct{})}
	defer close(nc.end)
	c := newConn(nc, &creditLog{}, zap.NewNop(), time.Minute, 1<<20, 1)
	if err := c.sendSetWatches(&proto.SetWatchesRequest{DataWatches: []string{"/a"}}, nil); err != nil {
		t.Fatal(err)
	}

	sent := make(chan error, 1)
	go func() {
		_, err := c.sendAll(false, outgoing{&proto.EmptyRequest{Op: proto.OpPing}, newRequest(&proto.EmptyResponse{})})
		sent <- err
	}()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("sendAll = %v, want nil: the request was queued", err)
		}
	case <-nc.entered:
		t.Fatal("the caller wrote behind an unanswered setWatches frame, and its write is stalled")
	case <-time.After(10 * time.Second):
		t.Fatal("sendAll did not return")
	}
	select {
	case <-nc.entered:
		t.Fatal("the caller's goroutine wrote")
	default:
	}
}

// A reply to a credential or setWatches frame the client never sent, from
// a server gone wrong, does not count as an answer: the frames sent and
// answered stay even, so the connection can still count as idle and the
// ping check still sees a later frame's loss.
func TestUnitUnsolicitedSpecialReplyCountsForNothing(t *testing.T) {
	c := newConn(&stalledWrite{}, &creditLog{}, zap.NewNop(), time.Minute, 1<<20, 1)
	c.specialAnswered(true)
	c.specialAnswered(true)
	if err := c.sendSetWatches(&proto.SetWatchesRequest{DataWatches: []string{"/a"}}, nil); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	sent, answered := c.framesSent, c.framesAnswered
	c.mu.Unlock()
	if sent != 1 || answered != 0 {
		t.Fatalf("frames sent %d, answered %d; want 1 and 0: the unsolicited replies counted", sent, answered)
	}
	c.specialAnswered(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.framesSent != c.framesAnswered {
		t.Fatalf("frames sent %d, answered %d after the real reply", c.framesSent, c.framesAnswered)
	}
}
