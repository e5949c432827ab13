package zktest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

func TestServerStartStopRestart(t *testing.T) {
	start := time.Now()
	s := StartServer(t)
	t.Logf("standalone server ready in %v", time.Since(start))

	wantMode(t, s, ModeStandalone)
	if out, err := s.FourLetter(t.Context(), "ruok"); err != nil || out != "imok" {
		t.Fatalf("ruok = %q, %v; want imok", out, err)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || s.ConnString() != s.Addr() {
		t.Fatalf("Addr %q, ConnString %q", s.Addr(), s.ConnString())
	}
	if _, err := os.Stat(s.LogPath()); err != nil {
		t.Fatalf("log: %v", err)
	}

	// A node to find after restarts: they keep the data.
	root := UniquePath(t)
	c, _ := newSession(t, s.Addr())
	create(t, c, root, proto.FlagPersistent, 0)
	c.Close()

	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	if _, err := s.FourLetter(t.Context(), "ruok"); err == nil {
		t.Fatal("a stopped server answered ruok")
	}

	addr := s.Addr()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	wantMode(t, s, ModeStandalone)
	if c, _ := newSession(t, s.Addr()); !exists(t, c, root) {
		t.Fatal("the node is gone after Stop and Restart")
	}

	s.Kill()
	if _, err := s.FourLetter(t.Context(), "ruok"); err == nil {
		t.Fatal("a killed server answered ruok")
	}
	s.Restart()
	wantMode(t, s, ModeStandalone)
	if c, _ := newSession(t, s.Addr()); !exists(t, c, root) {
		t.Fatal("the node is gone after Kill and Restart")
	}
}

func TestServerConfig(t *testing.T) {
	s := StartServer(t, WithConfig("maxSessionTimeout", "30000"), WithFsync(true))
	out, err := s.FourLetter(t.Context(), "conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tickTime=100\n", "minSessionTimeout=200\n", "maxSessionTimeout=30000\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("conf lacks %q:\n%s", want, out)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(s.Dir(), "zoo.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "forceSync=yes\n") {
		t.Errorf("zoo.cfg lacks forceSync=yes:\n%s", cfg)
	}
}

// A narrowed four-letter-word whitelist still starts: zktest keeps the
// words it needs to see the server ready, and the server refuses the
// others as configured.
func TestServerNarrowedWhitelist(t *testing.T) {
	s := StartServer(t, WithConfig("4lw.commands.whitelist", "stat, conf"), WithStartTimeout(20*time.Second))
	out, err := s.FourLetter(t.Context(), "conf")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "clientPort=") {
		t.Errorf("conf answered %q", out)
	}
	if out, err := s.FourLetter(t.Context(), "mntr"); err != nil || !strings.Contains(out, "not in the whitelist") {
		t.Errorf("mntr answered %q, %v; want a refusal", out, err)
	}
}

func TestShared(t *testing.T) {
	a, b := Shared(t), Shared(t)
	if a.ConnString() != b.ConnString() {
		t.Fatalf("two shared servers: %s and %s", a.ConnString(), b.ConnString())
	}
	wantMode(t, a, ModeStandalone)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	wantMode(t, b, ModeStandalone)

	ft := &fakeTB{TB: t}
	ft.run(func() { Shared(ft).Kill() })
	if !strings.Contains(ft.fatal, ErrShared.Error()) {
		t.Fatalf("Kill of the shared server: %q, want a failure with %q", ft.fatal, ErrShared)
	}
	wantMode(t, a, ModeStandalone)
}

func TestExternalServers(t *testing.T) {
	s := Shared(t)
	t.Setenv("ZK_SERVERS", s.ConnString()+",127.0.0.1:1")
	ext := StartServer(t)
	if ext.ConnString() != s.ConnString()+",127.0.0.1:1" || ext.Addr() != s.Addr() {
		t.Fatalf("ConnString %q, Addr %q", ext.ConnString(), ext.Addr())
	}
	wantMode(t, ext, ModeStandalone)
	for name, op := range map[string]func(*Server) error{
		"Stop": (*Server).Stop, "Kill": (*Server).Kill, "Restart": (*Server).Restart,
	} {
		ft := &fakeTB{TB: t}
		ft.run(func() { op(ExternalServer(s.ConnString())) })
		if ft.fatal != "" {
			t.Errorf("%s of a plain external server failed the test", name)
		}
		if err := op(ExternalServer(s.ConnString())); !errors.Is(err, ErrExternal) {
			t.Errorf("%s = %v, want ErrExternal", name, err)
		}
		ft.run(func() { op(StartServer(ft)) })
		if !strings.Contains(ft.fatal, "ZK_SERVERS") {
			t.Errorf("%s of an external server from StartServer: %q, want a failure naming ZK_SERVERS", name, ft.fatal)
		}
	}
}

func TestNotInstalled(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("ZOOKEEPER_HOME", empty)
	t.Setenv("JAVA_HOME", empty)
	t.Setenv("PATH", empty)
	t.Setenv("ZK_SERVERS", "")
	saved := [2]string{debianJava, defaultJava}
	debianJava, defaultJava = empty, filepath.Join(empty, "java")
	defer func() { debianJava, defaultJava = saved[0], saved[1] }()

	// A JAVA_HOME without java is named, not passed over.
	if _, err := NewServer(t.Context()); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "JAVA_HOME="+empty) {
		t.Fatalf("NewServer = %v, want ErrNotInstalled naming JAVA_HOME", err)
	}
	t.Setenv("JAVA_HOME", "")
	if _, err := NewEnsemble(t.Context(), 3); !errors.Is(err, ErrNotInstalled) || !strings.HasPrefix(err.Error(), "zktest: java not found") {
		t.Fatalf("NewEnsemble = %v, want ErrNotInstalled saying java is missing", err)
	}
	// A java, and a ZOOKEEPER_HOME without ZooKeeper, which is named.
	if err := os.WriteFile(filepath.Join(empty, "java"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewServer(t.Context()); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "ZOOKEEPER_HOME="+empty) {
		t.Fatalf("NewServer = %v, want ErrNotInstalled naming ZOOKEEPER_HOME", err)
	}
	// A java but no ZooKeeper anywhere.
	t.Setenv("ZOOKEEPER_HOME", "")
	ft := &fakeTB{TB: t}
	ft.run(func() { StartServer(ft) })
	if !strings.Contains(ft.fatal, "make zookeeper") || strings.Contains(ft.fatal, "\n") {
		t.Fatalf("StartServer failed with %q, want one line that mentions make zookeeper", ft.fatal)
	}
}

func TestUniquePath(t *testing.T) {
	a, b := UniquePath(t), UniquePath(t)
	if a == b || !strings.HasPrefix(a, "/t-TestUniquePath-") {
		t.Fatalf("UniquePath = %q, %q", a, b)
	}
	t.Run("sub test/with spaces", func(t *testing.T) {
		p := UniquePath(t)
		if strings.Count(p, "/") != 1 || strings.Contains(p, " ") {
			t.Fatalf("UniquePath = %q", p)
		}
	})
}

func TestLastLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"a\nb\nc\n\n", 1, "c"},
	} {
		if got := lastLines([]byte(c.in), c.n); got != c.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func wantMode(t *testing.T, s *Server, want string) {
	t.Helper()
	mode, err := s.Mode()
	if err != nil || mode != want {
		t.Fatalf("%s: Mode = %q, %v; want %q", s.Addr(), mode, err, want)
	}
}

// fakeTB records the first fatal failure instead of failing the test.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) {
	f.fatal = strings.TrimSuffix(fmt.Sprintln(args...), "\n")
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn on a goroutine of its own, which Fatal ends, and waits.
func (f *fakeTB) run(fn func()) {
	f.fatal = ""
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestServerRestartWith(t *testing.T) {
	s := StartServer(t)
	if _, resp := newSession(t, s.Addr()); resp.TimeoutMs != 10000 {
		t.Fatalf("asked for 10 s, got %d ms", resp.TimeoutMs)
	}
	if err := s.reconfigure([]Option{WithTLS()}); err == nil {
		t.Fatal("RestartWith took WithTLS")
	}
	if err := s.reconfigure([]Option{WithDir(t.TempDir())}); err == nil {
		t.Fatal("RestartWith took WithDir")
	}
	wantMode(t, s, ModeStandalone) // the refusals left it running

	s.RestartWith(WithConfig("maxSessionTimeout", "4000"))
	if _, resp := newSession(t, s.Addr()); resp.TimeoutMs != 4000 {
		t.Fatalf("asked for 10 s with a 4 s maximum, got %d ms", resp.TimeoutMs)
	}
	// The new configuration stays for later restarts.
	s.Restart()
	if _, resp := newSession(t, s.Addr()); resp.TimeoutMs != 4000 {
		t.Fatalf("after a plain restart: got %d ms, want 4000", resp.TimeoutMs)
	}
}
