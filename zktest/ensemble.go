package zktest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrSessionNotFound is returned by SessionServer when no running server
// holds a connection of the session.
var ErrSessionNotFound = errors.New("zktest: no server has a connection of the session")

// Ensemble is a quorum of ZooKeeper servers on 127.0.0.1, each with its own
// client, quorum and election ports. Its methods are safe for concurrent use.
type Ensemble struct {
	servers []*Server
	dir     string
	ownsDir bool
	tls     *tlsMaterial
}

// NewEnsemble starts n servers that form one quorum and returns once every
// one of them leads or follows. Close stops them and frees their resources.
func NewEnsemble(ctx context.Context, n int, opts ...Option) (*Ensemble, error) {
	if n < 1 {
		return nil, fmt.Errorf("zktest: ensemble of %d servers", n)
	}
	cfg := newConfig(opts)
	inst, err := findInstall()
	if err != nil {
		return nil, err
	}
	dir, owns, err := makeDir(cfg.dir)
	if err != nil {
		return nil, err
	}
	e := &Ensemble{dir: dir, ownsDir: owns}
	if cfg.tls {
		if e.tls, err = newTLSMaterial(filepath.Join(dir, "tls")); err != nil {
			e.removeDir()
			return nil, fmt.Errorf("zktest: TLS certificates: %w", err)
		}
	}
	for id := 1; id <= n; id++ {
		e.servers = append(e.servers, &Server{
			cfg:       cfg,
			java:      inst.java,
			classpath: inst.classpath,
			id:        id,
			ens:       e,
			dir:       filepath.Join(dir, "zk"+strconv.Itoa(id)),
			tls:       e.tls,
		})
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.startTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err = e.start(ctx)
		if err == nil {
			return e, nil
		}
		for _, s := range e.servers {
			s.killLocked()
			s.releasePorts()
		}
		if !errors.Is(err, errAddrInUse) || attempt == 3 || ctx.Err() != nil {
			e.removeDir()
			return nil, err
		}
		for _, s := range e.servers {
			_ = os.RemoveAll(s.dir)
		}
	}
}

// start gives every server ports, launches all JVMs and waits for each to
// join the quorum.
func (e *Ensemble) start(ctx context.Context) error {
	for _, s := range e.servers {
		if err := s.allocPorts(); err != nil {
			return err
		}
	}
	for _, s := range e.servers {
		if err := s.launchLocked(); err != nil {
			return err
		}
	}
	// A member whose JVM exits fails the start at once, with its own log,
	// whichever member the start is waiting on: the others may wait for it
	// in vain (two members cannot form a quorum without each other), and
	// only its log says why, such as a port already in use, which the
	// caller retries on fresh ports.
	ctx, cancel := context.WithCancelCause(ctx)
	var watchers sync.WaitGroup
	defer func() {
		cancel(nil)
		watchers.Wait()
	}()
	for _, s := range e.servers {
		exited := s.proc.done
		watchers.Go(func() {
			select {
			case <-exited:
				cancel(memberExited{s.startError(fmt.Sprintf("java exited: %v", s.proc.waitErr))})
			case <-ctx.Done():
			}
		})
	}
	for _, s := range e.servers {
		if err := s.waitReadyLocked(ctx); err != nil {
			if exited, ok := context.Cause(ctx).(memberExited); ok {
				return exited.err
			}
			return err
		}
	}
	return nil
}

// memberExited is the cause that ends an ensemble's start when a member's
// JVM exits; err says which and why.
type memberExited struct{ err error }

func (m memberExited) Error() string { return m.err.Error() }

func (e *Ensemble) removeDir() {
	if e.ownsDir {
		_ = os.RemoveAll(e.dir)
	}
}

// Close kills every server, frees their ports and, unless the ensemble was
// given WithDir, removes its directory.
func (e *Ensemble) Close() error {
	for _, s := range e.servers {
		_ = s.close()
	}
	if e.ownsDir {
		return os.RemoveAll(e.dir)
	}
	return nil
}

// Servers returns the ensemble's servers; Servers()[i] has myid i+1.
func (e *Ensemble) Servers() []*Server {
	return append([]*Server(nil), e.servers...)
}

// ConnString returns the client addresses of all servers, comma separated.
func (e *Ensemble) ConnString() string {
	addrs := make([]string, len(e.servers))
	for i, s := range e.servers {
		addrs[i] = s.Addr()
	}
	return strings.Join(addrs, ",")
}

// SecureConnString returns the TLS addresses of all servers, comma
// separated, or "" when the ensemble was not started WithTLS.
func (e *Ensemble) SecureConnString() string {
	if e.tls == nil {
		return ""
	}
	addrs := make([]string, len(e.servers))
	for i, s := range e.servers {
		addrs[i] = s.SecureAddr()
	}
	return strings.Join(addrs, ",")
}

// CACertPool returns a pool holding the CA of the servers' TLS certificates,
// or nil when the ensemble was not started WithTLS.
func (e *Ensemble) CACertPool() *x509.CertPool { return e.servers[0].CACertPool() }

// TLSConfig returns a client TLS configuration that trusts the servers' CA,
// or nil when the ensemble was not started WithTLS.
func (e *Ensemble) TLSConfig() *tls.Config { return e.servers[0].TLSConfig() }

func (e *Ensemble) running() int {
	n := 0
	for _, s := range e.servers {
		if s.running.Load() {
			n++
		}
	}
	return n
}

// Leader returns the running server whose mode is leader.
func (e *Ensemble) Leader() (*Server, error) {
	for _, s := range e.servers {
		if !s.Running() {
			continue
		}
		if mode, err := s.Mode(); err == nil && mode == ModeLeader {
			return s, nil
		}
	}
	return nil, errors.New("zktest: the ensemble has no leader")
}

// WaitLeader waits until a running server leads and every other running
// server follows it, as after an election, and returns the leader.
func (e *Ensemble) WaitLeader(ctx context.Context) (*Server, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if l := e.settledLeader(); l != nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("zktest: waiting for a leader: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (e *Ensemble) settledLeader() *Server {
	var leader *Server
	for _, s := range e.servers {
		if !s.Running() {
			continue
		}
		switch mode, _ := s.Mode(); mode {
		case ModeLeader:
			if leader != nil {
				return nil
			}
			leader = s
		case ModeFollower, ModeObserver:
		default:
			return nil
		}
	}
	return leader
}

// SessionServer returns the server that holds a connection of the session,
// found with the "cons" four-letter word. That word lists the connections
// of the plain client port only, so a session connected over TLS (the
// secure port, see WithTLS) is not found: SessionServer returns
// ErrSessionNotFound for it.
func (e *Ensemble) SessionServer(ctx context.Context, sessionID int64) (*Server, error) {
	for _, s := range e.servers {
		if !s.Running() {
			continue
		}
		out, err := s.FourLetter(ctx, "cons")
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			continue
		}
		if consHasSession(out, sessionID) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w (0x%x)", ErrSessionNotFound, uint64(sessionID))
}

// consHasSession reports whether the output of "cons" lists a connection of
// the session, as in " /127.0.0.1:5555[1](queued=0,...,sid=0x1000a2b3c4d0000,...)".
func consHasSession(cons string, sessionID int64) bool {
	for line := range strings.Lines(cons) {
		_, rest, ok := strings.Cut(line, "sid=0x")
		if !ok {
			continue
		}
		end := strings.IndexAny(rest, ",)")
		if end < 0 {
			end = len(rest)
		}
		id, err := strconv.ParseUint(strings.TrimSpace(rest[:end]), 16, 64)
		if err == nil && int64(id) == sessionID {
			return true
		}
	}
	return false
}
