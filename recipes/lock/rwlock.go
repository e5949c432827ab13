package lock

import "github.com/zkit-go/zkit/core"

// ReadWriteLock is a distributed read/write lock on a path, in the layout
// of Curator's InterProcessReadWriteLock. Any number of readers hold it
// together; a writer holds it alone. Contenders queue in order: a reader
// waits only for the writers queued before it, a writer for everyone
// queued before it; each watches one of those, as a Mutex does. So a
// reader that arrives while a writer waits queues behind that writer.
//
// Neither side is reentrant, and unlike Curator's lock the write side
// does not let its holder take the read side too: a ReadLock().Lock while
// this lock's WriteLock is held waits behind that writer's own node until
// its ctx ends.
type ReadWriteLock struct {
	read, write *Mutex
}

// NewReadWriteLock returns a read/write lock on path. It does no I/O.
func NewReadWriteLock(c *core.Client, path string, opts ...Option) *ReadWriteLock {
	o := buildOptions(opts)
	return &ReadWriteLock{
		read:  newMutex(c, path, readScheme(o.kazoo), o.id),
		write: newMutex(c, path, writeScheme(o.kazoo), o.id),
	}
}

// ReadLock returns the lock's shared side. Its nodes are named
// "_c_<uuid>-__READ__<seq>". Its Participants lists readers and writers.
func (l *ReadWriteLock) ReadLock() *Mutex { return l.read }

// WriteLock returns the lock's exclusive side. Its nodes are named
// "_c_<uuid>-__WRIT__<seq>". Its Participants lists readers and writers.
func (l *ReadWriteLock) WriteLock() *Mutex { return l.write }
