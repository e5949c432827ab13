package core

import (
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
}

// A read that fills the buffer may have left bytes in the socket; one that
// does not has drained it.
func TestSockReaderDrained(t *testing.T) {
	client, server := tcpPair(t)
	s := newSockReaderSlots(client, slotsFor(1, 2))
	_, err := server.Write([]byte("0123456789"))
	require.NoError(t, err)

	buf := make([]byte, 4)
	n, err := s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	assert.False(t, s.drained, "a full buffer leaves the rest in the socket")

	buf = make([]byte, 64)
	n, err = s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, 6, n)
	assert.True(t, s.drained)
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
