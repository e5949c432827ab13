package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// SleepFunc decides how long to wait before the next attempt, given the
// start times of the attempts made so far (at least one). A negative result
// ends the retries.
type SleepFunc func(attempts []time.Time) time.Duration

// RetryPolicy decides how often, and after what pause, a call that failed
// with connection loss or an operation timeout is tried again. Only calls
// whose repetition is safe are retried.
//
// While the client is disconnected, a call waits for the reconnect (bounded
// by its ctx) before each attempt, so a disconnection burns no attempts. A
// request that never left the client is always sent again. After a loss in
// flight, when the server may or may not have applied the request, the
// rules are:
//
//   - Reads and watch calls (Exists, Get, GetChildren, GetACL, their W
//     forms, Sync, GetEphemerals, GetAllChildrenNumber, MultiRead, WhoAmI,
//     AddWatch, CheckWatches, RemoveWatches) are retried: repeating them
//     changes nothing.
//   - Create (and CreateAndList, EnsurePath) is retried, except a
//     sequential create that is not protected, which could make a second
//     node. A protected create first looks for its node by its GUID; a
//     plain create that finds its node reports ErrNodeExists, unless the
//     node is an ephemeral one of this session.
//   - Delete is retried; a retry that finds the node gone succeeds, and
//     so does one that finds a node made since at the path, when the
//     delete went at the stat cache's version (see Client.Delete).
//   - SetData and SetACL are retried; a versioned one first reads the
//     node, succeeds when it shows exactly this write, fails with
//     ErrBadVersion when another write took the next version, fails with
//     ErrOutcomeUnknown when the node has moved on further or was made
//     again, and is sent again only to the same node still at its version
//     (or unlooked, when the caller may not read the node).
//   - Transaction.Commit is not retried: the transaction may have been
//     applied.
//
// A reply the client cannot decode (ErrMarshallingError) is never retried:
// the server may have applied the request, and the same reply could come
// again.
type RetryPolicy struct {
	// retries is how many retries are allowed after the first attempt;
	// negative means no limit.
	retries int
	sleep   SleepFunc
	backoff func() backoff.BackOff
	within  time.Duration
	// invalid says what is wrong with the arguments that made the policy;
	// WithRetryPolicy refuses it.
	invalid error
}

func invalidPolicy(format string, args ...any) *RetryPolicy {
	return &RetryPolicy{invalid: fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)}
}

// NewRetryPolicy returns a policy allowing tryLimit retries (tryLimit+1
// attempts in all; negative for no limit) with pauses chosen by sleep. A nil
// sleep retries at once.
func NewRetryPolicy(tryLimit int, sleep SleepFunc) *RetryPolicy {
	return &RetryPolicy{retries: tryLimit, sleep: sleep}
}

// jittered makes exponential backoffs from about initial up to maximum,
// each pause randomised by ±50% and never longer than maximum.
func jittered(initial, maximum time.Duration) func() backoff.BackOff {
	return func() backoff.BackOff {
		b := backoff.NewExponentialBackOff()
		b.InitialInterval = initial
		b.MaxInterval = maximum
		b.Multiplier = 2
		b.RandomizationFactor = 0.5
		b.MaxElapsedTime = 0
		b.Reset()
		return capped{BackOff: b, maximum: maximum}
	}
}

// capped keeps a backoff's pauses within maximum: ExponentialBackOff
// randomises its interval after capping it, so alone it pauses up to one
// and a half times its MaxInterval.
type capped struct {
	backoff.BackOff
	maximum time.Duration
}

func (c capped) NextBackOff() time.Duration {
	return min(c.BackOff.NextBackOff(), c.maximum)
}

// RetryOnce allows one retry (two attempts) after a jittered pause of about
// 50 ms.
func RetryOnce() *RetryPolicy { return RetryNTimes(1) }

// RetryNTimes allows n retries (n+1 attempts) with jittered exponential
// pauses from about 50 ms up to 1 s. A negative n is refused by
// WithRetryPolicy.
func RetryNTimes(n int) *RetryPolicy {
	if n < 0 {
		return invalidPolicy("RetryNTimes(%d): a negative number of retries", n)
	}
	return &RetryPolicy{retries: n, backoff: jittered(50*time.Millisecond, time.Second)}
}

// RetryForever retries without limit, with jittered exponential pauses from
// about 50 ms up to 1 s. Each call's ctx still bounds it.
func RetryForever() *RetryPolicy {
	return &RetryPolicy{retries: -1, backoff: jittered(50*time.Millisecond, time.Second)}
}

// RetryExponentialBackoff retries without limit, with pauses starting near
// base and doubling up to maximum, each randomised by ±50% but never longer
// than maximum. A base that is not positive, or a maximum below it, is
// refused by WithRetryPolicy.
func RetryExponentialBackoff(base, maximum time.Duration) *RetryPolicy {
	if base <= 0 || maximum < base {
		return invalidPolicy("RetryExponentialBackoff(%v, %v): the base must be positive and at most the maximum", base, maximum)
	}
	return &RetryPolicy{retries: -1, backoff: jittered(base, maximum)}
}

// RetryUntilElapsed retries with jittered exponential pauses (50 ms up to
// 1 s) until timeout has passed since the first attempt. The last pause is
// cut short to end with the timeout, when a last attempt starts; none
// starts later. A timeout that is not positive is refused by WithRetryPolicy.
func RetryUntilElapsed(timeout time.Duration) *RetryPolicy {
	if timeout <= 0 {
		return invalidPolicy("RetryUntilElapsed(%v): the timeout must be positive", timeout)
	}
	return &RetryPolicy{retries: -1, backoff: jittered(50*time.Millisecond, time.Second), within: timeout}
}

// NoRetry never retries.
func NoRetry() *RetryPolicy { return &RetryPolicy{retries: 0} }

// attemptFunc makes one attempt. waitReady blocks until the client can send.
type attemptFunc func(ctx context.Context) error

// retryState counts the attempts of one call. The attempt times are kept
// only for a SleepFunc, which is the only one to read them.
type retryState struct {
	first time.Time
	count int
	times []time.Time
}

func (st *retryState) record(now time.Time, keepTimes bool) {
	if st.count == 0 {
		st.first = now
	}
	st.count++
	if keepTimes {
		st.times = append(st.times, now)
	}
}

func (st *retryState) unrecord() {
	st.count--
	if len(st.times) > st.count {
		st.times = st.times[:st.count]
	}
}

// run calls attempt until it succeeds, fails with an error retryable does
// not accept, or the policy runs out (ErrFailedRetry wrapping the last error).
func (p *RetryPolicy) run(ctx context.Context, waitReady func(context.Context) error, retryable func(error) bool, attempt attemptFunc) error {
	var st retryState
	return p.resume(ctx, &st, nil, waitReady, retryable, attempt)
}

// resume goes on from the attempts st has recorded, the last of which
// failed with lastErr.
func (p *RetryPolicy) resume(ctx context.Context, st *retryState, lastErr error, waitReady func(context.Context) error, retryable func(error) bool, attempt attemptFunc) error {
	var bo backoff.BackOff
	err := lastErr
	for {
		if st.count > 0 && isNotSent(err) && stopped(ctx) == nil {
			// The request never left the client: that costs no attempt. Wait
			// for the next connection (the dead one may still look live for
			// a moment) and send it again.
			st.unrecord()
			if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
				return err
			}
		} else if st.count > 0 {
			if err == nil || !retryable(err) {
				return err
			}
			if cerr := ctx.Err(); cerr != nil {
				// No time to retry: the error matches both the loss and
				// ctx's end, as a caller checking either expects.
				return fmt.Errorf("%w, and %w before a retry", err, cerr)
			}
			if serr := stopped(ctx); serr != nil {
				// The session the call is tied to ended (WithSession).
				return serr
			}
			if p.retries >= 0 && st.count-1 >= p.retries {
				return exhausted(st.count, err)
			}
			pause := p.pause(&bo, st.times)
			if pause < 0 {
				return exhausted(st.count, err)
			}
			if p.within > 0 {
				// The last pause is cut to end with the budget, so that an
				// attempt can still start then.
				left := p.within - time.Since(st.first)
				if left <= 0 {
					return exhausted(st.count, err)
				}
				pause = min(pause, left)
			}
			if err := sleepCtx(ctx, pause); err != nil {
				return err
			}
		}
		spent, rerr := p.readyWithinBudget(ctx, st, waitReady)
		if spent {
			return exhausted(st.count, err)
		}
		if rerr != nil {
			return rerr
		}
		st.record(time.Now(), p.sleep != nil)
		err = attempt(ctx)
	}
}

// readyWithinBudget waits for a connection before an attempt. A retry of
// RetryUntilElapsed waits no longer than the budget: a connection ready at
// its end still takes the attempt, and one not ready by then ends the
// call (spent).
func (p *RetryPolicy) readyWithinBudget(ctx context.Context, st *retryState, waitReady func(context.Context) error) (spent bool, err error) {
	if p.within <= 0 || st.count == 0 {
		return false, waitReady(ctx)
	}
	bctx, cancel := context.WithDeadline(ctx, st.first.Add(p.within))
	defer cancel()
	err = waitReady(bctx)
	if err != nil && ctx.Err() == nil && bctx.Err() != nil {
		return true, nil
	}
	return false, err
}

// pause returns the wait before the next attempt, negative to stop: the
// SleepFunc's, or the next of the policy's backoff, made in *bo on first
// use. attempts are the start times of the attempts so far, kept only for
// a SleepFunc.
func (p *RetryPolicy) pause(bo *backoff.BackOff, attempts []time.Time) time.Duration {
	switch {
	case p.sleep != nil:
		return p.sleep(attempts)
	case p.backoff != nil:
		if *bo == nil {
			*bo = p.backoff()
		}
		return (*bo).NextBackOff()
	}
	return 0
}

func exhausted(attempts int, last error) error {
	return fmt.Errorf("%w after %d attempts: %w", ErrFailedRetry, attempts, last)
}

// sleepCtx waits d, or less if ctx ends or the session it is tied to
// (WithSession), and then reports why it stopped early.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return stopped(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-sessionEnded(tiedSession(ctx)):
		return stopped(ctx)
	}
}

// afterSent is the error of an attempt whose write went out, when a
// follow-up call of the same attempt (a read back, a check of whose node
// it is) found no connection. Such an attempt sent something, so it must
// count against the policy, which a not-sent error would keep it from
// doing: the write would be sent again without limit. It stays a loss, so
// a safe call is still retried.
func afterSent(err error) error {
	if !isNotSent(err) {
		return err
	}
	return fmt.Errorf("%w (the follow-up of a write that went out found no connection)", ErrConnectionLoss)
}

// isLoss reports the errors after which a safe call may be retried.
func isLoss(err error) bool {
	if errors.Is(err, ErrOutcomeUnknown) {
		return false // a retry has already told what it could
	}
	return errors.Is(err, ErrConnectionLoss) || errors.Is(err, ErrOperationTimeout) || errors.Is(err, ErrTimeout)
}
