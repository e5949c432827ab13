package zktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// serversEnv names the environment variable that points tests at running
// servers instead of starting their own.
const serversEnv = "ZK_SERVERS"

// StartServer starts a standalone server for the test, on a free port of
// 127.0.0.1 with its data under t.TempDir(), and stops it when the test and
// its subtests end. When the test fails, the tail of the server's log is
// logged. Stop, Kill and Restart fail the test if they fail.
//
// With ZK_SERVERS=host:port[,host:port...] set, StartServer starts nothing
// and returns a handle to those servers; Stop, Kill and Restart then fail the
// test.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if env := os.Getenv(serversEnv); env != "" {
		// The options do not apply to those servers, but a bad one is as
		// much an error as without them.
		if _, err := newConfig(opts); err != nil {
			t.Fatal(err)
		}
		s := ExternalServer(env)
		s.tb = t
		return s
	}
	opts = append([]Option{WithDir(t.TempDir())}, opts...)
	s, err := NewServer(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.tb = t
	t.Cleanup(func() {
		if t.Failed() {
			logTail(t, s)
		}
		if err := s.close(); err != nil {
			t.Errorf("zktest: close: %v", err)
		}
	})
	return s
}

// StartEnsemble starts an ensemble of n servers for the test, with their data
// under t.TempDir(), and stops it when the test and its subtests end. When the
// test fails, the tails of the servers' logs are logged. The servers' Stop,
// Kill and Restart fail the test if they fail. ZK_SERVERS does not apply:
// an ensemble is always started.
func StartEnsemble(t testing.TB, n int, opts ...Option) *Ensemble {
	t.Helper()
	opts = append([]Option{WithDir(t.TempDir())}, opts...)
	e, err := NewEnsemble(t.Context(), n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range e.servers {
		s.tb = t
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range e.servers {
				logTail(t, s)
			}
		}
		if err := e.Close(); err != nil {
			t.Errorf("zktest: close: %v", err)
		}
	})
	return e
}

// StartProxy starts a Proxy to target for the test and closes it when the
// test and its subtests end.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func logTail(t testing.TB, s *Server) {
	t.Helper()
	if s.LogPath() != "" {
		t.Logf("zktest: last lines of %s:\n%s", s.LogPath(), s.LogTail(40))
	}
}

// The shared server, started by the first call to Shared in a test binary
// and stopped by Main.
var shared struct {
	mu  sync.Mutex
	srv *Server
	err error
}

// Shared returns a handle to a standalone server that all tests of the test
// binary share. The first call starts it; Main stops it once the tests have
// run (without Main, it dies with the test binary). Tests that share it
// should keep to their own paths, see UniquePath. Its Stop, Kill and Restart
// fail the test, since other tests use it. With ZK_SERVERS set, Shared is
// StartServer.
func Shared(t testing.TB) *Server {
	t.Helper()
	if os.Getenv(serversEnv) != "" {
		return StartServer(t)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = NewServer(context.Background())
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	h := &Server{fixed: ErrShared, connString: shared.srv.ConnString(), logPath: shared.srv.LogPath(), tb: t}
	t.Cleanup(func() {
		if t.Failed() {
			logTail(t, h)
		}
	})
	return h
}

func closeShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		_ = shared.srv.close()
		shared.srv = nil
	}
}

// TestingM is what a TestMain runs: *testing.M, or a wrapper of it.
type TestingM interface {
	Run() int
}

// Main wraps m so that running it also stops the shared server once the
// tests have run. A package's TestMain is typically
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(zktest.Main(m)) }
func Main(m TestingM) TestingM {
	return mainRunner{m}
}

type mainRunner struct{ m TestingM }

func (r mainRunner) Run() int {
	defer closeShared()
	return r.m.Run()
}

// UniquePath returns a path "/t-<test name>-<random>" for the test to use
// as its root, or chroot, so that tests sharing a server never meet.
func UniquePath(t testing.TB) string {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 64 {
		name = name[:64]
	}
	return fmt.Sprintf("/t-%s-%s", name, hex.EncodeToString(rnd[:]))
}
