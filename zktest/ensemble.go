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
//
// ZooKeeper runs the only server of an ensemble of one standalone; Leader
// and WaitLeader take it for the leader. An ensemble of two has a quorum
// only while both of its servers run: it is as fragile as one server, and
// slower. Three or five are the usual sizes. Options given values they
// cannot take, such as WithTickTime(0), are an error, returned before
// anything starts.
func NewEnsemble(ctx context.Context, n int, opts ...Option) (*Ensemble, error) {
	if n < 1 {
		return nil, fmt.Errorf("zktest: ensemble of %d servers", n)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
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
			s.resetPorts()
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

// Leader returns the running server whose mode is leader (the only server
// of an ensemble of one, which runs standalone). It asks all running
// servers at once and returns as soon as one leads; one that does not
// answer within 10 s, such as one stopped with SIGSTOP, does not lead.
func (e *Ensemble) Leader() (*Server, error) {
	ctx, cancel := context.WithCancel(context.Background())
	var probes sync.WaitGroup
	defer func() {
		cancel()
		probes.Wait()
	}()
	var running []*Server
	for _, s := range e.servers {
		if s.Running() {
			running = append(running, s)
		}
	}
	// Each probe sends one answer: the server if it leads, or nil.
	answers := make(chan *Server, len(running))
	for _, s := range running {
		probes.Go(func() {
			if mode, err := s.mode(ctx); err == nil && e.leads(mode) {
				answers <- s
			} else {
				answers <- nil
			}
		})
	}
	for range running {
		if l := <-answers; l != nil {
			return l, nil
		}
	}
	return nil, errors.New("zktest: the ensemble has no leader")
}

// WaitLeader waits until a running server leads and every other running
// server follows it, as after an election, and returns the leader. It
// returns ctx's error once ctx is done, even while a server does not
// answer.
func (e *Ensemble) WaitLeader(ctx context.Context) (*Server, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// A ready tick may win the select below over a done ctx.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("zktest: waiting for a leader: %w", err)
		}
		if l := e.settledLeader(ctx); l != nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// settledLeader returns the leader when exactly one running server leads
// and every other running server follows or observes, or else nil.
func (e *Ensemble) settledLeader(ctx context.Context) *Server {
	var leader *Server
	for _, m := range e.modes(ctx) {
		switch {
		case e.leads(m.mode):
			if leader != nil {
				return nil
			}
			leader = m.s
		case m.mode == ModeFollower, m.mode == ModeObserver:
		default:
			return nil
		}
	}
	return leader
}

// leads tells whether a server in mode is the ensemble's leader: a server
// that leads, or the only server of an ensemble of one, which ZooKeeper
// runs standalone.
func (e *Ensemble) leads(mode string) bool {
	return mode == ModeLeader || mode == ModeStandalone && len(e.servers) == 1
}

// memberMode is what a running server answered when asked for its mode: ""
// when it did not answer.
type memberMode struct {
	s    *Server
	mode string
}

// modes asks every running server for its mode, all at once so that a
// server that does not answer delays the others by no more than ctx or
// probeTimeout allows.
func (e *Ensemble) modes(ctx context.Context) []memberMode {
	var out []memberMode
	for _, s := range e.servers {
		if s.Running() {
			out = append(out, memberMode{s: s})
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i].mode, _ = out[i].s.mode(ctx) })
	}
	wg.Wait()
	return out
}

// SessionServer returns the server that holds a connection of the session,
// found with the "cons" four-letter word. That word lists the connections
// of the plain client port only, so a session connected over TLS (the
// secure port, see WithTLS) is not found: SessionServer returns
// ErrSessionNotFound for it. A server that does not answer within 10 s,
// such as one stopped with SIGSTOP, is passed over.
func (e *Ensemble) SessionServer(ctx context.Context, sessionID int64) (*Server, error) {
	for _, s := range e.servers {
		if !s.Running() {
			continue
		}
		out, err := s.cons(ctx)
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

// cons asks the server for its connections with "cons", giving up after
// probeTimeout.
func (s *Server) cons(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return s.FourLetter(ctx, "cons")
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
