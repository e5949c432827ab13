package lock

import (
	"sync"

	"github.com/zkit-go/zkit/core"
)

// spareWatch keeps the watch of a wait that gave up (its ctx ended) for
// the next wait on the same node. The client keeps a one-shot watch until
// its node changes, so a caller that retries Lock with short timeouts
// against a holder that keeps the lock for long would otherwise pile up
// one registration per attempt; reusing the watch also saves the read
// that sets it. A Mutex and a Semaphore each keep one.
type spareWatch struct {
	mu   sync.Mutex
	path string
	ch   <-chan core.Event // nil for none
}

// take returns the kept watch on path, unless none is kept for path or it
// has fired (its node changed: the client has forgotten it), and forgets
// it either way. Safe on a nil spareWatch, which keeps nothing.
func (s *spareWatch) take(path string) <-chan core.Event {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil || s.path != path {
		return nil
	}
	ch := s.ch
	s.ch = nil
	select {
	case <-ch:
		return nil
	default:
		return ch
	}
}

// keep keeps ch, the unfired watch on path of a wait that gave up, in
// place of any watch kept before.
func (s *spareWatch) keep(path string, ch <-chan core.Event) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.path, s.ch = path, ch
}
