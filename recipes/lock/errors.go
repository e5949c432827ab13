package lock

import (
	"errors"
	"fmt"

	"github.com/zkit-go/zkit/core"
)

var (
	// ErrLocked reports a TryLock that would have had to wait.
	ErrLocked = errors.New("lock: held by another contender")
	// ErrAlreadyLocked reports a Lock or TryLock on a Mutex that already
	// holds, or is acquiring, its lock. Locks are not reentrant.
	ErrAlreadyLocked = errors.New("lock: already locked by this object")
	// ErrNotLocked reports an Unlock, or a Release, of something not held.
	ErrNotLocked = errors.New("lock: not locked")
	// ErrLockLost reports a lock, or a lease, lost while it was being
	// acquired: its session ended or its node was deleted. The error also
	// matches the session's error (core.ErrSessionExpired or core.ErrClosed)
	// when that was the cause.
	ErrLockLost = errors.New("lock: lost")
)

// lostError wraps cause, when there is one, under ErrLockLost.
func lostError(cause error) error {
	if cause == nil {
		return ErrLockLost
	}
	return fmt.Errorf("%w: %w", ErrLockLost, cause)
}

// transient reports errors after which repeating a request may succeed.
func transient(err error) bool {
	return errors.Is(err, core.ErrConnectionLoss) ||
		errors.Is(err, core.ErrOperationTimeout) ||
		errors.Is(err, core.ErrTimeout) ||
		errors.Is(err, core.ErrFailedRetry) ||
		errors.Is(err, core.ErrSessionMoved) ||
		errors.Is(err, core.ErrThrottled) ||
		errors.Is(err, core.ErrRequestTimeout)
}
