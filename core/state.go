package core

import (
	"fmt"
	"sync"
)

// State is the client's connection and session state.
type State int32

// Client states.
const (
	// StateConnecting: no session yet, trying servers.
	StateConnecting State = iota
	// StateConnected: a read-write server serves the session.
	StateConnected
	// StateConnectedReadOnly: a server without quorum serves reads only.
	StateConnectedReadOnly
	// StateSuspended: the connection is lost; the session may still be
	// alive. The client reconnects and resumes it, unless nine tenths of
	// the session timeout pass first without word from a server.
	StateSuspended
	// StateExpired: the session ended; the client makes a new one. Either
	// the server expired it, or the client gave it up after nine tenths of
	// the session timeout without reaching a server, so that the loss is
	// known before the server can let another client take the session's
	// ephemeral nodes (see WithSessionTimeout).
	StateExpired
	// StateClosed: Close was called.
	StateClosed
	// StateAuthFailed: the server refused the client's credentials.
	StateAuthFailed
)

// String returns the state's name, as "Connected".
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "Connecting"
	case StateConnected:
		return "Connected"
	case StateConnectedReadOnly:
		return "ConnectedReadOnly"
	case StateSuspended:
		return "Suspended"
	case StateExpired:
		return "Expired"
	case StateClosed:
		return "Closed"
	case StateAuthFailed:
		return "AuthFailed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// listeners calls state listeners in order on one goroutine. Transitions
// queue without bound, so a slow listener delays later ones but never loses
// them. A listener gets the transitions published after it was added, not
// those still queued from before.
type listeners struct {
	mu        sync.Mutex
	fns       map[int]listener
	order     []int
	nextID    int
	queue     []queuedState
	published uint64 // transitions published so far
	running   bool
	idle      *sync.Cond
}

// listener is a state listener and the number of the first transition it
// gets.
type listener struct {
	fn   func(State)
	from uint64
}

// queuedState is a transition and its number, counted from 0.
type queuedState struct {
	s   State
	seq uint64
}

func newListeners() *listeners {
	l := &listeners{fns: map[int]listener{}}
	l.idle = sync.NewCond(&l.mu)
	return l
}

func (l *listeners) add(fn func(State)) func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.nextID
	l.nextID++
	l.fns[id] = listener{fn: fn, from: l.published}
	l.order = append(l.order, id)
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.fns, id)
		for i, v := range l.order {
			if v == id {
				l.order = append(l.order[:i:i], l.order[i+1:]...)
				break
			}
		}
	}
}

// publish queues s for every listener. The dispatching goroutine runs only
// while there is something to deliver, and ends when the queue is empty.
func (l *listeners) publish(s State) {
	l.mu.Lock()
	l.queue = append(l.queue, queuedState{s: s, seq: l.published})
	l.published++
	if !l.running {
		l.running = true
		go l.drain()
	}
	l.mu.Unlock()
}

func (l *listeners) drain() {
	l.mu.Lock()
	for len(l.queue) > 0 {
		q := l.queue[0]
		l.queue = l.queue[1:]
		fns := make([]func(State), 0, len(l.order))
		for _, id := range l.order {
			if ln := l.fns[id]; ln.from <= q.seq {
				fns = append(fns, ln.fn)
			}
		}
		l.mu.Unlock()
		for _, fn := range fns {
			fn(q.s)
		}
		l.mu.Lock()
	}
	l.running = false
	l.idle.Broadcast()
	l.mu.Unlock()
}

// wait blocks until every queued transition has been delivered.
func (l *listeners) wait() {
	l.mu.Lock()
	for l.running {
		l.idle.Wait()
	}
	l.mu.Unlock()
}
