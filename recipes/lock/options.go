package lock

// Option configures a Mutex, a ReadWriteLock or a Semaphore.
type Option interface{ apply(*options) }

type options struct {
	id    []byte
	kazoo bool
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	return o
}

// WithID stores id as the data of every node the lock creates, so that
// Participants, and other clients, can tell who is contending.
// Default: no data, and Participants reports node names.
func WithID(id []byte) Option {
	id = append([]byte(nil), id...)
	return optionFunc(func(o *options) { o.id = id })
}

// WithKazooLayout names a Mutex's nodes "<hex32>__lock__<seq>", and a
// ReadWriteLock's "<hex32>__rlock__<seq>" (readers) and
// "<hex32>__lock__<seq>" (writers), as Python's kazoo does, to share a lock
// with kazoo clients. A Semaphore always uses Curator's layout and ignores
// it. Default: Curator's layout.
func WithKazooLayout() Option {
	return optionFunc(func(o *options) { o.kazoo = true })
}
