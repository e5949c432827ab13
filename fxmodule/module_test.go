package fxmodule_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/fxmodule"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(zktest.Main(m)) }

// testConfig points at the shared server, under a chroot of the test's own.
func testConfig(t *testing.T) fxmodule.Config {
	return fxmodule.Config{
		Servers:        zktest.Shared(t).ConnString(),
		Chroot:         zktest.UniquePath(t),
		SessionTimeout: 4 * time.Second,
	}
}

func TestModuleConnectsOnStartAndClosesOnStop(t *testing.T) {
	var client *core.Client
	app := fxtest.New(t,
		fxmodule.Module,
		fx.Supply(testConfig(t)),
		fx.Populate(&client),
	)
	if client == nil {
		t.Fatal("no *core.Client was provided")
	}
	if got := client.State(); got != core.StateConnecting {
		t.Errorf("before start: state %v, want Connecting (the constructor does no I/O)", got)
	}

	app.RequireStart()
	ctx := t.Context()
	if got := client.State(); got != core.StateConnected {
		t.Errorf("after start: state %v, want Connected", got)
	}
	if client.Session() == nil {
		t.Error("after start: no session")
	}
	p, err := client.Create(ctx, "/node", []byte("data"))
	if err != nil || p != "/node" {
		t.Fatalf("Create = %q, %v; want /node, nil", p, err)
	}
	if data, err := client.GetData(ctx, "/node"); err != nil || string(data) != "data" {
		t.Errorf("GetData = %q, %v; want data, nil", data, err)
	}
	if err := client.Delete(ctx, "/node"); err != nil {
		t.Errorf("Delete: %v", err)
	}

	app.RequireStop()
	if got := client.State(); got != core.StateClosed {
		t.Errorf("after stop: state %v, want Closed", got)
	}
	if _, err := client.Create(ctx, "/after-stop", nil); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Create after stop: %v, want ErrClosed", err)
	}
	if _, err := client.Exists(ctx, "/"); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Exists after stop: %v, want ErrClosed", err)
	}
}

func TestModuleLogsToTheAppLogger(t *testing.T) {
	obs, logs := observer.New(zapcore.DebugLevel)
	app := fxtest.New(t,
		fxmodule.Module,
		fx.Supply(testConfig(t), zap.New(obs)),
		fx.Invoke(func(*core.Client) {}),
	)
	app.RequireStart()
	app.RequireStop()

	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.Message)
	}
	connected := logs.FilterMessage("zk: connected").All()
	if len(connected) != 1 {
		t.Fatalf("want one \"zk: connected\" from the client on the app's logger; got %q", msgs)
	}
	if got := connected[0].LoggerName; got != "zkit" {
		t.Errorf("logger name %q, want zkit", got)
	}
	if _, ok := connected[0].ContextMap()["session"]; !ok {
		t.Errorf("\"zk: connected\" has no session field: %v", connected[0].ContextMap())
	}
	for _, want := range []string{"zkit: client started", "zkit: client closed"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("no %q logged; got %q", want, msgs)
		}
	}
}

// refusedAddr returns a local address where nothing listens.
func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestModuleFailsStartOnBadConfig(t *testing.T) {
	refused := refusedAddr(t)
	silent := zktest.StartProxy(t, zktest.Shared(t).Addr())
	silent.BlackHole(true) // takes the connection, never answers
	tests := []struct {
		name    string
		supply  []fx.Option
		wantErr error // nil: only the message is checked
		wantMsg string
	}{
		{
			name:    "no config",
			wantErr: fxmodule.ErrNoConfig,
			wantMsg: "supply an fxmodule.Config",
		},
		{
			name:    "empty servers",
			supply:  []fx.Option{fx.Supply(fxmodule.Config{SessionTimeout: time.Second})},
			wantErr: fxmodule.ErrNoConfig,
			wantMsg: "no ZooKeeper servers configured",
		},
		{
			name:    "bad port",
			supply:  []fx.Option{fx.Supply(fxmodule.Config{Servers: "127.0.0.1:http"})},
			wantErr: core.ErrInvalidArgument,
			wantMsg: `fxmodule: invalid Config: NewClient: zk: invalid argument: bad port in "127.0.0.1:http"`,
		},
		{
			name:    "relative chroot",
			supply:  []fx.Option{fx.Supply(fxmodule.Config{Servers: "127.0.0.1:2181", Chroot: "app"})},
			wantErr: core.ErrInvalidPath,
			wantMsg: "fxmodule: invalid Config: NewClient: WithChroot",
		},
		{
			name:    "negative session timeout",
			supply:  []fx.Option{fx.Supply(fxmodule.Config{Servers: "127.0.0.1:2181", SessionTimeout: -time.Second})},
			wantErr: core.ErrInvalidArgument,
			wantMsg: "WithSessionTimeout(-1s)",
		},
		{
			name:    "nil extra option",
			supply:  []fx.Option{fx.Supply(fxmodule.Config{Servers: "127.0.0.1:2181", Options: []core.Option{nil}})},
			wantMsg: "fxmodule: invalid Config: nil entry in Options",
		},
		{
			// The client gives up before fx does, so the error says why.
			name: "unreachable servers",
			supply: []fx.Option{
				fx.Supply(fxmodule.Config{Servers: refused}),
				fx.StartTimeout(500 * time.Millisecond),
			},
			wantErr: context.DeadlineExceeded,
			wantMsg: "fxmodule: connect to ZooKeeper at " + refused,
		},
		{
			// A handshake still under way is cut when the client gives
			// up, so the hook returns before fx's deadline here too.
			name: "a server that never answers",
			supply: []fx.Option{
				fx.Supply(fxmodule.Config{Servers: silent.Addr()}),
				fx.StartTimeout(time.Second),
			},
			wantErr: context.DeadlineExceeded,
			wantMsg: "fxmodule: connect to ZooKeeper at " + silent.Addr() + ": Start: context deadline exceeded (the connection attempt to " + silent.Addr() + " had not ended)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var client *core.Client
			opts := append([]fx.Option{fx.NopLogger, fxmodule.Module, fx.Populate(&client)}, tt.supply...)
			app := fx.New(opts...)
			ctx, cancel := context.WithTimeout(t.Context(), app.StartTimeout())
			defer cancel()
			err := app.Start(ctx)
			if err == nil {
				_ = app.Stop(context.Background())
				t.Fatal("the app started; want a start error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("start error %q does not match %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("start error %q does not say %q", err, tt.wantMsg)
			}
			if client != nil {
				// The failed Start closes the client (fx may return before
				// the hook does); wait for it, so that no goroutine
				// outlives the test.
				waitClosed(t, client)
			}
		})
	}
}

// waitClosed waits until c reaches StateClosed; a client that never does
// fails the test once the guard runs out.
func waitClosed(t *testing.T, c *core.Client) {
	t.Helper()
	closed := make(chan struct{})
	var once sync.Once
	remove := c.AddStateListener(func(s core.State) {
		if s == core.StateClosed {
			once.Do(func() { close(closed) })
		}
	})
	defer remove()
	if c.State() == core.StateClosed {
		return
	}
	guard, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	select {
	case <-closed:
	case <-guard.Done():
		t.Errorf("after the failed start: state %v, want Closed", c.State())
	}
}

func TestModuleDoesNotProvideALogger(t *testing.T) {
	err := fx.ValidateApp(fxmodule.Module, fx.Invoke(func(*zap.Logger) {}))
	if err == nil || !strings.Contains(err.Error(), "missing type: *zap.Logger") {
		t.Errorf("ValidateApp = %v; want a missing *zap.Logger", err)
	}
}

func TestModuleProvidesLocks(t *testing.T) {
	var locks *fxmodule.Locks
	app := fxtest.New(t,
		fxmodule.Module,
		fx.Supply(testConfig(t)),
		fx.Populate(&locks),
	)
	app.RequireStart()
	defer app.RequireStop()
	ctx := t.Context()

	first, second := locks.Mutex("/lock"), locks.Mutex("/lock")
	if err := first.Lock(ctx); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if token := first.Token(); token <= 0 {
		t.Errorf("Token = %d, want a positive zxid", token)
	}
	if err := second.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("TryLock while held: %v, want lock.ErrLocked", err)
	}
	if err := first.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := second.TryLock(ctx); err != nil {
		t.Fatalf("TryLock once free: %v", err)
	}
	if err := second.Unlock(ctx); err != nil {
		t.Errorf("Unlock: %v", err)
	}

	rw := locks.ReadWriteLock("/rw")
	if err := rw.ReadLock().Lock(ctx); err != nil {
		t.Fatalf("ReadLock: %v", err)
	}
	if err := rw.ReadLock().Unlock(ctx); err != nil {
		t.Errorf("ReadLock unlock: %v", err)
	}

	lease, err := locks.Semaphore("/sem", 2).Acquire(ctx)
	if err != nil {
		t.Fatalf("Semaphore.Acquire: %v", err)
	}
	if err := lease.Release(ctx); err != nil {
		t.Errorf("Lease.Release: %v", err)
	}
}

// An application stopped and started again cannot bring its client back:
// the second start fails with an error that says so and matches
// core.ErrClosed, rather than one about connecting.
func TestModuleRestartSaysTheClientIsClosed(t *testing.T) {
	var client *core.Client
	app := fxtest.New(t, fxmodule.Module, fx.Supply(testConfig(t)), fx.Populate(&client))
	app.RequireStart()
	app.RequireStop()

	err := app.Start(t.Context())
	if !errors.Is(err, core.ErrClosed) || !strings.Contains(err.Error(), "cannot start again") {
		t.Errorf("second Start = %v; want core.ErrClosed, saying the client cannot start again", err)
	}
	if err := app.Stop(t.Context()); err != nil {
		t.Errorf("Stop after the failed restart: %v", err)
	}
}

// When a later hook overruns the start deadline, fx rolls back with the
// expired context and runs no OnStop hook, so the client stays connected;
// the pattern in Module's doc comment, closing the populated client after
// the failed start, ends its session.
func TestModuleClientClosedByHandAfterStartTimeout(t *testing.T) {
	cfg := testConfig(t)
	var client *core.Client
	app := fx.New(
		fxmodule.Module,
		fx.Supply(cfg),
		fx.Populate(&client),
		fx.StartTimeout(2*time.Second),
		fx.NopLogger,
		fx.Invoke(func(lc fx.Lifecycle, _ *core.Client) {
			lc.Append(fx.Hook{OnStart: func(ctx context.Context) error {
				<-ctx.Done() // a hook that overruns the deadline
				return ctx.Err()
			}})
		}),
	)
	startCtx, cancel := context.WithTimeout(t.Context(), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start = %v; want the start deadline", err)
	}
	if got := client.State(); got != core.StateConnected {
		t.Fatalf("after the failed start: state %v; want Connected (fx ran no OnStop hook)", got)
	}
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := client.State(); got != core.StateClosed {
		t.Errorf("after Close: state %v, want Closed", got)
	}
}
