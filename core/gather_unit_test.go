package core

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reader pauses only with the socket drained and enough requests out,
// for a share of the oldest one's wait, and never longer than the cap.
func TestGatherPause(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inFlight int
		waited   time.Duration
		drained  bool
		want     time.Duration
	}{
		{"a share of the oldest wait", 64, 400 * time.Microsecond, true, 100 * time.Microsecond},
		{"at the threshold", gatherMinInFlight, 200 * time.Microsecond, true, 50 * time.Microsecond},
		{"capped", 256, 40 * time.Millisecond, true, gatherMaxPause},
		{"too few in flight", gatherMinInFlight - 1, time.Millisecond, true, 0},
		{"more may be waiting in the socket", 64, time.Millisecond, false, 0},
		{"nothing waited yet", 64, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, gatherPause(tc.inFlight, tc.waited, tc.drained))
		})
	}
	assert.LessOrEqual(t, gatherMaxPause, heldWaitFor, "a pause stays a held wait")
}

// The writer's pause is a share of the oldest request's wait, capped
// lower than the reader's, and only with enough requests in flight.
func TestGatherWritePause(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inFlight int
		waited   time.Duration
		want     time.Duration
	}{
		{"a share of the oldest wait", 64, 400 * time.Microsecond, 100 * time.Microsecond},
		{"at the threshold", gatherMinInFlight, 200 * time.Microsecond, 50 * time.Microsecond},
		{"capped", 256, 40 * time.Millisecond, gatherMaxWritePause},
		{"too few in flight", gatherMinInFlight - 1, time.Millisecond, 0},
		{"nothing waited yet", 64, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, gatherWritePause(tc.inFlight, tc.waited))
		})
	}
}

// A read that fills the buffer may have left bytes in the socket; one that
// does not has drained it, whether it waited in the network poller or in
// a blocking poll. A connection that is not the standard library's own
// (TLS returns a record at a time) is never taken as drained.
func TestSockReaderDrained(t *testing.T) {
	client, server := tcpPair(t)
	s := newSockReaderSlots(client, slotsFor(1, 2))
	readDrained := func(n int) bool {
		t.Helper()
		_, err := s.Read(make([]byte, n))
		require.NoError(t, err)
		return s.drained
	}
	_, err := server.Write([]byte("0123456789"))
	require.NoError(t, err)
	assert.False(t, readDrained(4), "a full buffer leaves the rest in the socket")
	assert.True(t, readDrained(64))

	if canBlockRead {
		_, err = server.Write([]byte("0123456789"))
		require.NoError(t, err)
		require.True(t, s.blockUntil(time.Now().Add(time.Minute)))
		assert.False(t, readDrained(4), "blocking: a full buffer leaves the rest")
		assert.True(t, readDrained(64), "blocking")
		s.endBlocking()
	}

	type wrapped struct{ *net.TCPConn }
	w := newSockReaderSlots(wrapped{client.(*net.TCPConn)}, slotsFor(1, 2))
	_, err = server.Write([]byte("0123456789"))
	require.NoError(t, err)
	_, err = w.Read(make([]byte, 64))
	require.NoError(t, err)
	assert.False(t, w.drained, "a wrapped connection never shows drained")
}

// GODEBUG asyncpreemptoff=1, from the environment or the build, means no
// signal would end a held wait: none is held.
func TestHeldWaitsFor(t *testing.T) {
	for _, tc := range []struct {
		env, build string
		want       time.Duration
	}{
		{"", "", heldWaitFor},
		{"asyncpreemptoff=1", "", 0},
		{"", "asyncpreemptoff=1", 0},
		{"asyncpreemptoff=0", "asyncpreemptoff=1", heldWaitFor},
		{"gctrace=1, asyncpreemptoff=1", "panicnil=1", 0},
		{"asyncpreemptoff=1,asyncpreemptoff=0", "", heldWaitFor},
	} {
		assert.Equal(t, tc.want, heldWaitsFor(tc.env, tc.build), "env %q, build %q", tc.env, tc.build)
	}
}

// A pause takes a place among the blocking waits and gives it back; with
// none free it does not pause.
func TestSockReaderPause(t *testing.T) {
	requireBlockingReads(t)
	client, _ := tcpPair(t)
	slots := slotsFor(1, 2)
	a := newSockReaderSlots(client, slots)
	b := newSockReaderSlots(client, slots)
	assert.True(t, a.pause(time.Microsecond))
	assert.Zero(t, slots.n.Load(), "the place is given back")

	require.True(t, a.blockUntil(time.Now().Add(time.Second)))
	assert.False(t, b.pause(time.Microsecond), "the only place is taken")
	a.endBlocking()
	assert.Zero(t, slots.n.Load())
}
