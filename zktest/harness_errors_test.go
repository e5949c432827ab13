package zktest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

// badOptions are options given values they cannot take, each with the
// error NewServer and NewEnsemble return for it.
var badOptions = []struct {
	name string
	opt  Option
	want string
}{
	{"negative tick", WithTickTime(-time.Second),
		"zktest: WithTickTime(-1s): the tick time must be a whole number of milliseconds, at least 1ms"},
	{"zero tick", WithTickTime(0),
		"zktest: WithTickTime(0s): the tick time must be a whole number of milliseconds, at least 1ms"},
	{"sub-millisecond tick", WithTickTime(500 * time.Microsecond),
		"zktest: WithTickTime(500µs): the tick time must be a whole number of milliseconds, at least 1ms"},
	{"fractional tick", WithTickTime(1500 * time.Microsecond),
		"zktest: WithTickTime(1.5ms): the tick time must be a whole number of milliseconds, at least 1ms"},
	{"zero start timeout", WithStartTimeout(0),
		"zktest: WithStartTimeout(0s): the start timeout must be positive"},
	{"negative start timeout", WithStartTimeout(-time.Second),
		"zktest: WithStartTimeout(-1s): the start timeout must be positive"},
	{"clientPort", WithConfig("clientPort", "0"),
		`zktest: WithConfig("clientPort", "0"): zktest picks the server's addresses and ports itself`},
	{"clientPortAddress", WithConfig("clientPortAddress", "127.0.0.2"),
		`zktest: WithConfig("clientPortAddress", "127.0.0.2"): zktest picks the server's addresses and ports itself`},
	{"secureClientPort", WithConfig("secureClientPort", "2281"),
		`zktest: WithConfig("secureClientPort", "2281"): zktest picks the server's addresses and ports itself`},
	{"secureClientPortAddress", WithConfig("secureClientPortAddress", "0.0.0.0"),
		`zktest: WithConfig("secureClientPortAddress", "0.0.0.0"): zktest picks the server's addresses and ports itself`},
	{"dataDir", WithConfig("dataDir", "data2"),
		`zktest: WithConfig("dataDir", "data2"): zktest keeps the server's data under its directory; see WithDir`},
	{"dataLogDir", WithConfig("dataLogDir", "data2"),
		`zktest: WithConfig("dataLogDir", "data2"): zktest keeps the server's data under its directory; see WithDir`},
	{"tickTime", WithConfig("tickTime", "abc"),
		`zktest: WithConfig("tickTime", "abc"): use WithTickTime, which also sets the session timeout bounds and sync limits`},
	{"server.N", WithConfig("server.7", "127.0.0.1:1:2"),
		`zktest: WithConfig("server.7", "127.0.0.1:1:2"): zktest lists an ensemble's servers itself`},
	{"key with a newline", WithConfig("a\nclientPort", "1"),
		`zktest: WithConfig("a\nclientPort", "1"): not a key=value line of zoo.cfg`},
	{"value with a newline", WithConfig("maxSessionTimeout", "1\nclientPort=1"),
		`zktest: WithConfig("maxSessionTimeout", "1\nclientPort=1"): not a key=value line of zoo.cfg`},
	{"value ending in a backslash", WithConfig("maxSessionTimeout", "1\\"),
		`zktest: WithConfig("maxSessionTimeout", "1\\"): not a key=value line of zoo.cfg`},
	{"key with a colon", WithConfig("a:b", "1"),
		`zktest: WithConfig("a:b", "1"): not a key=value line of zoo.cfg`},
	{"comment key", WithConfig("#maxClientCnxns", "1"),
		`zktest: WithConfig("#maxClientCnxns", "1"): not a key=value line of zoo.cfg`},
	{"bang comment key", WithConfig("!maxClientCnxns", "1"),
		`zktest: WithConfig("!maxClientCnxns", "1"): not a key=value line of zoo.cfg`},
	{"TLS factory", multiOption{WithTLS(), WithConfig("serverCnxnFactory", "x")},
		`zktest: WithConfig("serverCnxnFactory", "x"): zktest sets it up for the TLS port of WithTLS`},
	{"TLS key store", multiOption{WithConfig("ssl.keyStore.location", "x"), WithTLS()},
		`zktest: WithConfig("ssl.keyStore.location", "x"): zktest sets it up for the TLS port of WithTLS`},
}

// multiOption applies several options as one.
type multiOption []Option

func (m multiOption) apply(c *config) {
	for _, o := range m {
		o.apply(c)
	}
}

// TestBadOptions checks that NewServer, NewEnsemble, StartServer and
// StartEnsemble refuse options given values they cannot take, naming the
// option and the value, before they start anything.
func TestBadOptions(t *testing.T) {
	for _, tc := range badOptions {
		t.Run(tc.name, func(t *testing.T) {
			// Should a bad option be passed over, the start ends soon.
			opts := []Option{WithStartTimeout(10 * time.Second), tc.opt}

			dir := filepath.Join(t.TempDir(), "server")
			s, err := NewServer(t.Context(), append(opts, WithDir(dir))...)
			if err == nil {
				s.Close()
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("NewServer: %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("NewServer made its directory before refusing the option: %v", err)
			}

			e, err := NewEnsemble(t.Context(), 1, append(opts, WithDir(t.TempDir()))...)
			if err == nil {
				e.Close()
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("NewEnsemble: %v, want %q", err, tc.want)
			}

			ft := &fakeTB{TB: t}
			ft.run(func() { StartServer(ft, opts...) })
			if ft.fatal != tc.want {
				t.Errorf("StartServer failed the test with %q, want %q", ft.fatal, tc.want)
			}
			ft.run(func() { StartEnsemble(ft, 1, opts...) })
			if ft.fatal != tc.want {
				t.Errorf("StartEnsemble failed the test with %q, want %q", ft.fatal, tc.want)
			}
		})
	}
}

// TestBadOptionsJoined checks that every bad option is reported, not only
// the first.
func TestBadOptionsJoined(t *testing.T) {
	s, err := NewServer(t.Context(), WithDir(t.TempDir()), WithTickTime(0), WithConfig("dataDir", "data2"))
	if err == nil {
		s.Close()
	}
	want := "zktest: WithTickTime(0s): the tick time must be a whole number of milliseconds, at least 1ms\n" +
		`zktest: WithConfig("dataDir", "data2"): zktest keeps the server's data under its directory; see WithDir`
	if err == nil || err.Error() != want {
		t.Fatalf("NewServer: %v, want %q", err, want)
	}
}

// TestGoodOptionsAccepted checks options that are close to the bad ones
// but fine: keys that are zktest's only WithTLS, and other keys that look
// like server.N.
func TestGoodOptionsAccepted(t *testing.T) {
	for _, opt := range []Option{
		WithTickTime(time.Millisecond),
		WithTickTime(2 * time.Second),
		WithStartTimeout(time.Nanosecond),
		WithConfig("serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory"),
		WithConfig("ssl.keyStore.location", "x"),
		WithConfig("server.", "x"),
		WithConfig("server.x", "x"),
		WithConfig("ssl.clientAuth", "need"),
		WithConfig("4lw.commands.whitelist", ""),
		WithConfig("maxSessionTimeout", ""),
		multiOption{WithTLS(), WithConfig("ssl.clientAuth", "need")},
	} {
		if _, err := newConfig([]Option{opt}); err != nil {
			t.Errorf("refused: %v", err)
		}
	}
}

// TestRestartWithBadOption checks that RestartWith refuses what NewServer
// refuses, and leaves the server running as it was.
func TestRestartWithBadOption(t *testing.T) {
	s := StartServer(t)
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithTickTime(0), "zktest: WithTickTime(0s): the tick time must be a whole number of milliseconds, at least 1ms"},
		{WithConfig("clientPort", "1"), `zktest: WithConfig("clientPort", "1"): zktest picks the server's addresses and ports itself`},
	} {
		if err := s.reconfigure([]Option{tc.opt}); err == nil || err.Error() != tc.want {
			t.Errorf("RestartWith: %v, want %q", err, tc.want)
		}
	}
	if !s.Running() {
		t.Fatal("a refused RestartWith stopped the server")
	}
	wantMode(t, s, ModeStandalone)
	// The refusals changed nothing: a plain restart still works.
	s.Restart()
	wantMode(t, s, ModeStandalone)
}

// fakeZK plays a ZooKeeper server to ExpireSession, doing on its nth
// connection (from 1) what do(n) says.
type fakeZK struct {
	ln       net.Listener
	do       func(n int) fakeAct
	accepted atomic.Int32
	closed   atomic.Int32 // sessions closed

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// fakeAct is what fakeZK does with a connection.
type fakeAct int

const (
	fakeSilent  fakeAct = iota // never answers
	fakeHangUp                 // closes the connection after the connect request
	fakeUnknown                // knows no such session
	fakeExpire                 // resumes the session and closes it
)

func startFakeZK(t *testing.T, do func(n int) fakeAct) *fakeZK {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := &fakeZK{ln: ln, do: do}
	z.wg.Go(z.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		z.mu.Lock()
		for _, c := range z.conns {
			_ = c.Close()
		}
		z.mu.Unlock()
		z.wg.Wait()
	})
	return z
}

func (z *fakeZK) addr() string { return z.ln.Addr().String() }

func (z *fakeZK) accept() {
	for {
		c, err := z.ln.Accept()
		if err != nil {
			return
		}
		z.mu.Lock()
		z.conns = append(z.conns, c)
		z.mu.Unlock()
		act := z.do(int(z.accepted.Add(1)))
		z.wg.Go(func() { z.serve(c, act) })
	}
}

func (z *fakeZK) serve(c net.Conn, act fakeAct) {
	defer c.Close()
	frame, err := proto.ReadFrame(c, nil, proto.DefaultMaxFrame)
	if err != nil {
		return
	}
	var req proto.ConnectRequest
	req.Decode(proto.NewDecoder(frame))
	switch act {
	case fakeSilent:
		_, _ = c.Read(make([]byte, 1)) // until the client or the test closes
		return
	case fakeHangUp:
		return
	}
	resp := proto.ConnectResponse{SessionID: req.SessionID, Passwd: req.Passwd}
	if act == fakeExpire {
		resp.TimeoutMs = req.TimeoutMs
	}
	b, start := proto.AppendFrameStart(nil)
	if _, err := c.Write(proto.FinishFrame(resp.Encode(b), start)); err != nil || act != fakeExpire {
		return
	}
	frame, err = proto.ReadFrame(c, nil, proto.DefaultMaxFrame)
	if err != nil {
		return
	}
	var hdr proto.RequestHeader
	hdr.Decode(proto.NewDecoder(frame))
	if hdr.Opcode == proto.OpCloseSession {
		z.closed.Add(1)
	}
	b, start = proto.AppendFrameStart(nil)
	_, _ = c.Write(proto.FinishFrame(proto.ReplyHeader{Xid: hdr.Xid}.Encode(b), start))
}

// TestExpireSessionBadArguments checks that ExpireSession refuses session
// id 0 and connection strings that name no servers it can dial, at once,
// without contacting any server, not even one that would "expire" the
// session: id 0 asks for a new session, which ExpireSession would close
// and call done.
func TestExpireSessionBadArguments(t *testing.T) {
	z := startFakeZK(t, func(int) fakeAct { return fakeExpire })
	for _, tc := range []struct {
		connString string
		id         int64
		want       string
	}{
		{z.addr(), 0, "zktest: expire session: session id 0 names no session (a connect request with id 0 asks for a new one); pass the id of the client's session, once it has one"},
		{"", 1, `zktest: expire session: no servers in connection string ""`},
		{" /chroot", 1, `zktest: expire session: no servers in connection string " /chroot"`},
		{z.addr() + ",", 1, `zktest: expire session: connection string "` + z.addr() + `,": empty server entry`},
		{z.addr() + ",127.0.0.1:99999", 1, `zktest: expire session: connection string "` + z.addr() + `,127.0.0.1:99999": server "127.0.0.1:99999": bad port "99999"`},
		{z.addr() + ",127.0.0.1:", 1, `zktest: expire session: connection string "` + z.addr() + `,127.0.0.1:": server "127.0.0.1:": bad port ""`},
		{z.addr() + ",::1:2181/app", 1, `zktest: expire session: connection string "` + z.addr() + `,::1:2181/app": server "::1:2181": address ::1:2181: too many colons in address`},
		{z.addr() + ",[::1", 1, `zktest: expire session: connection string "` + z.addr() + `,[::1": server "[::1": address [::1: missing ']' in address`},
		{z.addr() + ",:2181", 1, `zktest: expire session: connection string "` + z.addr() + `,:2181": server ":2181": bad host`},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := ExpireSession(ctx, tc.connString, tc.id, nil)
		cancel()
		if err == nil || err.Error() != tc.want {
			t.Errorf("ExpireSession(%q, %d): %v, want %q", tc.connString, tc.id, err, tc.want)
		}
	}
	if n := z.accepted.Load(); n != 0 {
		t.Errorf("the server was contacted %d times", n)
	}
}

// TestServerAddrs checks how ExpireSession reads a connection string.
func TestServerAddrs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"127.0.0.1:2181", []string{"127.0.0.1:2181"}},
		{" a:1 , b:2/chroot/x", []string{"a:1", "b:2"}},
		{"a:1,b/", []string{"a:1", "b:2181"}},
		{"[::1]:3,[fe80::1]", []string{"[::1]:3", "[fe80::1]:2181"}},
		{"localhost", []string{"localhost:2181"}},
	} {
		got, err := serverAddrs(tc.in)
		if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("serverAddrs(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestExpireSessionChroot expires a session given the connection string a
// client uses with a chroot, as ExampleShared suggests.
func TestExpireSessionChroot(t *testing.T) {
	s := Shared(t)
	_, resp := newSession(t, s.Addr())
	cs := "127.0.0.1:1," + s.ConnString() + UniquePath(t)
	if err := ExpireSession(t.Context(), cs, resp.SessionID, resp.Passwd); err != nil {
		t.Fatalf("ExpireSession(%q): %v", cs, err)
	}
	requireSessionGone(t, s.Addr(), resp)
}

// TestExpireSessionSilentServer checks that ExpireSession, with a context
// that has no deadline, gives up on a server that takes the connection
// and never answers, after the attempt's 5 s and without trying again.
func TestExpireSessionSilentServer(t *testing.T) {
	z := startFakeZK(t, func(int) fakeAct { return fakeSilent })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ExpireSession(ctx, z.addr(), 1, nil) }()
	select {
	case err := <-done:
		want := "zktest: expire session 0x1 at " + z.addr() + ": no answer within 5s ("
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ExpireSession: %v, want an error starting %q", err, want)
		}
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		t.Fatal("ExpireSession still waited for a silent server after 20 s")
	}
	if n := z.accepted.Load(); n != 1 {
		t.Errorf("%d connections, want 1: a silent server is not tried again", n)
	}
}

// TestExpireSessionHonoursCancel checks that cancelling ExpireSession's
// context, which has no deadline, ends it at once.
func TestExpireSessionHonoursCancel(t *testing.T) {
	z := startFakeZK(t, func(int) fakeAct { return fakeSilent })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ExpireSession(ctx, z.addr(), 1, nil) }()
	for z.accepted.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ExpireSession: %v, want context.Canceled", err)
		}
	case <-time.After(4 * time.Second):
		<-done
		t.Fatal("ExpireSession went on for 4 s after its context was cancelled")
	}
}

// TestExpireSessionRetries checks what ExpireSession tries again: only a
// connection the server closes before it closes the session, as when the
// session's client takes the session back; and that a session gone on a
// later try counts as expired.
func TestExpireSessionRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		acts      []fakeAct // for each connection, the last one repeating
		wantErr   error
		wantConns int32
	}{
		{"expired at once", []fakeAct{fakeExpire}, nil, 1},
		{"taken back, then expired", []fakeAct{fakeHangUp, fakeHangUp, fakeExpire}, nil, 3},
		{"taken back, then gone", []fakeAct{fakeHangUp, fakeUnknown}, nil, 2},
		{"gone at once", []fakeAct{fakeUnknown}, ErrNoSession, 1},
		{"always taken back", []fakeAct{fakeHangUp}, errTakenBack, expireTries},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := startFakeZK(t, func(n int) fakeAct { return tc.acts[min(n, len(tc.acts))-1] })
			err := ExpireSession(t.Context(), z.addr(), 0x1234, []byte("0123456789abcdef"))
			if tc.wantErr == nil && err != nil || !errors.Is(err, tc.wantErr) {
				t.Errorf("ExpireSession: %v, want %v", err, tc.wantErr)
			}
			if n := z.accepted.Load(); n != tc.wantConns {
				t.Errorf("%d connections, want %d", n, tc.wantConns)
			}
		})
	}
}

// TestEnsembleOfOneLeads checks that the only server of an ensemble of
// one, which ZooKeeper runs standalone, is its leader, and that an
// ensemble of two leads with both servers and loses its quorum with one.
func TestEnsembleOfOneLeads(t *testing.T) {
	one := StartEnsemble(t, 1)
	only := one.Servers()[0]
	wantMode(t, only, ModeStandalone)
	if l, err := one.Leader(); err != nil || l != only {
		t.Errorf("Leader = %v, %v; want the only server", l, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if l, err := one.WaitLeader(ctx); err != nil || l != only {
		t.Errorf("WaitLeader = %v, %v; want the only server", l, err)
	}

	two := StartEnsemble(t, 2)
	ctx, cancel = context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	leader, err := two.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range two.Servers() {
		if s != leader {
			wantMode(t, s, ModeFollower)
			s.Kill()
		}
	}
	for {
		if mode, _ := leader.Mode(); mode != ModeLeader {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the leader of two still leads with the other killed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBadOptionsWithExternalServers checks that StartServer refuses a bad
// option under ZK_SERVERS too, where the options do not apply.
func TestBadOptionsWithExternalServers(t *testing.T) {
	t.Setenv(serversEnv, "127.0.0.1:1")
	ft := &fakeTB{TB: t}
	ft.run(func() { StartServer(ft, WithTickTime(0)) })
	want := "zktest: WithTickTime(0s): the tick time must be a whole number of milliseconds, at least 1ms"
	if ft.fatal != want {
		t.Errorf("StartServer failed the test with %q, want %q", ft.fatal, want)
	}
	ft.run(func() { StartServer(ft) })
	if ft.fatal != "" {
		t.Errorf("StartServer without options failed the test: %q", ft.fatal)
	}
}
