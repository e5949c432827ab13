package core

import (
	"context"
	"errors"
	"sync"
)

// watcherChanSize is how many events wait in a persistent watcher's channel
// before further ones queue inside the watcher.
const watcherChanSize = 64

// Watcher is a persistent (or persistent-recursive) watch made by AddWatch.
// Its events arrive in zxid order on Events. It ends, with a final
// EventNotWatching, when its session expires, the client closes, or its
// consumer falls more than the client's watcher buffer behind.
type Watcher struct {
	client     *Client
	path       string
	serverPath string
	mode       AddWatchMode

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

// flushOnStop ends the watcher as its client stops: the queued events and
// a final NotWatching with ErrClosed go to the channel as far as it has
// room, since a closing client waits for no consumer. Once ended, the
// watcher takes no more events, so none is sent on the closed channel.
func (w *Watcher) flushOnStop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.ended = true
		w.queue = append(w.queue, Event{Type: EventNotWatching, Path: w.path, Err: ErrClosed})
	}
	if w.closed {
		return
	}
	for _, ev := range w.queue {
		select {
		case w.ch <- ev:
		default:
			return
		}
	}
}

// Close removes the watch: locally at once, and on the server when the
// client holds no other watch on the path. It is idempotent.
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
	// Servers up to 3.8 know no persistent watcher type in removeWatches:
	// the only way to take this watch off is to remove every watch of the
	// session on the path. So while the client holds any other watch there,
	// the server's watch stays and the client simply delivers nothing for
	// this one; the next reconnect does not register it again.
	if w.client.watches.removePersistent(w) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.client.cfg.sessionTimeout)
	defer cancel()
	err := w.client.removeServerWatch(ctx, w.path, w.serverPath, int32(WatchAny))
	if err != nil && (isLoss(err) || isNotSent(err)) {
		// The connection is gone; the re-registration after the reconnect
		// no longer includes this watch.
		return nil
	}
	if errors.Is(err, ErrNoWatcher) || errors.Is(err, ErrClosed) {
		// Nothing holds the watch any more: the server, or the closed client.
		return nil
	}
	return err
}
