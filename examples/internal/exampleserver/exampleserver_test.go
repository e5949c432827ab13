package exampleserver

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(zktest.Main(m)) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// With ZK_SERVERS set, Start starts nothing and Stop leaves the servers be.
func TestStartUsesEnv(t *testing.T) {
	t.Setenv(Env, "zk1:2181,zk2:2181/app")
	var out strings.Builder
	s, err := Start(testCtx(t), &out)
	if err != nil {
		t.Fatal(err)
	}
	if s.Local() || s.ConnString() != "zk1:2181,zk2:2181/app" {
		t.Errorf("Start = %q (local %v), want the servers of %s", s.ConnString(), s.Local(), Env)
	}
	if !strings.Contains(out.String(), Env) {
		t.Errorf("Start said %q, want it to name %s", out.String(), Env)
	}
	if err := s.Stop(); err != nil {
		t.Error(err)
	}
}

// Without ZK_SERVERS, Start runs a real server that a client can use; a
// scratch root made there is removed with everything below it, and Stop
// stops the server (twice is fine).
func TestStartLocalAndScratchRoot(t *testing.T) {
	t.Setenv(Env, "")
	ctx := testCtx(t)
	s, err := Start(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !s.Local() {
		t.Fatal("Start did not start a local server")
	}
	root := ScratchRoot("zkit-test")
	if !regexp.MustCompile(`^/zkit-test-[0-9a-f]{8}$`).MatchString(root) {
		t.Errorf("ScratchRoot = %q", root)
	}
	c, err := core.NewClient(s.ConnString() + root)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "/a/b", []byte("x"), core.WithParents()); err != nil {
		t.Fatal(err)
	}
	if err := DeleteTree(ctx, s.ConnString(), root); err != nil {
		t.Fatal(err)
	}
	admin, err := core.NewClient(s.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := admin.Exists(ctx, root); err != nil || ok {
		t.Errorf("Exists(%s) = %v, %v after DeleteTree; want false", root, ok, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestServers(t *testing.T) {
	for in, want := range map[string]string{
		"h:1":            "h:1",
		"h:1,g:2/chroot": "h:1,g:2",
		"[::1]:2181/a/b": "[::1]:2181",
	} {
		if got := Servers(in); got != want {
			t.Errorf("Servers(%q) = %q, want %q", in, got, want)
		}
	}
}

// An interrupted Start says so in one line: the server's log, which a
// failed start appends, tells nothing of interest then.
func TestStartInterrupted(t *testing.T) {
	t.Setenv(Env, "")
	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(200*time.Millisecond, cancel) // a JVM takes longer to serve
	s, err := Start(ctx, io.Discard)
	if err == nil {
		_ = s.Stop()
		t.Fatal("Start succeeded within 200 ms; want it interrupted")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Start = %v, want context.Canceled", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Start's error runs over several lines:\n%v", err)
	}
}
