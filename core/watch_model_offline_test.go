package core_test

import (
	"context"
	"sync"
	"time"

	"github.com/zkit-go/zkit/core"
)

// offlineMonitor logs the spans in which a watch model round's watching
// client was disconnected, for the checks to leave out the changes made
// then (ZooKeeper sends persistent watches no catch-up events). A span
// starts where the cut that caused it was asked for, or, for a disconnect
// nobody asked for, a generous while before the client noticed it; it
// ends when a Sync made once the client is connected again returns, as
// the server takes a connection's watches before it answers any call.
type offlineMonitor struct {
	log *modelLog
	c   *core.Client
	// unnoticed bounds how long a connection may be dead before the
	// client notices.
	unnoticed time.Duration
	wake      chan struct{}

	mu    sync.Mutex
	open  bool
	cutAt time.Duration // when the cut asked for was decided; -1: none
	drops int           // disconnects seen
}

func newOfflineMonitor(log *modelLog, c *core.Client, unnoticed time.Duration) *offlineMonitor {
	return &offlineMonitor{log: log, c: c, unnoticed: unnoticed, wake: make(chan struct{}, 1), cutAt: -1}
}

// onState is the client's state listener.
func (m *offlineMonitor) onState(s core.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch s {
	case core.StateConnected:
		select {
		case m.wake <- struct{}{}:
		default:
		}
		return
	case core.StateClosed:
		return
	}
	m.drops++
	if !m.open {
		start := m.log.now() - m.unnoticed
		if m.cutAt >= 0 {
			start = m.cutAt
		}
		m.log.mu.Lock()
		m.log.offline = append(m.log.offline, modelSpan{start: start, end: forever})
		m.log.mu.Unlock()
		m.open = true
	}
	m.cutAt = -1
}

// willCut notes that a cut is about to be made, every change finished
// before at having reached the client.
func (m *offlineMonitor) willCut(at time.Duration) {
	m.mu.Lock()
	m.cutAt = at
	m.mu.Unlock()
}

// offline reports whether a span is open.
func (m *offlineMonitor) offline() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.open
}

// run closes the open span once the client is back, until stop closes.
func (m *offlineMonitor) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-m.wake:
		}
		for m.offline() && m.c.State() == core.StateConnected {
			m.mu.Lock()
			drops := m.drops
			m.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := m.c.Sync(ctx, "/")
			cancel()
			if err != nil {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			back := m.log.now()
			m.mu.Lock()
			if m.drops == drops && m.open {
				m.log.mu.Lock()
				m.log.offline[len(m.log.offline)-1].end = back
				m.log.mu.Unlock()
				m.open = false
			}
			m.mu.Unlock()
		}
	}
}
