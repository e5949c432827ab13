package lock_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A create whose reply is lost (the server made the node, the connection
// broke before the reply came) is found again by its prefix: no duplicate,
// no orphan.
func TestMutexLostCreateReply(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []lock.Option
	}{{"curator", nil}, {"kazoo", []lock.Option{lock.WithKazooLayout()}}} {
		t.Run(tt.name, func(t *testing.T) {
			srv, c, path := sharedSetup(t)
			ctx := testCtx(t)
			proxy := zktest.StartProxy(t, srv.Addr())
			calls, logged := observer.New(zapcore.DebugLevel)
			pc := startClient(t, proxy.Addr(), core.WithLogger(zap.New(calls)))
			m := lock.NewMutex(pc, path, tt.opts...)
			proxy.DropNextReply()
			if err := m.Lock(ctx); err != nil {
				t.Fatal(err)
			}
			// The search for the node makes the server catch up before it
			// lists the directory (CatchUp, a check-only transaction): a
			// server the client moved to may lag behind the one that took
			// the create.
			var ops []string
			for _, e := range logged.FilterMessage("zk: call").All() {
				ops = append(ops, e.ContextMap()["op"].(string))
			}
			catchUp := slices.Index(ops, "multi")
			if catchUp < 0 || !slices.ContainsFunc(ops[catchUp:], func(op string) bool { return op == "getChildren" || op == "getChildren2" }) {
				t.Errorf("no catch-up before the search's listing: calls %v", ops)
			}
			n := nodesOf(t, c, path, sessionID(t, pc))
			if len(n) != 1 || len(listChildren(t, c, path)) != 1 {
				t.Fatalf("the session owns %v of %v, want exactly one node", n, listChildren(t, c, path))
			}
			if err := m.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if n := listChildren(t, c, path); len(n) != 0 {
				t.Errorf("nodes left: %v", n)
			}
		})
	}
}

// Lock's ctx ends after the server made the node but before the create's
// reply came back: Lock finds the node by its prefix and deletes it.
func TestMutexCancelWithCreateInFlight(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	pc := startClient(t, proxy.Addr())
	m := lock.NewMutex(pc, path)
	// Made beforehand, so that the create is one request.
	if _, err := c.Create(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	proxy.SetLatency(time.Second)

	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Lock(lctx) }()
	eventually(t, "the node on the server", func() bool { return len(listChildren(t, c, path)) == 1 })
	cancel()
	if err := recv(t, done, "Lock to give up"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock: %v, want context.Canceled (the reply may have beaten the cancel)", err)
	}
	if n := listChildren(t, c, path); len(n) != 0 {
		t.Errorf("nodes left: %v", n)
	}
	// Let the client reconnect without latency, so that it closes at once.
	proxy.SetLatency(0)
	proxy.CutAll()
}
