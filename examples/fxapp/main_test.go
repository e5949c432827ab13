package main

import (
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/fxmodule"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(zktest.Main(m)) }

func TestAppRunsJobsAndStops(t *testing.T) {
	srv := zktest.Shared(t)
	root := zktest.UniquePath(t)
	obs, logs := observer.New(zapcore.InfoLevel)
	logger := zap.New(obs)

	app := newApp(fxmodule.Config{Servers: srv.ConnString(), Chroot: root, SessionTimeout: 5 * time.Second}, logger, 3)
	if code := runApp(t.Context(), app, logger); code != 0 {
		t.Fatalf("exit code %d; logs: %v", code, logs.All())
	}

	for msg, want := range map[string]int{
		"zk: connected":                1, // the client logs to the app's logger
		"registered":                   1,
		"job done under the lock":      3,
		"all jobs done, shutting down": 1,
		"zkit: client closed":          1,
		"app stopped":                  1,
	} {
		if got := logs.FilterMessage(msg).Len(); got != want {
			t.Errorf("%d %q logged, want %d", got, msg, want)
		}
	}

	c, err := core.NewClient(srv.ConnString(), core.WithChroot(root))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if data, err := c.GetData(t.Context(), "/jobs-done"); err != nil || string(data) != "3" {
		t.Errorf("/jobs-done = %q, %v; want 3", data, err)
	}
	if left, err := c.GetChildren(t.Context(), "/instances"); err != nil || len(left) != 0 {
		t.Errorf("/instances = %v, %v; want empty once the app's session closed", left, err)
	}
}
