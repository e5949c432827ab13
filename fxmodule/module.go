package fxmodule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkit-go/zkit/core"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Module provides a *core.Client, and a *Locks that makes lock recipes on
// it, to an fx application. The application supplies a Config, and may
// provide a *zap.Logger, which the client then logs to (under the name
// "zkit").
//
// The client connects in an OnStart hook, within the application's start
// deadline (fx.StartTimeout), so the application fails to start when
// ZooKeeper cannot be reached in time. It gives up a tenth of the time
// (at most a second) before that deadline, so that the start error names
// the servers and the last connection attempt's failure, or the server of
// the attempt under way when none has failed. An
// OnStop hook closes the session; Close takes at most a few seconds, and
// it carries on to the end even when the stop context ends first, so that
// no goroutine of the client outlives it.
//
// The client cannot start again once closed: starting an application
// again after stopping it fails with an error that matches core.ErrClosed.
//
// When the application fails to start because its start deadline passed
// (in a later hook, say), fx rolls back with that expired context and so
// runs no OnStop hook at all, this module's included (fx v1.24). The
// client then stays connected, and its ephemeral nodes stay, until the
// process exits or the client is closed. fx likewise runs no OnStop hook
// once the stop context has ended, before the stop begins or in an
// earlier hook. A process that carries on after a failed start or stop
// should close the client itself; Close is idempotent:
//
//	var client *core.Client
//	app := fx.New(fxmodule.Module, fx.Supply(cfg), fx.Populate(&client), ...)
//	if err := app.Start(ctx); err != nil {
//		if client != nil {
//			client.Close()
//		}
//		return err
//	}
var Module = fx.Module("zkit",
	fx.Provide(NewClient, NewLocks),
)

// Params are NewClient's dependencies.
type Params struct {
	fx.In

	// Lifecycle takes the hooks that start the client and close it.
	Lifecycle fx.Lifecycle
	// Config is optional only so that a missing one fails with
	// ErrNoConfig, which says what to supply, instead of fx's generic
	// missing-type error.
	Config Config `optional:"true"`
	// Logger is the application's logger. Without one the client logs
	// nothing.
	Logger *zap.Logger `optional:"true"`
}

// Result is what NewClient provides.
type Result struct {
	fx.Out

	// Client is started by the application's start and closed by its stop.
	Client *core.Client
}

// NewClient builds the client from p.Config and registers the hooks that
// start and close it. It does no I/O. A missing or invalid Config is an
// error, which fails the application.
func NewClient(p Params) (Result, error) {
	cfg := p.Config
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	logger := p.Logger
	if logger == nil {
		logger = zap.NewNop()
	} else {
		logger = logger.Named("zkit")
	}
	client, err := core.NewClient(cfg.Servers, cfg.clientOptions(core.WithLogger(logger))...)
	if err != nil {
		return Result{}, fmt.Errorf("fxmodule: invalid Config: %w", err)
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if deadline, ok := ctx.Deadline(); ok {
				// Give up a little before the application's start deadline,
				// so that the error the application gets says why: once
				// its deadline passes, fx returns without waiting for the
				// hook.
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, deadline.Add(-startMargin(time.Until(deadline))))
				defer cancel()
			}
			if err := client.Start(ctx); err != nil {
				if errors.Is(err, core.ErrClosed) {
					return fmt.Errorf("fxmodule: the ZooKeeper client closed when the application stopped, and a closed client cannot start again: %w", err)
				}
				return fmt.Errorf("fxmodule: connect to ZooKeeper at %s: %w", cfg.Servers, err)
			}
			if s := client.Session(); s != nil {
				logger.Info("zkit: client started",
					zap.String("session", fmt.Sprintf("0x%x", s.ID())),
					zap.Duration("timeout", s.Timeout()))
			}
			return nil
		},
		OnStop: func(context.Context) error {
			if err := client.Close(); err != nil {
				return fmt.Errorf("fxmodule: close the ZooKeeper client: %w", err)
			}
			logger.Info("zkit: client closed")
			return nil
		},
	})
	return Result{Client: client}, nil
}

// startMargin is how long before the application's start deadline, with
// left to go, the client gives up connecting: a tenth of the time, at most
// a second.
func startMargin(left time.Duration) time.Duration {
	return max(0, min(left/10, time.Second))
}
