package zktest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Modes reported by Server.Mode.
const (
	ModeStandalone = "standalone"
	ModeLeader     = "leader"
	ModeFollower   = "follower"
	ModeObserver   = "observer"
	ModeReadOnly   = "read-only"
)

var (
	// ErrNotServing is returned by Mode while a server runs but serves no
	// requests, for example while an ensemble member looks for a quorum.
	ErrNotServing = errors.New("zktest: server is not serving requests")
	// ErrExternal is returned when asked to stop, kill or restart a server
	// that zktest did not start (ZK_SERVERS).
	ErrExternal = errors.New("zktest: the server is external (ZK_SERVERS) and cannot be stopped, killed or restarted; start your own with StartServer or StartEnsemble, without ZK_SERVERS")
	// ErrShared is returned when asked to stop, kill or restart the shared
	// server: other tests use it. Use StartServer for a server of your own.
	ErrShared = errors.New("zktest: the shared server cannot be stopped, killed or restarted; use StartServer for a server of your own")
	// ErrClosed is returned when a closed server is restarted.
	ErrClosed = errors.New("zktest: server is closed")

	errAddrInUse = errors.New("address already in use")
)

const (
	mainClass = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
	loopback  = "127.0.0.1"
	stopGrace = 10 * time.Second
	// probeTimeout bounds one four-letter-word probe that has no earlier
	// deadline, such as Mode's: a server frozen by SIGSTOP (or a long GC
	// pause) accepts the connection and never answers.
	probeTimeout = 10 * time.Second
)

// Server is a ZooKeeper server running in a JVM that zktest started, or a
// handle to a server it did not start (ZK_SERVERS, Shared). Its methods are
// safe for concurrent use.
type Server struct {
	cfg       config
	java      string
	classpath []string
	id        int       // myid within an ensemble; 0 when standalone
	ens       *Ensemble // nil when standalone
	dir       string
	ownsDir   bool
	tls       *tlsMaterial

	// The ports are picked while the server is built and then stay fixed
	// for its life, even after Close, so they are read without mu.
	clientPort, securePort, quorumPort, electionPort int

	// fixed is ErrExternal or ErrShared for a handle to a server that this
	// Server does not control; connString is then its address list.
	fixed      error
	connString string
	logPath    string

	// tb, when set, fails the test when Stop, Kill or Restart fail.
	tb testing.TB

	mu       sync.Mutex
	proc     *jvm
	closed   bool
	logStart int64 // size of the log when the current JVM started
	running  atomic.Bool
}

// NewServer starts a standalone server on a free port of 127.0.0.1 and
// returns once it serves requests. Close stops it and frees its resources.
//
// Options given values they cannot take, such as WithTickTime(0), are an
// error, returned before anything starts.
func NewServer(ctx context.Context, opts ...Option) (*Server, error) {
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
	s := &Server{cfg: cfg, java: inst.java, classpath: inst.classpath, dir: dir, ownsDir: owns}
	if cfg.tls {
		if s.tls, err = newTLSMaterial(filepath.Join(dir, "tls")); err != nil {
			s.removeDir()
			return nil, fmt.Errorf("zktest: TLS certificates: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.startTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err = s.allocPorts()
		if err == nil {
			err = s.startLocked(ctx)
		}
		if err == nil {
			return s, nil
		}
		s.killLocked()
		s.resetPorts()
		if !errors.Is(err, errAddrInUse) || attempt == 3 || ctx.Err() != nil {
			s.removeDir()
			return nil, err
		}
	}
}

// ExternalServer returns a handle to servers that zktest did not start, given
// as "host:port[,host:port...]". Mode and FourLetter ask the first of them;
// Stop, Kill and Restart return ErrExternal, and Close does nothing.
func ExternalServer(connString string) *Server {
	return &Server{fixed: ErrExternal, connString: connString}
}

func makeDir(dir string) (string, bool, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", false, fmt.Errorf("zktest: %w", err)
		}
		return dir, false, nil
	}
	sweepOnce.Do(sweepTempDirs)
	dir, err := os.MkdirTemp("", fmt.Sprintf("zktest-%d-", os.Getpid()))
	if err != nil {
		return "", false, fmt.Errorf("zktest: %w", err)
	}
	return dir, true, nil
}

var sweepOnce sync.Once

// sweepTempDirs removes the temporary directories of test binaries that
// died before they could: a directory's name carries its creator's pid.
func sweepTempDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "zktest-*-*"))
	for _, d := range dirs {
		f := strings.Split(filepath.Base(d), "-")
		pid, err := strconv.Atoi(f[1])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if processGone(pid) {
			_ = os.RemoveAll(d)
		}
	}
}

func (s *Server) removeDir() {
	if s.ownsDir {
		_ = os.RemoveAll(s.dir)
	}
}

// Addr returns the client address, host:port. For a handle to external
// servers it is the first of them. It stays the same for the server's life,
// across restarts and after Close.
func (s *Server) Addr() string {
	if s.connString != "" {
		first, _, _ := strings.Cut(s.connString, ",")
		return first
	}
	return net.JoinHostPort(loopback, strconv.Itoa(s.clientPort))
}

// ConnString returns the connection string for a client: "127.0.0.1:port",
// or the whole ZK_SERVERS list for an external server.
func (s *Server) ConnString() string {
	if s.connString != "" {
		return s.connString
	}
	return s.Addr()
}

// SecureAddr returns the address of the TLS client port, or "" when the
// server was not started WithTLS.
func (s *Server) SecureAddr() string {
	if s.securePort == 0 {
		return ""
	}
	return net.JoinHostPort(loopback, strconv.Itoa(s.securePort))
}

// SecureConnString returns the connection string for the TLS port, or "".
func (s *Server) SecureConnString() string { return s.SecureAddr() }

// CACertPool returns a pool holding the CA that signed the server's TLS
// certificate, or nil when the server was not started WithTLS.
func (s *Server) CACertPool() *x509.CertPool {
	if s.tls == nil {
		return nil
	}
	return s.tls.pool
}

// CACertPEM returns the PEM encoding of the CA certificate, or nil.
func (s *Server) CACertPEM() []byte {
	if s.tls == nil {
		return nil
	}
	return bytes.Clone(s.tls.caPEM)
}

// TLSConfig returns a client TLS configuration that trusts the server's CA,
// or nil when the server was not started WithTLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.clientConfig()
}

// ID returns the server's myid within its ensemble, or 0 when standalone.
func (s *Server) ID() int { return s.id }

// Dir returns the directory holding the server's zoo.cfg, data and log.
func (s *Server) Dir() string { return s.dir }

// LogPath returns the server's log file: the JVM's output and ZooKeeper's log.
func (s *Server) LogPath() string {
	if s.logPath != "" || s.dir == "" {
		return s.logPath
	}
	return filepath.Join(s.dir, "zookeeper.log")
}

// Running reports whether the server's JVM was started and not stopped or
// killed since. (A JVM that crashed on its own still counts as running.)
func (s *Server) Running() bool { return s.running.Load() }

// FourLetter sends a four-letter-word command, such as "srvr", "cons",
// "wchc" or "mntr", and returns the server's answer.
func (s *Server) FourLetter(ctx context.Context, cmd string) (string, error) {
	return FourLetter(ctx, s.Addr(), cmd)
}

// Mode asks the server with "srvr" for its mode: ModeStandalone,
// ModeLeader, ModeFollower, ModeObserver or ModeReadOnly. While the server
// runs but serves nothing, it returns ErrNotServing.
// A server that does not answer within 10 s, such as one stopped with
// SIGSTOP, is an error.
func (s *Server) Mode() (string, error) {
	return s.mode(context.Background())
}

// mode is Mode under ctx, for callers that have a context of their own to
// honour; a probe still gives up after probeTimeout.
func (s *Server) mode(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := s.FourLetter(ctx, "srvr")
	if err != nil {
		return "", err
	}
	return parseMode(out)
}

func parseMode(srvr string) (string, error) {
	for line := range strings.Lines(srvr) {
		if m, ok := strings.CutPrefix(line, "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	if strings.Contains(srvr, "not currently serving") {
		return "", ErrNotServing
	}
	return "", fmt.Errorf("zktest: no mode in srvr answer %q", srvr)
}

// FourLetter sends a four-letter-word command to the server at addr and
// returns its answer. The server must whitelist the command
// (4lw.commands.whitelist); servers zktest starts allow all of them.
func FourLetter(ctx context.Context, addr, cmd string) (string, error) {
	if len(cmd) != 4 {
		return "", fmt.Errorf("zktest: four-letter word %q is not four letters", cmd)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("zktest: %s to %s: %w", cmd, addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", fmt.Errorf("zktest: %s to %s: %w", cmd, addr, err)
	}
	out, err := io.ReadAll(io.LimitReader(conn, 64<<20))
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Only ctx sets the connection's deadline, and ctx's own
			// timer may lag behind it: report ctx's error.
			<-ctx.Done()
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return "", fmt.Errorf("zktest: %s to %s: %w", cmd, addr, err)
	}
	return string(out), nil
}

// Stop stops the server with SIGTERM and waits for the JVM to exit; after 10
// s it kills it. Stopping a stopped server does nothing. For a server from
// StartServer or StartEnsemble, a failure fails the test.
func (s *Server) Stop() error {
	return s.check("stop", s.halt(false))
}

// Kill kills the server's JVM with SIGKILL, as a crash would, and waits for
// it to exit. For a server from StartServer or StartEnsemble, a failure fails
// the test.
func (s *Server) Kill() error {
	return s.check("kill", s.halt(true))
}

// Restart stops the server if it runs, starts it again on the same ports
// with the same data, and waits until it serves: an ensemble member waits
// until it has joined a quorum, or, when too few members run for one, until
// it serves read-only. For a server from StartServer or StartEnsemble, a
// failure fails the test.
func (s *Server) Restart() error {
	return s.check("restart", s.restart())
}

// RestartWith is Restart with opts applied on top of the server's options,
// for this start and every later one: a test can change the server's
// configuration between two runs of it, as an operator would, for instance
// its session timeout bounds with WithConfig. WithTLS and WithDir cannot
// change once the server exists. RestartWith refuses them, and any option
// that NewServer would refuse, and then leaves the server as it was.
func (s *Server) RestartWith(opts ...Option) error {
	return s.check("restart", s.reconfigure(opts))
}

func (s *Server) reconfigure(opts []Option) error {
	if s.fixed != nil {
		return s.fixed
	}
	s.mu.Lock()
	cfg := s.cfg
	// Servers of one ensemble may share the backing arrays.
	cfg.extraConfig = slices.Clone(cfg.extraConfig)
	cfg.javaFlags = slices.Clone(cfg.javaFlags)
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.tls != s.cfg.tls || cfg.dir != s.cfg.dir {
		s.mu.Unlock()
		return errors.New("zktest: WithTLS and WithDir cannot change on a restart")
	}
	if err := cfg.check(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.cfg = cfg
	s.mu.Unlock()
	return s.restart()
}

func (s *Server) check(op string, err error) error {
	if err != nil && s.tb != nil {
		s.tb.Helper()
		s.tb.Fatalf("zktest: %s %s: %v", op, s.Addr(), err)
	}
	return err
}

func (s *Server) halt(kill bool) error {
	if s.fixed != nil {
		return s.fixed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	var err error
	if kill {
		s.proc.kill()
	} else {
		err = s.proc.stop(stopGrace)
	}
	s.proc = nil
	s.running.Store(false)
	return err
}

func (s *Server) restart() error {
	if s.fixed != nil {
		return s.fixed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.proc != nil {
		_ = s.proc.stop(stopGrace)
		s.proc = nil
		s.running.Store(false)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	if err := s.startLocked(ctx); err != nil {
		s.killLocked()
		return err
	}
	return nil
}

// Close kills the server, frees its ports and, unless it was given WithDir,
// removes its directory. Addr still names the server after Close, though
// other servers may take its ports. Closing a handle to an external or the
// shared server does nothing; an ensemble's servers are closed by
// Ensemble.Close.
func (s *Server) Close() error {
	if s.fixed != nil {
		return nil
	}
	if s.ens != nil {
		return errors.New("zktest: close the ensemble, not one of its servers")
	}
	return s.close()
}

func (s *Server) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.killLocked()
	s.releasePorts()
	if s.ownsDir {
		return os.RemoveAll(s.dir)
	}
	return nil
}

func (s *Server) killLocked() {
	if s.proc != nil {
		s.proc.kill()
		s.proc = nil
	}
	s.running.Store(false)
}

// reserve is reservePort, or a stand-in in tests.
var reserve = reservePort

// allocPorts reserves the server's ports. It runs while the server is
// built, on a server that holds none, and forgets what it reserved when it
// fails.
func (s *Server) allocPorts() error {
	var err error
	alloc := func(p *int) {
		if err == nil {
			*p, err = reserve()
		}
	}
	alloc(&s.clientPort)
	if s.cfg.tls {
		alloc(&s.securePort)
	}
	if s.ens != nil {
		alloc(&s.quorumPort)
		alloc(&s.electionPort)
	}
	if err != nil {
		s.resetPorts()
	}
	return err
}

// releasePorts gives up the reservations of the server's ports, for other
// servers to take. It leaves the port numbers in place: Addr reads them
// without the lock, and still names the server after Close.
func (s *Server) releasePorts() {
	for _, p := range []int{s.clientPort, s.securePort, s.quorumPort, s.electionPort} {
		if p != 0 {
			releasePort(p)
		}
	}
}

// resetPorts releases the server's ports and forgets them, so that a
// failed start can be tried again on new ones. Only NewServer and
// NewEnsemble call it, before the server is returned to anyone.
func (s *Server) resetPorts() {
	s.releasePorts()
	s.clientPort, s.securePort, s.quorumPort, s.electionPort = 0, 0, 0, 0
}

// startLocked launches the JVM and waits until the server serves.
func (s *Server) startLocked(ctx context.Context) error {
	if err := s.launchLocked(); err != nil {
		return err
	}
	return s.waitReadyLocked(ctx)
}

func (s *Server) launchLocked() error {
	if err := s.writeFiles(); err != nil {
		return fmt.Errorf("zktest: write configuration: %w", err)
	}
	if fi, err := os.Stat(s.LogPath()); err == nil {
		s.logStart = fi.Size()
	}
	p, err := startJVM(s.java, s.dir, s.LogPath(), s.javaArgs())
	if err != nil {
		return err
	}
	s.proc = p
	s.running.Store(true)
	return nil
}

// waitReadyLocked polls until ruok answers imok and srvr reports a mode
// that acceptMode takes.
func (s *Server) waitReadyLocked(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.ready(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return s.startError(fmt.Sprintf("not serving: %v", ctx.Err()))
		case <-s.proc.done:
			return s.startError(fmt.Sprintf("java exited: %v", s.proc.waitErr))
		case <-tick.C:
		}
	}
}

func (s *Server) ready(ctx context.Context) bool {
	// Probes end early when the JVM exits: if it failed to bind, whatever
	// else listens on its port may never answer.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	exited := s.proc.done
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	if out, err := s.FourLetter(ctx, "ruok"); err != nil || out != "imok" {
		return false
	}
	out, err := s.FourLetter(ctx, "srvr")
	if err != nil {
		return false
	}
	mode, err := parseMode(out)
	if err != nil || !s.acceptMode(mode) {
		return false
	}
	if s.securePort != 0 {
		// The TLS port opens after the plain one.
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", s.SecureAddr())
		if err != nil {
			return false
		}
		_ = conn.Close()
	}
	return true
}

// acceptMode tells whether a starting server in mode is ready: a standalone
// server in any mode, an ensemble member once it follows or leads, or serves
// read-only while too few members run for a quorum.
func (s *Server) acceptMode(mode string) bool {
	if s.ens == nil {
		return true
	}
	switch mode {
	case ModeLeader, ModeFollower, ModeObserver, ModeStandalone: // an ensemble of one runs standalone
		return true
	case ModeReadOnly:
		return s.ens.running()*2 <= len(s.ens.servers)
	}
	return false
}

func (s *Server) startError(what string) error {
	log := s.readLog(s.logStart)
	err := fmt.Errorf("zktest: server %s (%s) %s; last lines of its log:\n%s", s.Addr(), s.LogPath(), what, lastLines(log, 20))
	if bytes.Contains(log, []byte("Address already in use")) {
		return fmt.Errorf("%w (%w)", err, errAddrInUse)
	}
	return err
}

// readLog returns the log from offset from, at most its last 256 KiB.
func (s *Server) readLog(from int64) []byte {
	f, err := os.Open(s.LogPath())
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size()-from > 256<<10 {
		from = fi.Size() - 256<<10
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, from, 1<<62))
	return b
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	return lastLines(s.readLog(0), n)
}

// lastLines returns the last n lines of the log b, leaving out the noise of
// four-letter words, such as zktest's own polling.
func lastLines(b []byte, n int) string {
	var kept []byte
	for line := range bytes.Lines(b) {
		if !bytes.Contains(line, []byte(" command from /")) {
			kept = append(kept, line...)
		}
	}
	b = bytes.TrimRight(kept, "\n")
	i := len(b)
	for ; n > 0 && i > 0; n-- {
		i = bytes.LastIndexByte(b[:i], '\n')
		if i < 0 {
			i = 0
		}
	}
	return string(bytes.TrimLeft(b[i:], "\n"))
}
