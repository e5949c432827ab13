package core

import (
	"testing"
	"time"
)

func TestUnitReconnectPause(t *testing.T) {
	for _, tc := range []struct {
		name            string
		next, timeout   time.Duration
		atLeast, atMost time.Duration
	}{
		{"a short backoff stands", 100 * time.Millisecond, 6 * time.Second, 100 * time.Millisecond, 100 * time.Millisecond},
		{"at the limit it stands", 600 * time.Millisecond, 6 * time.Second, 600 * time.Millisecond, 600 * time.Millisecond},
		{"a long one is cut to a tenth of the timeout", 2 * time.Second, 6 * time.Second, 300 * time.Millisecond, 600 * time.Millisecond},
		{"a long session keeps the backoff", 2 * time.Second, 30 * time.Second, 2 * time.Second, 2 * time.Second},
		{"no timeout known", 2 * time.Second, 0, 2 * time.Second, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				got := reconnectPause(tc.next, tc.timeout)
				if got < tc.atLeast || got > tc.atMost {
					t.Fatalf("reconnectPause(%v, %v) = %v, want %v to %v", tc.next, tc.timeout, got, tc.atLeast, tc.atMost)
				}
			}
		})
	}
}
