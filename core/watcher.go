package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// watcherChanSize is how many events wait in a persistent watcher's channel
// before further ones queue inside the watcher.
const watcherChanSize = 64

// Watcher is a persistent (or persistent-recursive) watch made by AddWatch.
// Its events arrive in zxid order on Events, but for a reconnect: ZooKeeper
// sends no catch-up events for persistent watches, so a watcher misses
// what changed while the client was disconnected (the Suspended state
// tells of such a gap), and until the server has taken the new
// connection's watch registration, which it does before it answers any
// call made on that connection (StateConnected comes a little earlier, as
// SyncConnected does in the Java client), except on paths where the
// client also held one-shot watches. The server's catch-up events for
// those, one per watch, reach the watcher first after the reconnect, in no
// particular order, and carry no zxid to sort them by. One such catch-up
// event can come without a reconnect too, and tell again of a change the
// watcher has seen: when its AddWatch crosses the Close of the path's last
// other persistent watcher while the client holds one-shot watches there,
// and the node changes in that round trip.
//
// A watcher ends, with a final EventNotWatching, when its session expires,
// the client closes, or its consumer falls more than the client's watcher
// buffer behind. A client that closes waits for no consumer: if the
// channel cannot take a watcher's remaining events, the newest are dropped
// (and, when the channel is full, the oldest event in it, to make room for
// the final one), and the final event says how many (its error matches
// ErrClosed and ErrWatcherOverflow).
type Watcher struct {
	client     *Client
	path       string
	serverPath string
	mode       AddWatchMode
	// coming: a recursive watcher whose addWatch is out, counted in the
	// registry's coming map until it registers or its call fails.
	// Guarded by the registry's mu.
	coming bool

	ch   chan Event
	wake chan struct{}
	stop chan struct{}

	mu     sync.Mutex
	queue  []Event
	ended  bool
	closed bool
}

func newWatcher(c *Client, path, serverPath string, mode AddWatchMode) *Watcher {
	return &Watcher{
		client:     c,
		path:       path,
		serverPath: serverPath,
		mode:       mode,
		ch:         make(chan Event, watcherChanSize),
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
}

// Events delivers the watcher's events. It is closed when the watcher ends.
func (w *Watcher) Events() <-chan Event { return w.ch }

// Path is the watched path, relative to the chroot.
func (w *Watcher) Path() string { return w.path }

// push queues ev without blocking. It returns false when the queue is full:
// the watcher then ends with ErrWatcherOverflow.
func (w *Watcher) push(ev Event, bound int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return true
	}
	if len(w.queue) == 0 {
		select {
		case w.ch <- ev:
			return true
		default:
		}
	}
	if len(w.queue) >= bound {
		w.queue = append(w.queue, Event{Type: EventNotWatching, Path: w.path, Err: ErrWatcherOverflow})
		w.ended = true
		w.signal()
		return false
	}
	w.queue = append(w.queue, ev)
	w.signal()
	return true
}

// end queues a final event and stops the watcher once it is delivered.
func (w *Watcher) end(ev Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	w.ended = true
	w.queue = append(w.queue, ev)
	w.signal()
}

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// pump moves queued events into the channel in order. It ends when the
// watcher has ended and drained, when Close is called, or when the client
// stops.
func (w *Watcher) pump(clientStop <-chan struct{}) {
	defer w.client.wg.Done()
	defer close(w.ch)
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			ended := w.ended
			w.mu.Unlock()
			if ended {
				return
			}
			select {
			case <-w.wake:
				continue
			case <-w.stop:
				return
			case <-clientStop:
				w.flushOnStop()
				return
			}
		}
		ev := w.queue[0]
		w.mu.Unlock()
		select {
		case w.ch <- ev:
			w.mu.Lock()
			w.queue[0] = Event{}
			w.queue = w.queue[1:]
			w.mu.Unlock()
		case <-w.stop:
			return
		case <-clientStop:
			w.flushOnStop()
			return
		}
	}
}

// flushOnStop ends the watcher as its client stops, without waiting for
// the consumer: the queued events and a final NotWatching with ErrClosed go
// to the channel. When they do not all fit, the events already in the
// channel stay where they are, so the consumer still sees every event in
// order, and the newest queued ones are dropped; with the channel full, its
// oldest event goes to make room for the final one, whose error then says
// how many were dropped (see dropEvents). Once ended, the watcher takes no
// more events, so nothing else sends on the channel meanwhile, nor on the
// closed channel later.
func (w *Watcher) flushOnStop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if !w.ended {
		w.ended = true
		w.queue = append(w.queue, Event{Type: EventNotWatching, Path: w.path, Err: ErrClosed})
	}
	rest := w.queue
	w.queue = nil
	if room := cap(w.ch) - len(w.ch); len(rest) > room {
		taken := 0
		if room == 0 {
			select {
			case <-w.ch:
				taken = 1
			default: // the consumer read meanwhile
			}
			room = cap(w.ch) - len(w.ch)
		}
		rest = dropEvents(rest, room, taken)
	}
	for _, ev := range rest {
		w.ch <- ev // there is room: see above
	}
}

// dropEvents keeps at most n of evs, whose last is the watcher's final
// event: the oldest n-1 and the final one. When any is dropped, counting
// taken more dropped before, the final event's error says how many.
func dropEvents(evs []Event, n, taken int) []Event {
	if len(evs) <= n && taken == 0 {
		return evs
	}
	final := evs[len(evs)-1]
	keep := min(len(evs), n) - 1
	dropped := len(evs) - 1 - keep + taken
	if errors.Is(final.Err, ErrWatcherOverflow) {
		final.Err = fmt.Errorf("%w: %d more events dropped", final.Err, dropped)
	} else {
		final.Err = fmt.Errorf("%w: %d events dropped, the consumer fell behind: %w", final.Err, dropped, ErrWatcherOverflow)
	}
	return append(evs[:keep], final)
}

// Close removes the watch: from the client at once, and from the server
// unless another persistent watcher of the client watches the path. The
// one-shot watches on the path keep working. Close waits for no
// connection: while the client is disconnected it only forgets the watch,
// which the next connection then leaves out. On a live connection it
// sends the removal and waits for the server to apply it, at most
// closeWaitLimit (3 s, as Client.Close) on a connection that has stalled;
// past that the removal completes when its reply comes, and a later
// AddWatch on the path still goes out after it. It is idempotent.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.ended = true
	w.mu.Unlock()
	close(w.stop)
	if !w.client.watches.forget(w) {
		// Already gone: the watcher overflowed (and its server watch was
		// released then), or its session or client ended.
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWaitLimit)
	defer cancel()
	if w.mode == WatchPersistentRecursive {
		w.client.rearmPlain(ctx, w.serverPath)
	}
	return w.client.releaseServerWatch(ctx, w.path, w.serverPath)
}
