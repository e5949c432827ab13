package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkit-go/zkit/bench/internal/harness"
)

const module = "github.com/go-zookeeper/zk"

type driver struct{}

func (driver) Lib() string { return "go-zookeeper" }

func (driver) Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == module {
				return dep.Version
			}
		}
	}
	return "unknown"
}

// Connect opens a session with go-zookeeper's defaults (its 1.5 MiB
// buffers included) and waits until the session is established.
func (driver) Connect(ctx context.Context, servers string, sessionTimeout time.Duration) (harness.Client, error) {
	conn, events, err := zk.Connect(strings.Split(servers, ","), sessionTimeout, zk.WithLogInfo(false), zk.WithLogger(quiet{}))
	if err != nil {
		return nil, err
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return nil, fmt.Errorf("go-zookeeper: connection closed before a session")
			}
			if ev.State == zk.StateHasSession {
				// Keep draining the events so the channel never fills.
				go func() {
					for range events {
					}
				}()
				return &client{conn: conn}, nil
			}
		case <-ctx.Done():
			conn.Close()
			return nil, ctx.Err()
		}
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

type client struct{ conn *zk.Conn }

var openACL = zk.WorldACL(zk.PermAll)

func (c *client) Get(_ context.Context, path string) ([]byte, error) {
	data, _, err := c.conn.Get(path)
	return data, err
}

func (c *client) Set(_ context.Context, path string, data []byte) error {
	_, err := c.conn.Set(path, data, -1)
	return err
}

func (c *client) CreateEphemeralSequential(_ context.Context, prefix string, data []byte) (string, error) {
	return c.conn.Create(prefix, data, zk.FlagEphemeral|zk.FlagSequence, openACL)
}

func (c *client) Close() error {
	c.conn.Close()
	return nil
}

// NewMutex returns go-zookeeper's Lock, which takes no context.
func (c *client) NewMutex(path string) harness.Mutex {
	return mutex{zk.NewLock(c.conn, path, openACL)}
}

type mutex struct{ l *zk.Lock }

func (m mutex) Lock(context.Context) error   { return m.l.Lock() }
func (m mutex) Unlock(context.Context) error { return m.l.Unlock() }
