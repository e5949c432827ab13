package core

import (
	"context"
	"errors"
	"testing"
	"time"
)

// RetryUntilElapsed spends its whole budget: its last pause ends with the
// budget and a last attempt starts then, where a pause that would overrun
// the budget used to end the call early, up to a second before it.
func TestUnitRetryUntilElapsedSpendsItsBudget(t *testing.T) {
	const budget = 700 * time.Millisecond
	ready := func(context.Context) error { return nil }
	for range 3 {
		var starts []time.Time
		err := RetryUntilElapsed(budget).run(t.Context(), ready, retrySafe, func(context.Context) error {
			starts = append(starts, time.Now())
			return &Error{Code: CodeConnectionLoss}
		})
		if !errors.Is(err, ErrFailedRetry) || !errors.Is(err, ErrConnectionLoss) {
			t.Fatalf("run: %v, want ErrFailedRetry after a loss", err)
		}
		if last := starts[len(starts)-1].Sub(starts[0]); last < budget {
			t.Errorf("the last of %d attempts started %v after the first, before the budget of %v ended", len(starts), last, budget)
		}
	}
}

// A retry of RetryUntilElapsed that waits for a connection past the budget
// ends the call with ErrFailedRetry and the last attempt's error, not
// with a ctx error.
func TestUnitRetryUntilElapsedWaitsForAConnectionWithinItsBudget(t *testing.T) {
	never := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	attempts := 0
	first := true
	ready := func(ctx context.Context) error {
		if first {
			first = false
			return nil
		}
		return never(ctx)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := RetryUntilElapsed(200*time.Millisecond).run(ctx, ready, retrySafe, func(context.Context) error {
		attempts++
		return &Error{Code: CodeConnectionLoss}
	})
	if !errors.Is(err, ErrFailedRetry) || !errors.Is(err, ErrConnectionLoss) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run: %v, want ErrFailedRetry after the loss", err)
	}
	if attempts != 1 {
		t.Errorf("%d attempts, want 1", attempts)
	}
}
