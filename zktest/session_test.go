package zktest

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

// ZooKeeper error codes the tests expect.
const (
	errNoNode     = -101
	errNotEmpty   = -111
	errNodeExists = -110
)

var openACL = []proto.ACL{{Perms: proto.PermAll, Scheme: "world", ID: "anyone"}}

// newSession opens a raw session with a 10 s timeout.
func newSession(t *testing.T, addr string) (*rawConn, proto.ConnectResponse) {
	t.Helper()
	c, resp, err := dialRaw(t.Context(), addr, proto.ConnectRequest{TimeoutMs: 10000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if resp.SessionID == 0 || resp.TimeoutMs <= 0 {
		t.Fatalf("connect response %+v", resp)
	}
	return c, resp
}

func mustCall(t *testing.T, c *rawConn, op int32, req proto.Request, wantErr int32) []byte {
	t.Helper()
	hdr, body, err := c.call(op, req)
	if err != nil {
		t.Fatalf("op %d: %v", op, err)
	}
	if hdr.Err != wantErr {
		t.Fatalf("op %d: error %d, want %d", op, hdr.Err, wantErr)
	}
	return body
}

func create(t *testing.T, c *rawConn, path string, flags int32, wantErr int32) {
	t.Helper()
	op := proto.OpCreate
	if flags == proto.FlagContainer {
		op = proto.OpCreateContainer
	}
	mustCall(t, c, op, &proto.CreateRequest{Op: op, Path: path, ACL: openACL, Flags: flags}, wantErr)
}

func exists(t *testing.T, c *rawConn, path string) bool {
	t.Helper()
	hdr, _, err := c.call(proto.OpExists, &proto.PathWatchRequest{Op: proto.OpExists, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Err != 0 && hdr.Err != errNoNode {
		t.Fatalf("exists %s: error %d", path, hdr.Err)
	}
	return hdr.Err == 0
}

func TestSessionTimeoutNegotiation(t *testing.T) {
	s := Shared(t)
	_, resp := newSession(t, s.Addr())
	if resp.TimeoutMs != 10000 {
		t.Fatalf("asked for 10 s, got %d ms", resp.TimeoutMs)
	}
	c, resp, err := dialRaw(t.Context(), s.Addr(), proto.ConnectRequest{TimeoutMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if resp.TimeoutMs != 200 {
		t.Fatalf("asked for 1 ms, got %d ms, want the minimum of 2 ticks", resp.TimeoutMs)
	}
}

func TestExpireSession(t *testing.T) {
	s := Shared(t)
	root := UniquePath(t)
	c, resp := newSession(t, s.Addr())
	create(t, c, root, proto.FlagPersistent, 0)
	create(t, c, root+"/ephemeral", proto.FlagEphemeral, 0)

	if err := ExpireSession(t.Context(), "127.0.0.1:1,"+s.ConnString(), resp.SessionID, resp.Passwd); err != nil {
		t.Fatal(err)
	}

	// The session's connection is closed, well before the read deadline.
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := proto.ReadFrame(c, nil, proto.DefaultMaxFrame); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("read from the expired session's connection: %v, want EOF", err)
	}
	// Resuming the session finds it expired.
	requireSessionGone(t, s.Addr(), resp)
	// Its ephemeral node is gone.
	other, _ := newSession(t, s.Addr())
	if exists(t, other, root+"/ephemeral") {
		t.Fatal("the expired session's ephemeral node survived")
	}
	if !exists(t, other, root) {
		t.Fatal("the persistent node is gone")
	}
	// Expiring it again finds no session.
	if err := ExpireSession(t.Context(), s.ConnString(), resp.SessionID, resp.Passwd); !errors.Is(err, ErrNoSession) {
		t.Fatalf("second ExpireSession = %v, want ErrNoSession", err)
	}
}

func TestExpireSessionWrongPassword(t *testing.T) {
	s := Shared(t)
	c, resp := newSession(t, s.Addr())
	bad := append([]byte(nil), resp.Passwd...)
	bad[0] ^= 0xff
	if err := ExpireSession(t.Context(), s.ConnString(), resp.SessionID, bad); !errors.Is(err, ErrNoSession) {
		t.Fatalf("ExpireSession with a wrong password = %v, want ErrNoSession", err)
	}
	// The session lives on, though the server closed its connection when
	// the second one claimed it.
	c.Close()
	again, got, err := dialRaw(t.Context(), s.Addr(), proto.ConnectRequest{
		TimeoutMs: 10000, SessionID: resp.SessionID, Passwd: resp.Passwd,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got.TimeoutMs <= 0 || !exists(t, again, "/") {
		t.Fatalf("the session did not survive: %+v", got)
	}
	if err := ExpireSession(t.Context(), "", resp.SessionID, resp.Passwd); err == nil {
		t.Fatal("ExpireSession with no servers succeeded")
	}
}

// TestContainerNodes checks that the server runs its container manager
// every 100 ms rather than every minute: an emptied container vanishes.
func TestContainerNodes(t *testing.T) {
	s := Shared(t)
	root := UniquePath(t)
	c, _ := newSession(t, s.Addr())
	create(t, c, root, proto.FlagContainer, 0)
	create(t, c, root+"/child", proto.FlagPersistent, 0)
	mustCall(t, c, proto.OpDelete, &proto.DeleteRequest{Path: root + "/child", Version: -1}, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for exists(t, c, root) {
		select {
		case <-ctx.Done():
			t.Fatal("the empty container node was not deleted")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestTTLNodes checks that extended types, which TTL nodes need, are on.
func TestTTLNodes(t *testing.T) {
	s := Shared(t)
	c, _ := newSession(t, s.Addr())
	mustCall(t, c, proto.OpCreateTTL, &proto.CreateRequest{
		Op: proto.OpCreateTTL, Path: UniquePath(t), ACL: openACL,
		Flags: proto.FlagPersistentWithTTL, TTL: 60000,
	}, 0)
}

// TestProxyDropNextReplyZooKeeper loses the reply to a create through the
// proxy: the connection closes without it, yet the node exists.
func TestProxyDropNextReplyZooKeeper(t *testing.T) {
	s := Shared(t)
	p := StartProxy(t, s.Addr())
	root := UniquePath(t)
	c, resp := newSession(t, p.Addr())
	if !exists(t, c, "/") {
		t.Fatal("/ does not exist")
	}
	p.DropNextReply()
	_, _, err := c.call(proto.OpCreate, &proto.CreateRequest{Op: proto.OpCreate, Path: root, ACL: openACL})
	if err == nil {
		t.Fatal("the create's reply arrived")
	}
	direct, _ := newSession(t, s.Addr())
	if !exists(t, direct, root) {
		t.Fatal("the server did not apply the create")
	}
	// The session survives on a new connection through the proxy.
	c2, got, err := dialRaw(t.Context(), p.Addr(), proto.ConnectRequest{
		TimeoutMs: 10000, SessionID: resp.SessionID, Passwd: resp.Passwd,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got.TimeoutMs <= 0 || got.SessionID != resp.SessionID {
		t.Fatalf("resume: %+v", got)
	}
	create(t, c2, root, proto.FlagPersistent, errNodeExists)
}

// TestProxyBlackHoleZooKeeper: a black-holed session gets no answer, and
// the proxy keeps the connection open.
func TestProxyBlackHoleZooKeeper(t *testing.T) {
	s := Shared(t)
	p := StartProxy(t, s.Addr())
	c, _ := newSession(t, p.Addr())
	p.BlackHole(true)
	_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	_, _, err := c.call(proto.OpExists, &proto.PathWatchRequest{Op: proto.OpExists, Path: "/"})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("exists through the black hole: %v, want a timeout", err)
	}
	if p.discarded.Load() == 0 {
		t.Error("the black hole swallowed nothing: the request never reached the proxy")
	}
	if p.Conns() != 1 {
		t.Errorf("%d connections through the proxy, want the black-holed one kept open", p.Conns())
	}
}

func TestWatches(t *testing.T) {
	s := Shared(t)
	c, resp := newSession(t, s.Addr())
	path := UniquePath(t)
	create(t, c, path, 0, 0)
	mustCall(t, c, proto.OpExists, &proto.PathWatchRequest{Op: proto.OpExists, Path: path, Watch: true}, 0)
	mustCall(t, c, proto.OpExists, &proto.PathWatchRequest{Op: proto.OpExists, Path: path + "/missing", Watch: true}, errNoNode)

	w, err := s.Watches(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(w[resp.SessionID]))
	if want := []string{path, path + "/missing"}; !slices.Equal(got, want) {
		t.Fatalf("session 0x%x watches %q, want %q (all: %v)", resp.SessionID, got, want, w)
	}
}

func TestParseWatches(t *testing.T) {
	w, err := parseWatches("0x100012a3b4c0000\n\t/a\n\t/b\n0xffffffffffffffff\n\t/c\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 2 || !slices.Equal(w[0x100012a3b4c0000], []string{"/a", "/b"}) || !slices.Equal(w[-1], []string{"/c"}) {
		t.Fatalf("parsed %v", w)
	}
	for _, bad := range []string{"\t/a\n", "0xzz\n\t/a\n"} {
		if _, err := parseWatches(bad); err == nil {
			t.Errorf("parseWatches(%q) succeeded", bad)
		}
	}
}

// requireSessionGone checks that the server at addr refuses to resume the
// session of resp: it has expired.
func requireSessionGone(t *testing.T, addr string, resp proto.ConnectResponse) {
	t.Helper()
	again, got, err := dialRaw(t.Context(), addr, proto.ConnectRequest{
		TimeoutMs: 10000, SessionID: resp.SessionID, Passwd: resp.Passwd,
	})
	switch {
	case errors.Is(err, io.EOF):
		// Refused by closing the connection without an answer: seen once
		// with an ensemble on one CPU, where the follower asked the
		// leader to revalidate the session while its close was being
		// committed. Either way the session was not resumed.
	case err != nil:
		t.Fatal(err)
	default:
		again.Close()
		if got.TimeoutMs != 0 {
			t.Fatalf("resumed an expired session: %+v", got)
		}
	}
}
