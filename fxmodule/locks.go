package fxmodule

import (
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
)

// Locks makes lock recipes bound to the module's client, so that an
// application's components ask for *Locks instead of wiring the client into
// each lock themselves. Constructing a lock does no I/O.
type Locks struct {
	client *core.Client
}

// NewLocks returns a Locks on client. Module provides it.
func NewLocks(client *core.Client) *Locks { return &Locks{client: client} }

// Mutex returns a distributed lock on path (lock.NewMutex).
func (l *Locks) Mutex(path string, opts ...lock.Option) *lock.Mutex {
	return lock.NewMutex(l.client, path, opts...)
}

// ReadWriteLock returns a distributed read/write lock on path
// (lock.NewReadWriteLock).
func (l *Locks) ReadWriteLock(path string, opts ...lock.Option) *lock.ReadWriteLock {
	return lock.NewReadWriteLock(l.client, path, opts...)
}

// Semaphore returns a distributed counting semaphore of maxLeases leases on
// path (lock.NewSemaphore).
func (l *Locks) Semaphore(path string, maxLeases int, opts ...lock.Option) *lock.Semaphore {
	return lock.NewSemaphore(l.client, path, maxLeases, opts...)
}
