package core

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A session whose local deadline passes during a reconnect pause expires
// then, and the pause ends with it: the client asks for a new session at
// once instead of sleeping out the rest of a pause that was only for the
// old one. The pause here is an hour; without the early return the test
// would hit its own deadline.
func TestUnitPauseEndsAtLocalExpiry(t *testing.T) {
	c, err := NewClient("127.0.0.1:1")
	require.NoError(t, err)
	defer c.Close()
	sess := newSession(1, []byte("password"), 50*time.Millisecond)
	c.mu.Lock()
	c.sess = sess
	c.mu.Unlock()
	c.touches.join(monoNow(), int64(relayLag(sess.Timeout())))

	returned := make(chan bool, 1)
	go func() { returned <- c.pause(time.Hour) }()
	select {
	case more := <-returned:
		require.True(t, more, "the client is not closing")
	case <-time.After(30 * time.Second):
		t.Fatal("the pause outlasted the session's local deadline")
	}
	require.ErrorIs(t, sess.Err(), ErrSessionExpired)
	require.Equal(t, StateConnecting, c.State())
}
