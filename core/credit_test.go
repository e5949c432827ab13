package core

import (
	"errors"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// creditLog records what a connection credits to the client.
type creditLog struct{ credited []int64 }

func (l *creditLog) observeZxid(int64)                                {}
func (l *creditLog) touched(sent int64)                               { l.credited = append(l.credited, sent) }
func (l *creditLog) expiryLeft() (time.Duration, time.Duration, bool) { return 0, 0, false }
func (l *creditLog) onEvent(proto.WatcherEvent)                       {}
func (l *creditLog) onAuthFailed(error)                               {}
func (l *creditLog) noWatches() bool                                  { return true }
func (l *creditLog) frame(h proto.ReplyHeader) []byte                 { return h.Encode(nil) }

// Each ping reply is credited with its own ping's send time, also when a
// later ping went out before the first was answered; events, read-only
// connections of a known session, and replies saying the session is gone
// credit nothing.
func TestCreditPingsInOrder(t *testing.T) {
	log := &creditLog{}
	c := newConn(nil, log, zap.NewNop(), 0, 1<<20, 1)
	c.credits = true
	var sent []int64
	for range 3 {
		if err := c.sendSpecial(proto.XidPing, &proto.EmptyRequest{Op: proto.OpPing}); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, c.pingsSent[len(c.pingsSent)-1].sent)
		for monoNow() == sent[len(sent)-1] {
		}
	}
	var dec proto.Decoder
	ev := proto.WatcherEvent{Type: 3, State: 3, Path: "/n"}
	event := ev.Encode(log.frame(proto.ReplyHeader{Xid: proto.XidNotification}))
	if err := c.handleFrame(&dec, event); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := c.handleFrame(&dec, log.frame(proto.ReplyHeader{Xid: proto.XidPing})); err != nil {
			t.Fatal(err)
		}
		if len(log.credited) != i+1 || log.credited[i] != sent[i] {
			t.Fatalf("after %d ping replies (and an event) credited %v, want %v", i+1, log.credited, sent[:i+1])
		}
	}

	for _, tc := range []struct {
		name    string
		credits bool
		code    Code
	}{
		{"read-only connection", false, 0},
		{"session expired", true, CodeSessionExpired},
		{"session moved", true, CodeSessionMoved},
	} {
		log.credited = nil
		c.credits = tc.credits
		if err := c.sendSpecial(proto.XidPing, &proto.EmptyRequest{Op: proto.OpPing}); err != nil {
			t.Fatal(err)
		}
		if err := c.handleFrame(&dec, log.frame(proto.ReplyHeader{Xid: proto.XidPing, Err: int32(tc.code)})); err != nil {
			t.Fatal(err)
		}
		if len(log.credited) != 0 {
			t.Errorf("%s: credited %v", tc.name, log.credited)
		}
	}
}

// The server answers a session's frames in order, so a ping's reply that
// comes while a request queued ahead of the ping is unanswered means that
// request was lost on the way: the reader ends the connection with
// connection loss, rather than letting the pings keep it alive while the
// request's caller waits for a reply that will not come.
func TestUnitPingAnsweredBeforeRequestEndsConnection(t *testing.T) {
	log := &creditLog{}
	var dec proto.Decoder
	queue := func(c *conn, xid int32) *request {
		r := newRequest(&proto.EmptyResponse{})
		r.xid = xid
		c.mu.Lock()
		c.pending = append(c.pending, r)
		c.mu.Unlock()
		return r
	}
	ping := func(c *conn) {
		if err := c.sendSpecial(proto.XidPing, &proto.EmptyRequest{Op: proto.OpPing}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("answered in order", func(t *testing.T) {
		c := newConn(nil, log, zap.NewNop(), 0, 1<<20, 1)
		queue(c, 2)
		ping(c)
		queue(c, 3) // after the ping: its reply may come later
		if err := c.handleFrame(&dec, log.frame(proto.ReplyHeader{Xid: 2})); err != nil {
			t.Fatal(err)
		}
		if err := c.handleFrame(&dec, log.frame(proto.ReplyHeader{Xid: proto.XidPing})); err != nil {
			t.Fatalf("ping reply after every request ahead of it: %v", err)
		}
	})
	t.Run("a setWatches or auth frame ahead of the ping", func(t *testing.T) {
		frames := map[int32]proto.Request{
			proto.XidSetWatches: &proto.EmptyRequest{Op: proto.OpSetWatches},
			proto.XidAuth:       &proto.AuthRequest{Scheme: "digest", Auth: []byte("u:p")},
		}
		for xid, req := range frames {
			for _, answered := range []bool{true, false} {
				c := newConn(nil, log, zap.NewNop(), 0, 1<<20, 1)
				if err := c.sendSpecial(xid, req); err != nil {
					t.Fatal(err)
				}
				ping(c)
				if answered {
					if err := c.handleFrame(&dec, log.frame(proto.ReplyHeader{Xid: xid})); err != nil {
						t.Fatal(err)
					}
				}
				err := c.handleFrame(&dec, log.frame(proto.ReplyHeader{Xid: proto.XidPing}))
				if answered && err != nil {
					t.Errorf("xid %d: ping reply after the frame's reply: %v", xid, err)
				}
				if !answered && !errors.Is(err, ErrConnectionLoss) {
					t.Errorf("xid %d: ping reply with the frame unanswered = %v, want connection loss", xid, err)
				}
			}
		}
	})
	t.Run("a request ahead of the ping unanswered", func(t *testing.T) {
		c := newConn(nil, log, zap.NewNop(), 0, 1<<20, 1)
		queue(c, 2)
		queue(c, 3)
		ping(c)
		if err := c.handleFrame(&dec, log.frame(proto.ReplyHeader{Xid: 2})); err != nil {
			t.Fatal(err)
		}
		err := c.handleFrame(&dec, log.frame(proto.ReplyHeader{Xid: proto.XidPing}))
		if !errors.Is(err, ErrConnectionLoss) {
			t.Fatalf("ping reply with request 3 unanswered = %v, want connection loss", err)
		}
	})
}
