package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zkit-go/zkit/examples/internal/exampleserver"
	"github.com/zkit-go/zkit/fxmodule"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	os.Exit(mainCode())
}

func mainCode() int {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// A second Ctrl-C kills at once: the first ends the signal handling of
	// this function and of fx (which relays signals to app.Wait), so that
	// the signals' default action is back while the app stops.
	context.AfterFunc(ctx, func() {
		stopSignals()
		signal.Reset(os.Interrupt, syscall.SIGTERM)
	})
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	srv, err := exampleserver.Start(ctx, os.Stdout)
	if err != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		fmt.Fprintln(os.Stderr, "fxapp: interrupted")
		return 130
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fxapp: %v\n", err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "fxapp: %v\n", err)
		}
	}()

	logCfg := zap.NewDevelopmentConfig()
	logCfg.Level.SetLevel(zapcore.InfoLevel) // fx's own events log at Debug
	logger, err := logCfg.Build()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fxapp: %v\n", err)
		return 1
	}
	defer func() { _ = logger.Sync() }()

	// A root of this run's own, removed at the end, so that runs against
	// shared servers neither meet nor leave nodes behind.
	root := exampleserver.ScratchRoot("zkit-example-fxapp")
	defer func() {
		if err := exampleserver.DeleteTree(ctx, srv.ConnString(), root); err != nil {
			fmt.Fprintf(os.Stderr, "fxapp: %v\n", err)
		}
	}()
	app := newApp(fxmodule.Config{
		Servers:        srv.ConnString(),
		Chroot:         root,
		SessionTimeout: 10 * time.Second,
	}, logger, 3)
	return runApp(ctx, app, logger)
}

// newApp assembles the application: the app owns its logger and config,
// fxmodule provides the client (and the lock factory), and the worker uses
// them.
func newApp(cfg fxmodule.Config, logger *zap.Logger, jobs int) *fx.App {
	return fx.New(
		fx.Supply(cfg, logger, jobCount(jobs)),
		fx.WithLogger(func(l *zap.Logger) fxevent.Logger {
			fxLog := &fxevent.ZapLogger{Logger: l.Named("fx")}
			fxLog.UseLogLevel(zapcore.DebugLevel) // errors stay at Error
			return fxLog
		}),
		fx.StartTimeout(20*time.Second),
		fxmodule.Module,
		fx.Provide(newWorker),
		fx.Invoke(func(*worker) {}),
	)
}

// runApp starts app, waits until it shuts itself down or ctx ends (Ctrl-C),
// then stops it, and returns the exit code.
func runApp(ctx context.Context, app *fx.App, logger *zap.Logger) int {
	startCtx, cancel := context.WithTimeout(ctx, app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		logger.Error("start failed", zap.Error(err))
		return 1
	}
	logger.Info("app started")
	code, interrupted := 0, false
	select {
	case sig := <-app.Wait():
		code = sig.ExitCode
		interrupted = sig.Signal == os.Interrupt
	case <-ctx.Done():
	}
	// A Ctrl-C reaches both ctx and fx's app.Wait, and select picks
	// either; both mean the run was interrupted.
	if interrupted || ctx.Err() != nil {
		logger.Info("interrupted")
		code = 130
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancel()
	if err := app.Stop(stopCtx); err != nil {
		logger.Error("stop failed", zap.Error(err))
		return 1
	}
	logger.Info("app stopped", zap.Int("exitCode", code))
	return code
}
