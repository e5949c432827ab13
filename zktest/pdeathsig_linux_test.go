package zktest_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/zkit-go/zkit/zktest"
)

// TestServerOutlivesTheThreadThatStartedIt: a server started from a
// goroutine that locked its thread and ends without unlocking it, which
// ends the thread, goes on serving. The JVM's Pdeathsig fires when the
// thread that started it ends, so zktest must not start it from the
// caller's thread.
func TestServerOutlivesTheThreadThatStartedIt(t *testing.T) {
	type result struct {
		srv *zktest.Server
		err error
	}
	started := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		srv, err := zktest.NewServer(t.Context())
		started <- result{srv, err}
	}()
	r := <-started
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { _ = r.srv.Close() })

	// The killed thread takes its children with it within milliseconds.
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		if _, err := r.srv.Mode(); err != nil {
			t.Fatalf("the server stopped serving once the thread that started it ended (running: %v): %v", r.srv.Running(), err)
		}
	}
}
