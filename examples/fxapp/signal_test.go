//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/zkit-go/zkit/fxmodule"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A Ctrl-C stops the app with exit code 130. It reaches both the run's ctx
// and fx's own signal relay (app.Wait), and which of the two the run sees
// first is up to select: either way it counts as an interruption.
func TestAppCtrlCExitsWith130(t *testing.T) {
	srv := zktest.Shared(t)
	obs, logs := observer.New(zapcore.InfoLevel)
	logger := zap.New(obs)
	ctx, stopSignals := signal.NotifyContext(t.Context(), os.Interrupt)
	defer stopSignals()

	app := newApp(fxmodule.Config{Servers: srv.ConnString(), Chroot: zktest.UniquePath(t), SessionTimeout: 5 * time.Second}, logger, 1<<30)
	codes := make(chan int, 1)
	go func() { codes <- runApp(ctx, app, logger) }()
	deadline := time.Now().Add(30 * time.Second)
	for logs.FilterMessage("job done under the lock").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no job done in 30 s; logs: %v", logs.All())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-codes:
		if code != 130 {
			t.Errorf("exit code %d after Ctrl-C, want 130", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not stop within 30 s of Ctrl-C")
	}
	for _, msg := range []string{"interrupted", "zkit: client closed", "app stopped"} {
		if logs.FilterMessage(msg).Len() != 1 {
			t.Errorf("%q not logged once; logs: %v", msg, logs.All())
		}
	}
}
