package exampleserver

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/zkit-go/zkit/zktest"
)

// Env names the environment variable that points examples at running
// servers, as "host:port[,host:port...]".
const Env = "ZK_SERVERS"

// Server is the ZooKeeper an example uses.
type Server struct {
	connString string
	local      *zktest.Server
}

// Start returns the servers named by ZK_SERVERS when it is set. Otherwise it
// starts a standalone ZooKeeper on a free local port and returns once that
// serves, within ctx. It reports what it does on out.
func Start(ctx context.Context, out io.Writer) (*Server, error) {
	if env := os.Getenv(Env); env != "" {
		fmt.Fprintf(out, "Using the ZooKeeper servers in %s: %s\n", Env, env)
		return &Server{connString: env}, nil
	}
	fmt.Fprintf(out, "%s is not set: starting a local ZooKeeper...\n", Env)
	began := time.Now()
	s, err := zktest.NewServer(ctx)
	if err != nil && ctx.Err() != nil {
		// Interrupted: the server's log would tell nothing of interest.
		return nil, fmt.Errorf("start a local ZooKeeper: %w", context.Cause(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("start a local ZooKeeper (or set %s=host:port): %w", Env, err)
	}
	fmt.Fprintf(out, "Local ZooKeeper serving at %s (started in %v)\n", s.ConnString(), time.Since(began).Round(time.Millisecond))
	return &Server{connString: s.ConnString(), local: s}, nil
}

// ConnString is the connection string for core.NewClient.
func (s *Server) ConnString() string { return s.connString }

// Local reports whether Start started the server itself.
func (s *Server) Local() bool { return s.local != nil }

// Stop stops the server if Start started it; servers from ZK_SERVERS are
// left alone. It is safe to call more than once.
func (s *Server) Stop() error {
	if s == nil || s.local == nil {
		return nil
	}
	err := s.local.Close()
	s.local = nil
	if err != nil {
		return fmt.Errorf("stop the local ZooKeeper: %w", err)
	}
	return nil
}
