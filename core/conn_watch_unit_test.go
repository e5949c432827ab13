package core

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// nearExpiry is connection hooks whose session expiry is as far away as
// left says.
type nearExpiry struct {
	creditLog
	left atomic.Int64 // time.Duration
}

func (h *nearExpiry) expiryLeft() (time.Duration, time.Duration, bool) {
	return time.Duration(h.left.Load()), 10 * time.Second, true
}

// A connection whose server answered a moment ago is not silent, even with
// the session's expiry near and no ping interval set (a third of the read
// timeout then).
func TestUnitRecentReplyIsNotSilence(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	h := &nearExpiry{}
	h.left.Store(int64(time.Second)) // under the failover reserve of 2 s
	c := newConn(a, h, zap.NewNop(), 10*time.Second*2/3, 1<<20, 0)
	c.lastReply.Store(monoNow())
	time.Sleep(time.Millisecond)
	if c.unanswered() {
		t.Fatalf("a connection answered 1 ms ago failed: %v", c.err)
	}
}

// The server has stopped reading and the writer goroutine is held in a
// write. The check for silence still runs, on its own goroutine, and ends
// the connection once the session's expiry comes near, long before the
// write's deadline (a read timeout, a minute here).
func TestUnitSilenceNoticedWhileWriteIsHeld(t *testing.T) {
	a, b := net.Pipe() // nobody reads b: writes to a block
	defer b.Close()
	h := &nearExpiry{}
	h.left.Store(int64(time.Hour))
	c := newConn(a, h, zap.NewNop(), time.Minute, 1<<20, 0)
	c.pingEvery = 20 * time.Millisecond
	c.wg.Add(2)
	go c.writeLoop()
	go c.watchLoop()
	// A request already out: the next one goes to the writer goroutine,
	// which its write then holds.
	c.mu.Lock()
	c.pending = append(c.pending, newRequest(&proto.EmptyResponse{}))
	c.mu.Unlock()
	if err := c.send(&proto.PathWatchRequest{Op: proto.OpGetData, Path: "/a"}, newRequest(&proto.GetDataResponse{})); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the write is held, and the server silent
	h.left.Store(int64(time.Second))   // under the failover reserve of 2 s
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not end while its write was held")
	}
	c.wg.Wait()
}
