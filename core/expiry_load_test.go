package core_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestExpiryUnderLoad: the server expires the client's session again and
// again while 32 goroutines make calls tied to the session they saw
// (core.WithSession). Each expiry is reported once; a tied call never acts
// in a later session, so every ephemeral node left belongs to the current
// session and names it; and every watch of an ended session ends.
func TestExpiryUnderLoad(t *testing.T) {
	const workers, expiries = 32, 4
	c, addr, _ := sharedClientB(t, core.WithSessionTimeout(6*time.Second))
	states := listenB(t, c)
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/e", nil)
	require.NoError(t, err)
	_, err = c.Create(ctx, "/k", nil)
	require.NoError(t, err)

	var (
		mu      sync.Mutex
		watches []tiedWatch
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				sess, err := c.WaitSession(ctx)
				if !assert.NoError(t, err) {
					return
				}
				if watch, err := tiedCall(core.WithSession(ctx, sess), c, sess, w, n); err != nil {
					t.Error(err)
					return
				} else if watch != nil {
					mu.Lock()
					watches = append(watches, *watch)
					mu.Unlock()
				}
			}
		})
	}

	for range expiries {
		time.Sleep(300 * time.Millisecond) // calls of the session in flight
		sess, err := c.WaitSession(ctx)
		require.NoError(t, err)
		require.NoError(t, zktest.ExpireSession(ctx, addr, sess.ID(), sess.Password()))
		requireSessionEndedB(t, sess, core.ErrSessionExpired)
	}
	close(stop)
	wg.Wait()

	current, err := c.WaitSession(ctx)
	require.NoError(t, err)
	assert.Equal(t, expiries, states.count(core.StateExpired), "transitions %v", states.snapshot())
	kids, err := c.GetChildren(ctx, "/e")
	require.NoError(t, err)
	for _, k := range kids {
		data, st, err := c.Get(ctx, "/e/"+k)
		if errors.Is(err, core.ErrNoNode) {
			continue // an expired session's node, on its way out
		}
		require.NoError(t, err)
		assert.Equal(t, strconv.FormatInt(st.EphemeralOwner, 16), string(data), "%s: made for the session it names", k)
		assert.Equal(t, current.ID(), st.EphemeralOwner, "%s outlived its session", k)
	}
	ended := 0
	for _, w := range watches {
		if w.sess.Err() == nil {
			continue
		}
		ended++
		// The watch fired before the expiry, or the expiry ended it; either
		// way its channel is closed.
		ev := recvB(t, w.events)
		if ev.Type == core.EventNotWatching {
			assert.ErrorIs(t, ev.Err, core.ErrSessionExpired)
		}
		requireClosedB(t, w.events)
	}
	require.Positive(t, ended, "no watch of an expired session")
	t.Logf("%d watches, %d of expired sessions, %d ephemeral nodes left", len(watches), ended, len(kids))
}

// tiedWatch is a data watch set under sess.
type tiedWatch struct {
	events <-chan core.Event
	sess   *core.Session
}

// tiedCall makes one call under ctx, tied to sess: an ephemeral create
// named for the worker and call and holding the session's id, a set, a
// data watch (which it returns) or a listing. An error is returned only
// when the call's outcome breaks the tie: ErrSessionExpired while the
// session lives, a node made for another session, or any other error.
func tiedCall(ctx context.Context, c *core.Client, sess *core.Session, w, n int) (*tiedWatch, error) {
	var err error
	switch n % 4 {
	case 0:
		var st *core.Stat
		id := strconv.FormatInt(sess.ID(), 16)
		_, st, err = c.CreateStat(ctx, fmt.Sprintf("/e/n-%d-%d", w, n), []byte(id), core.Ephemeral())
		if err == nil && st.EphemeralOwner != sess.ID() {
			return nil, fmt.Errorf("a create tied to session %x made a node of %x", sess.ID(), st.EphemeralOwner)
		}
		if errors.Is(err, core.ErrConnectionLoss) {
			err = nil // lost in flight: the expiry cut the connection
		}
	case 1:
		_, err = c.Set(ctx, "/k", []byte(strconv.Itoa(n)), -1)
	case 2:
		var events <-chan core.Event
		if _, _, events, err = c.GetW(ctx, "/k"); err == nil {
			return &tiedWatch{events: events, sess: sess}, nil
		}
	case 3:
		_, err = c.GetChildren(ctx, "/e")
	}
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, core.ErrSessionExpired):
		if sess.Err() == nil {
			return nil, fmt.Errorf("ErrSessionExpired while session %x lives: %w", sess.ID(), err)
		}
		return nil, nil
	default:
		return nil, err
	}
}
