package core

import (
	"slices"
	"sync"
	"testing"
)

// A listener added while transitions are still queued for the others
// gets only those published after it was added, whatever the dispatching
// goroutine has delivered so far; the others get every one, in order.
func TestUnitListenerAddedLateGetsOnlyLaterTransitions(t *testing.T) {
	l := newListeners()
	var (
		mu          sync.Mutex
		early, late []State
	)
	inFirst, release := make(chan struct{}), make(chan struct{})
	l.add(func(s State) {
		if s == StateConnecting {
			close(inFirst)
			<-release // holds the dispatch while more is published
		}
		mu.Lock()
		early = append(early, s)
		mu.Unlock()
	})
	l.publish(StateConnecting)
	<-inFirst
	l.publish(StateConnected) // queued, not yet delivered
	l.add(func(s State) {
		mu.Lock()
		late = append(late, s)
		mu.Unlock()
	})
	l.publish(StateSuspended)
	close(release)
	l.wait()

	mu.Lock()
	defer mu.Unlock()
	if want := []State{StateConnecting, StateConnected, StateSuspended}; !slices.Equal(early, want) {
		t.Errorf("the first listener got %v, want %v", early, want)
	}
	if want := []State{StateSuspended}; !slices.Equal(late, want) {
		t.Errorf("the listener added late got %v, want %v", late, want)
	}
}
