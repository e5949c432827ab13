package fxmodule_test

import (
	"context"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/fxmodule"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// An application supplies the Config and its logger; the module provides
// the client, connected before the application's own OnStart hooks run,
// and closes it on shutdown.
func Example() {
	app := fx.New(
		fx.Supply(fxmodule.Config{
			Servers:        "zk1:2181,zk2:2181,zk3:2181",
			Chroot:         "/myapp",
			SessionTimeout: 10 * time.Second,
		}),
		fx.Provide(func() (*zap.Logger, error) { return zap.NewProduction() }),
		fxmodule.Module,
		fx.Invoke(func(lc fx.Lifecycle, c *core.Client, locks *fxmodule.Locks) {
			lc.Append(fx.Hook{OnStart: func(ctx context.Context) error {
				// One instance at a time sets up the shared state.
				m := locks.Mutex("/locks/setup")
				if err := m.Lock(ctx); err != nil {
					return err
				}
				defer m.Unlock(context.WithoutCancel(ctx))
				if err := c.EnsurePath(ctx, "/config"); err != nil {
					return err
				}
				// Announce this instance for as long as its session lives.
				_, err := c.Create(ctx, "/instances/i-", nil, core.Ephemeral(), core.Sequential(), core.WithParents())
				return err
			}})
		}),
	)
	app.Run()
}
