package core

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Session is one ZooKeeper session of a client. After an expiry the client
// makes a new Session; recipes bind to one through Done.
type Session struct {
	id     int64
	passwd []byte
	// timeout is the session timeout (a time.Duration) the server granted
	// on the latest connection.
	timeout atomic.Int64

	once sync.Once
	done chan struct{}
	err  error
	// ended is cancelled, with err as its cause, when the session ends; Bind
	// hangs callers' contexts on it.
	ended  context.Context
	finish context.CancelCauseFunc

	// onEnd holds the functions OnEnd registered, run when the session
	// ends; over is set then. Both are guarded by mu.
	mu     sync.Mutex
	onEnd  []endFunc
	nextID int
	over   bool
}

type endFunc struct {
	id int
	f  func()
}

func newSession(id int64, passwd []byte, timeout time.Duration) *Session {
	s := &Session{id: id, passwd: passwd, done: make(chan struct{})}
	s.timeout.Store(int64(timeout))
	s.ended, s.finish = context.WithCancelCause(context.Background())
	return s
}

// ID is the session id the server assigned.
func (s *Session) ID() int64 { return s.id }

// Timeout is the session timeout the server granted. Each connection
// negotiates it again, and a server configured with other bounds grants
// another: Timeout is then the one of the latest connection, which the
// server measures the session's expiry by from then on, and so does the
// client's own timer.
func (s *Session) Timeout() time.Duration { return time.Duration(s.timeout.Load()) }

// Password is the session's password, which lets another connection resume
// (or, in tests, expire) it.
func (s *Session) Password() []byte { return append([]byte(nil), s.passwd...) }

// Done is closed when the session ends: it expired (on the server, or by the
// client's timer while disconnected) or the client closed it.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended: ErrSessionExpired or ErrClosed. After the
// server refused the client's credentials (StateAuthFailed), the client
// connects no more and ends the session at once with an error that matches
// both ErrSessionExpired and ErrAuthFailed. It is nil while the session
// lives.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Bind returns a copy of ctx that is also cancelled when the session ends,
// so that calls made under it stop waiting (for a reconnect, a reply or a
// watch) as soon as the session is gone. context.Cause of the returned
// context is then the session's Err. As with context.WithCancel, call the
// returned function once the context is no longer needed. Bind starts no
// goroutine.
func (s *Session) Bind(ctx context.Context) (context.Context, context.CancelFunc) {
	bound, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.ended, func() { cancel(s.err) })
	return bound, func() {
		stop()
		cancel(context.Canceled)
	}
}

// OnEnd arranges for f to run when the session ends, in the goroutine that
// ends it and before the client goes on: when Close ends the session, f
// has returned before the client asks the server to close it, so before
// the server deletes the session's ephemeral nodes. A recipe can so tell
// its user of the loss before anyone else can take what the session held.
// f must be quick and must not call the client. If the session has ended
// already, f runs at once, in the caller's goroutine. The functions run in
// the order they were registered.
//
// stop removes f and reports whether it did so before f ran, as the stop
// function of context.AfterFunc does.
func (s *Session) OnEnd(f func()) (stop func() bool) {
	s.mu.Lock()
	if s.over {
		s.mu.Unlock()
		f()
		return func() bool { return false }
	}
	id := s.nextID
	s.nextID++
	s.onEnd = append(s.onEnd, endFunc{id: id, f: f})
	s.mu.Unlock()
	return func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, e := range s.onEnd {
			if e.id == id {
				s.onEnd = append(s.onEnd[:i:i], s.onEnd[i+1:]...)
				return true
			}
		}
		return false
	}
}

func (s *Session) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
		s.mu.Lock()
		s.over = true
		fns := s.onEnd
		s.onEnd = nil
		s.mu.Unlock()
		for _, e := range fns {
			e.f()
		}
		s.finish(err)
	})
}
