package main

import (
	"context"
	"time"

	"github.com/zkit-go/zkit/bench/internal/harness"
	"github.com/zkit-go/zkit/core"
)

// zkitDriver runs the harness's tasks with zkit's core client.
type zkitDriver struct{}

func (zkitDriver) Lib() string     { return libZkit }
func (zkitDriver) Version() string { return "this tree" }

func (zkitDriver) Connect(ctx context.Context, servers string, sessionTimeout time.Duration) (harness.Client, error) {
	c, err := core.NewClient(servers, core.WithSessionTimeout(sessionTimeout))
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return &zkitClient{c: c}, nil
}

type zkitClient struct{ c *core.Client }

func (z *zkitClient) Get(ctx context.Context, path string) ([]byte, error) {
	data, _, err := z.c.Get(ctx, path)
	return data, err
}

func (z *zkitClient) Set(ctx context.Context, path string, data []byte) error {
	_, err := z.c.Set(ctx, path, data, -1)
	return err
}

func (z *zkitClient) CreateEphemeralSequential(ctx context.Context, prefix string, data []byte) (string, error) {
	return z.c.Create(ctx, prefix, data, core.Ephemeral(), core.Sequential())
}

func (z *zkitClient) Close() error { return z.c.Close() }
