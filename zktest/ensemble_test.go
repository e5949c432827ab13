package zktest

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEnsemble(t *testing.T) {
	start := time.Now()
	e := StartEnsemble(t, 3)
	t.Logf("ensemble of 3 ready in %v", time.Since(start))

	servers := e.Servers()
	if len(servers) != 3 {
		t.Fatalf("%d servers", len(servers))
	}
	addrs := make([]string, 3)
	for i, s := range servers {
		addrs[i] = s.Addr()
		if s.ID() != i+1 {
			t.Errorf("server %d has ID %d", i, s.ID())
		}
	}
	if e.ConnString() != strings.Join(addrs, ",") {
		t.Fatalf("ConnString %q, addresses %q", e.ConnString(), addrs)
	}

	leader := wantOneLeader(t, e)

	// A session is found on the server it connected to, and can be expired
	// through another.
	c, resp := newSession(t, servers[1].Addr())
	if got, err := e.SessionServer(t.Context(), resp.SessionID); err != nil || got != servers[1] {
		t.Fatalf("SessionServer = %v, %v; want server 2", got, err)
	}
	if err := ExpireSession(t.Context(), servers[2].Addr(), resp.SessionID, resp.Passwd); err != nil {
		t.Fatal(err)
	}
	c.Close()
	requireSessionGone(t, servers[0].Addr(), resp)

	// Kill the leader: the other two elect a new one and keep the quorum.
	leader.Kill()
	if leader.Running() {
		t.Fatal("Running after Kill")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	next, err := e.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next == leader {
		t.Fatal("the killed server still leads")
	}
	for _, s := range servers {
		if s != leader && s != next {
			wantMode(t, s, ModeFollower)
		}
	}

	// The killed server comes back on its ports and follows.
	leader.Restart()
	wantMode(t, leader, ModeFollower)
	if got := wantOneLeader(t, e); got != next {
		t.Fatalf("leader changed from %s to %s on restart", next.Addr(), got.Addr())
	}

	// Stop a follower gracefully; the quorum stays.
	leader.Stop()
	if got := wantOneLeader(t, e); got != next {
		t.Fatalf("leader changed from %s to %s", next.Addr(), got.Addr())
	}

	if err := servers[0].Close(); err == nil {
		t.Fatal("closing one server of an ensemble succeeded")
	}
}

// wantOneLeader checks that exactly one running server leads and the other
// running servers follow, and returns the leader.
func wantOneLeader(t *testing.T, e *Ensemble) *Server {
	t.Helper()
	var leader *Server
	for _, s := range e.Servers() {
		if !s.Running() {
			continue
		}
		mode, err := s.Mode()
		if err != nil {
			t.Fatalf("%s: %v", s.Addr(), err)
		}
		switch mode {
		case ModeLeader:
			if leader != nil {
				t.Fatalf("two leaders: %s and %s", leader.Addr(), s.Addr())
			}
			leader = s
		case ModeFollower:
		default:
			t.Fatalf("%s: mode %q", s.Addr(), mode)
		}
	}
	if leader == nil {
		t.Fatal("no leader")
	}
	l, err := e.Leader()
	if err != nil || l != leader {
		t.Fatalf("Leader() = %v, %v; want %s", l, err, leader.Addr())
	}
	return leader
}

func TestEnsembleReadOnlyAndTLS(t *testing.T) {
	e := StartEnsemble(t, 3, WithTLS())
	servers := e.Servers()

	// Every server has a TLS port with a certificate from the same CA.
	secure := strings.Split(e.SecureConnString(), ",")
	if len(secure) != 3 || e.CACertPool() == nil {
		t.Fatalf("SecureConnString %q", e.SecureConnString())
	}
	for i, addr := range secure {
		if addr != servers[i].SecureAddr() {
			t.Fatalf("SecureConnString %q, server %d at %s", secure, i+1, servers[i].SecureAddr())
		}
		conn, err := tls.Dial("tcp", addr, e.TLSConfig())
		if err != nil {
			t.Fatalf("TLS to server %d: %v", i+1, err)
		}
		conn.Close()
	}
	servers[0].Kill()
	servers[1].Kill()
	// Alone, the last server serves read-only.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		mode, _ := servers[2].Mode()
		if mode == ModeReadOnly {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("mode %q, want %q", mode, ModeReadOnly)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if out, err := servers[2].FourLetter(t.Context(), "isro"); err != nil || out != "ro" {
		t.Fatalf("isro = %q, %v", out, err)
	}
	// Restarting one member restores the quorum.
	servers[0].Restart()
	if _, err := e.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	wantOneLeader(t, e)
}

func TestConsHasSession(t *testing.T) {
	cons := ` /127.0.0.1:45678[1](queued=0,recved=3,sent=3,sid=0x100012a3b4c0000,lop=PING,est=1700000000000,to=10000,lcxid=0x1,lzxid=0x5,lresp=1,llat=0,minlat=0,avglat=0,maxlat=1)
 /127.0.0.1:45680[0](queued=0,recved=1,sent=0)

`
	for _, c := range []struct {
		id   int64
		want bool
	}{
		{0x100012a3b4c0000, true},
		{0x100012a3b4c0001, false},
		{0, false},
		{-0x7fffffffffffffff, false},
	} {
		if got := consHasSession(cons, c.id); got != c.want {
			t.Errorf("consHasSession(0x%x) = %v, want %v", c.id, got, c.want)
		}
	}
	if !consHasSession("sid=0xffffffffffffffff)", -1) {
		t.Error("a negative session id is not found")
	}
}

func TestSessionServerNotFound(t *testing.T) {
	e := StartEnsemble(t, 1)
	if _, err := e.SessionServer(t.Context(), 0x1234); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("SessionServer = %v, want ErrSessionNotFound", err)
	}
}
