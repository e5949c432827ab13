package core

// Calls that share a context. A call waits for its reply and also for its
// context to end, and for the session it is tied to (WithSession) to end.
// Waiting in a select on a Done channel parks the goroutine on that
// channel, and every park and every wake-up takes the channel's lock.
// When many goroutines call with one context, as the workers of a service
// often do with the context of their run, or tie their calls to one
// session, as the lock recipes do, they all queue on that one channel:
// with 256 goroutines setting data on two CPUs, its lock cost about a
// tenth of the throughput (bench/README.md, "Calls that share a
// context").
//
// So a connection watches the channels its calls share. Once
// sharedWatchFrom requests out on it wait on the same channel, one
// goroutine (a ctxWatcher) waits on that channel for all of them, and
// each call queued from then on waits on channels of its own instead:
// its reply's and its request's cancel channel. When the channel is
// closed, the watcher puts a token in the cancel channel of each such
// request whose reply has not come, and its caller stops waiting as if it
// had seen the context or the session end itself. The watcher ends when
// the last request with that channel is answered, or with the connection.
//
// A channel that fewer calls wait on at once costs a map update per call
// and no goroutine: those calls wait on it themselves.

// sharedWatchFrom is how many requests out on a connection must wait on
// one channel before a goroutine watches it for them.
const sharedWatchFrom = 4

// ctxShare counts a connection's requests out that wait on one channel,
// and holds the goroutine watching it once there are enough.
type ctxShare struct {
	out     int
	watcher *ctxWatcher // nil until out reaches sharedWatchFrom
}

// ctxWatcher waits on done for the requests that wait on it.
type ctxWatcher struct {
	done <-chan struct{}
	stop chan struct{} // closed when no request waiting on done is out
	// fired says done was closed and the requests then out were told;
	// later ones wait on done themselves. Guarded by conn.mu.
	fired bool
}

// watchLocked counts r, being queued, under the channels its caller waits
// on (r.ctxDone and r.tiedDone), starting a watcher for a channel shared
// enough, and marks which of them a watcher waits on for r. Called with
// mu held.
func (c *conn) watchLocked(r *request) {
	r.watchedCtx = c.shareLocked(r.ctxDone)
	r.watchedTied = c.shareLocked(r.tiedDone)
}

// unwatchLocked uncounts r, whose reply is in. Called with mu held.
func (c *conn) unwatchLocked(r *request) {
	c.unshareLocked(r.ctxDone)
	c.unshareLocked(r.tiedDone)
}

// shareLocked counts one more request out waiting on done (nil for a
// channel never closed), and reports whether a watcher waits on it.
func (c *conn) shareLocked(done <-chan struct{}) (watched bool) {
	if done == nil {
		return false
	}
	if c.shares == nil {
		c.shares = make(map[<-chan struct{}]ctxShare)
	}
	s := c.shares[done]
	s.out++
	if s.watcher == nil && s.out >= sharedWatchFrom {
		s.watcher = &ctxWatcher{done: done, stop: make(chan struct{})}
		c.sharedWatchers.Add(1)
		c.sharedWatching.Add(1)
		c.wg.Add(1)
		go c.watchShared(s.watcher)
	}
	c.shares[done] = s
	return s.watcher != nil && !s.watcher.fired
}

// unshareLocked counts one request fewer waiting on done, and stops its
// watcher when none is left.
func (c *conn) unshareLocked(done <-chan struct{}) {
	if done == nil {
		return
	}
	s, ok := c.shares[done]
	if !ok {
		return
	}
	if s.out--; s.out > 0 {
		c.shares[done] = s
		return
	}
	delete(c.shares, done)
	if s.watcher != nil {
		close(s.watcher.stop)
	}
}

// watchShared waits for w's channel to close, then ends the wait of every
// request it watches whose reply has not come. A request still in pending
// has not been finished, so its caller has not released it: the token
// lands in the request the caller waits on, and release drains a token
// left when the reply won.
func (c *conn) watchShared(w *ctxWatcher) {
	defer c.wg.Done()
	defer c.sharedWatching.Add(-1)
	select {
	case <-w.done:
	case <-w.stop:
		return
	case <-c.done:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	w.fired = true
	for _, r := range c.pending[c.head:] {
		if (r.watchedCtx && r.ctxDone == w.done) || (r.watchedTied && r.tiedDone == w.done) {
			select {
			case r.cancel <- struct{}{}:
			default:
			}
		}
	}
}
