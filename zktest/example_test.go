package zktest_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/zkit-go/zkit/zktest"
)

// A program, such as a demo, starts a server of its own and closes it.
func ExampleNewServer() {
	srv, err := zktest.NewServer(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	mode, err := srv.Mode()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mode)
	// Output: standalone
}

// A test starts a server that the end of the test stops, and crashes and
// restarts it.
func ExampleStartServer() {
	testCrash := func(t *testing.T) {
		srv := zktest.StartServer(t)
		// Connect a client to srv.ConnString() and use it ...
		srv.Kill()    // the JVM dies as in a crash
		srv.Restart() // same port, same data
	}
	_ = testCrash
}

// An ensemble loses its leader and elects another.
func ExampleNewEnsemble() {
	ctx := context.Background()
	ens, err := zktest.NewEnsemble(ctx, 3)
	if err != nil {
		log.Fatal(err)
	}
	defer ens.Close()

	leader, err := ens.Leader()
	if err != nil {
		log.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		log.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	next, err := ens.WaitLeader(waitCtx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(next != leader)
	// Output: true
}

// A proxy between client and server injects faults.
func ExampleProxy() {
	testFaults := func(t *testing.T) {
		srv := zktest.Shared(t)
		px := zktest.StartProxy(t, srv.Addr())
		// Connect a client to px.Addr(), then:
		px.SetLatency(50 * time.Millisecond) // slow network
		px.BlackHole(true)                   // silent server: the session times out
		px.BlackHole(false)
		px.BlackHoleToServer(true) // one-way: the server hears nothing, events still arrive
		px.BlackHoleToServer(false)
		px.DropNextReply() // the next request is applied, its reply lost
		px.CutAll()        // connection loss
	}
	_ = testFaults
}

// A test expires its client's session, as the server would after a timeout.
func ExampleExpireSession() {
	testExpiry := func(t *testing.T) {
		srv := zktest.Shared(t)
		servers := srv.ConnString() + zktest.UniquePath(t) // the client's, chroot and all
		var sessionID int64                                // from the client, once it has a session
		var passwd []byte                                  // from the client
		if err := zktest.ExpireSession(t.Context(), servers, sessionID, passwd); err != nil {
			t.Fatal(err)
		}
		// The client now reconnects and finds its session expired.
	}
	_ = testExpiry
}

// Tests that share one server keep to paths of their own.
func ExampleShared() {
	testSomething := func(t *testing.T) {
		srv := zktest.Shared(t)
		root := zktest.UniquePath(t) // "/t-TestSomething-1a2b3c4d"
		// Connect a client to srv.ConnString() + root, a chroot ...
		_, _ = srv, root
	}
	_ = testSomething
}

// A test checks the watches a recipe leaves on the server: here, that a
// waiter's session watches one node.
func ExampleServer_Watches() {
	testOneWatch := func(t *testing.T) {
		srv := zktest.Shared(t)
		var waiterSession int64 // from the waiter's client, once it waits
		held, err := srv.Watches(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n := len(held[waiterSession]); n != 1 {
			t.Errorf("the waiter holds %d watches, want 1: %v", n, held[waiterSession])
		}
	}
	_ = testOneWatch
}
