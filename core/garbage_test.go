package core_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// garbageServer is the one fake server of these tests: it speaks just
// enough of the protocol to misbehave in a chosen way, which no real
// ZooKeeper does on purpose. Its first connection gets the misbehaviour;
// later ones are closed at once.
type garbageServer struct {
	ln      net.Listener
	wg      sync.WaitGroup
	accepts atomic.Int32
	served  chan struct{} // closed once the first connection has been served

	mu    sync.Mutex
	conns []net.Conn
}

// misbehave runs on the first connection. handshake answers the connect
// request properly; a case that garbles the handshake itself skips it.
type misbehave func(nc net.Conn, br *bufio.Reader, handshake func() error)

// startGarbageServer starts the fake; onAccept runs when it accepts its
// first connection.
func startGarbageServer(t *testing.T, act misbehave, onAccept func()) *garbageServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &garbageServer{ln: ln, served: make(chan struct{})}
	g.wg.Add(1)
	go g.accept(act, onAccept)
	t.Cleanup(func() {
		_ = ln.Close()
		g.mu.Lock()
		for _, c := range g.conns {
			_ = c.Close()
		}
		g.mu.Unlock()
		g.wg.Wait()
	})
	return g
}

func (g *garbageServer) addr() string { return g.ln.Addr().String() }

func (g *garbageServer) accept(act misbehave, onAccept func()) {
	defer g.wg.Done()
	for {
		nc, err := g.ln.Accept()
		if err != nil {
			return
		}
		if g.accepts.Add(1) > 1 {
			_ = nc.Close()
			continue
		}
		onAccept()
		g.mu.Lock()
		g.conns = append(g.conns, nc)
		g.mu.Unlock()
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			defer close(g.served)
			defer nc.Close()
			br := bufio.NewReader(nc)
			act(nc, br, func() error { return fakeHandshake(nc, br) })
		}()
	}
}

// fakeHandshake reads the connect request and grants a made-up session.
func fakeHandshake(nc net.Conn, br *bufio.Reader) error {
	frame, err := proto.ReadFrame(br, nil, 1<<20)
	if err != nil {
		return err
	}
	var req proto.ConnectRequest
	req.Decode(proto.NewDecoder(frame))
	resp := proto.ConnectResponse{TimeoutMs: req.TimeoutMs, SessionID: 0x0fab1e, Passwd: make([]byte, 16)}
	b, start := proto.AppendFrameStart(nil)
	b = resp.Encode(b)
	_, err = nc.Write(proto.FinishFrame(b, start))
	return err
}

// readRequestXid reads one request frame and returns its xid, skipping
// frames with special xids.
func readRequestXid(br *bufio.Reader) (int32, error) {
	for {
		frame, err := proto.ReadFrame(br, nil, 1<<20)
		if err != nil {
			return 0, err
		}
		if len(frame) < 8 {
			continue
		}
		if xid := int32(binary.BigEndian.Uint32(frame)); xid >= 0 {
			return xid, nil
		}
	}
}

// frameB frames payload with its length.
func frameB(payload []byte) []byte {
	b, start := proto.AppendFrameStart(nil)
	b = append(b, payload...)
	return proto.FinishFrame(b, start)
}

// replyHeaderB encodes a reply header.
func replyHeaderB(xid int32, zxid int64, code int32) []byte {
	return proto.ReplyHeader{Xid: xid, Zxid: zxid, Err: code}.Encode(nil)
}

// TestGarbageFromServer (SCENARIO 15): a server that garbles its frames
// after (or during) the handshake makes the client drop it and move to the
// next server of its list, a real one, where it works; nothing panics. A
// reply known to be a call's and that cannot be read (its body cut short,
// or a frame over the size limit) fails that call with ErrMarshallingError,
// which is not retried as a mere connection loss; garbage that cannot be
// told to be any call's reply ends the connection, and the safe call is
// retried on the real server.
func TestGarbageFromServer(t *testing.T) {
	afterHandshake := func(send func(nc net.Conn, br *bufio.Reader) error) misbehave {
		return func(nc net.Conn, br *bufio.Reader, handshake func() error) {
			if handshake() != nil {
				return
			}
			_ = send(nc, br)
			// Stay open, silent: the client must leave on its own.
			_, _ = br.ReadBytes(0xff)
		}
	}
	write := func(b []byte) func(nc net.Conn, br *bufio.Reader) error {
		return func(nc net.Conn, _ *bufio.Reader) error { _, err := nc.Write(b); return err }
	}
	// replyTo answers the first request with what make builds from its xid.
	replyTo := func(make func(xid int32) []byte) func(nc net.Conn, br *bufio.Reader) error {
		return func(nc net.Conn, br *bufio.Reader) error {
			xid, err := readRequestXid(br)
			if err != nil {
				return err
			}
			_, err = nc.Write(make(xid))
			return err
		}
	}
	// reply answers the first request with b.
	reply := func(b []byte) func(nc net.Conn, br *bufio.Reader) error {
		return replyTo(func(int32) []byte { return b })
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(rnd.UintN(256))
	}

	cases := []struct {
		name string
		act  misbehave
		// want is what the first call, made on the garbling server, gets:
		// nil when it succeeds on the real server.
		want error
	}{
		{"NegativeLength", afterHandshake(reply([]byte{0xff, 0xff, 0xff, 0xfe, 1, 2, 3})), nil},
		{"HugeLength", afterHandshake(reply([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3})), core.ErrMarshallingError},
		// The noise starts with a length far over the limit.
		{"RandomBytes", afterHandshake(reply(noise)), core.ErrMarshallingError},
		{"ShortReplyHeader", afterHandshake(reply(frameB([]byte{0, 0, 0, 1, 0, 0}))), nil},
		{"UnsolicitedReply", afterHandshake(reply(frameB(replyHeaderB(4242, 1, 0)))), nil},
		{"WrongXid", afterHandshake(replyTo(func(xid int32) []byte {
			return frameB(append(replyHeaderB(xid+7, 1, 0), make([]byte, 80)...))
		})), nil},
		{"TruncatedReplyBody", afterHandshake(replyTo(func(xid int32) []byte {
			return frameB(append(replyHeaderB(xid, 1, 0), 0, 0))
		})), core.ErrMarshallingError},
		// The server closes the connection in the middle of a frame: the
		// frame is lost with the connection, and the call is retried.
		{"TruncatedFrame", func(nc net.Conn, br *bufio.Reader, handshake func() error) {
			if handshake() == nil {
				_, _ = nc.Write([]byte{0, 0, 0, 100, 0, 0, 0, 1, 0, 0})
			}
		}, nil},
		// A watch event is no call's reply.
		{"TruncatedWatchEvent", afterHandshake(write(frameB(append(replyHeaderB(-1, 1, 0), 0, 0, 0, 3, 0)))), nil},
		{"GarbledConnectResponse", func(nc net.Conn, br *bufio.Reader, _ func() error) {
			if _, err := proto.ReadFrame(br, nil, 1<<20); err == nil {
				_, _ = nc.Write(frameB([]byte{0, 0, 0, 0, 0, 0}))
			}
		}, nil},
		{"ClosedInHandshake", func(nc net.Conn, br *bufio.Reader, _ func() error) {
			_, _ = proto.ReadFrame(br, nil, 1<<20)
		}, nil},
	}
	real := zktest.Shared(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The real server is kept out until the fake has the client.
			spy := newWireSpy()
			spy.setRefuse(real.Addr(), true)
			fake := startGarbageServer(t, tc.act, func() { spy.setRefuse(real.Addr(), false) })
			root := chrootB(t, real.ConnString())
			admin := startClientB(t, real.ConnString(), core.WithChroot(root))
			ctx := ctxB(t, waitB)
			_, err := admin.Create(ctx, "/n", []byte("real"))
			require.NoError(t, err)

			// No chroot: Start sends no request, so the first request the
			// fake reads is the test's first call.
			c := newClientB(t, fake.addr()+","+real.Addr(), core.WithDialer(spy.dialer()))
			require.NoError(t, c.Start(ctx))

			data, err := c.GetData(ctx, root+"/n")
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.NotErrorIs(t, err, core.ErrConnectionLoss, "not a mere loss")
				require.Contains(t, err.Error(), "get "+root+"/n", "the error names the call")
				data, err = c.GetData(ctx, root+"/n")
			}
			require.NoError(t, err)
			require.Equal(t, []byte("real"), data)
			waitStateB(t, c, core.StateConnected)

			dials := spy.dialLog()
			require.Equal(t, fake.addr(), dials[countPrefixB(dials, real.Addr())], "the fake came first: %v", dials)
			cons, err := real.FourLetter(ctx, "cons")
			require.NoError(t, err)
			require.Contains(t, cons, fmt.Sprintf("sid=0x%x", c.Session().ID()), "the client is on the real server")
			select {
			case <-fake.served:
			case <-ctx.Done():
				t.Fatal("the fake's connection is still open")
			}
		})
	}
}

// TestGarbageReplyFailsItsCallerOnly: of two calls in flight, the one
// whose reply cannot be decoded fails with ErrMarshallingError; the other
// fails with connection loss, as the connection ends under it.
func TestGarbageReplyFailsItsCallerOnly(t *testing.T) {
	fake := startGarbageServer(t, func(nc net.Conn, br *bufio.Reader, handshake func() error) {
		if handshake() != nil {
			return
		}
		first, err := readRequestXid(br)
		if err != nil {
			return
		}
		if _, err := readRequestXid(br); err != nil {
			return
		}
		_, _ = nc.Write(frameB(append(replyHeaderB(first, 1, 0), 0, 0)))
		_, _ = br.ReadBytes(0xff)
	}, func() {})
	c := newClientB(t, fake.addr())
	ctx := ctxB(t, waitB)
	require.NoError(t, c.Start(ctx))

	// Sequential creates are not retried after a loss in flight, so each
	// call reports what its request met.
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Create(ctx, "/s-", nil, core.Sequential()) })
	}
	wg.Wait()
	marshalling, loss := 0, 0
	for _, err := range errs {
		switch {
		case errors.Is(err, core.ErrMarshallingError) && !errors.Is(err, core.ErrConnectionLoss):
			marshalling++
		case errors.Is(err, core.ErrConnectionLoss) && !errors.Is(err, core.ErrMarshallingError):
			loss++
		}
	}
	require.Equal(t, 1, marshalling, "one call met the bad reply: %v", errs)
	require.Equal(t, 1, loss, "the other lost its connection: %v", errs)
}

// countPrefixB counts the leading entries of list equal to s.
func countPrefixB(list []string, s string) int {
	n := 0
	for n < len(list) && list[n] == s {
		n++
	}
	return n
}

// TestGarbageEventPathNotAbsolute: a watch event whose path does not start
// with "/", which no real server sends, is dropped; the client goes on.
// Looking for the parents of such a path used to panic the reader.
func TestGarbageEventPathNotAbsolute(t *testing.T) {
	for _, path := range []string{"x", "a/b", "abc/"} {
		t.Run(path, func(t *testing.T) {
			fake := startGarbageServer(t, answerFirst(func(xid int32) [][]byte {
				ev := proto.WatcherEvent{Type: proto.EventNodeCreated, State: 3, Path: path}
				return [][]byte{
					frameB(ev.Encode(replyHeaderB(proto.XidNotification, -1, 0))),
					frameB(replyHeaderB(xid, 1, int32(core.CodeNoNode))),
				}
			}), func() {})
			c := startClientB(t, fake.addr())
			ok, err := c.Exists(ctxB(t, waitB), "/n")
			require.NoError(t, err)
			require.False(t, ok)
		})
	}
}

// TestGarbageMultiResultOfTheWrongType: a reply to a MultiRead whose result
// does not answer the read it stands for (a setData result for a getData)
// is a malformed reply: the call fails with ErrMarshallingError rather than
// return a result without data or Stat, and the connection ends.
func TestGarbageMultiResultOfTheWrongType(t *testing.T) {
	fake := startGarbageServer(t, answerFirst(func(xid int32) [][]byte {
		return [][]byte{frameB(proto.EncodeMultiResponse(replyHeaderB(xid, 1, 0), []proto.MultiResult{{Op: proto.OpSetData}}))}
	}), func() {})
	c := newClientB(t, fake.addr())
	ctx := ctxB(t, waitB)
	require.NoError(t, c.Start(ctx))
	states := listenB(t, c)

	results, err := c.MultiRead(ctx, core.ReadData("/n"))
	require.ErrorIs(t, err, core.ErrMarshallingError, "results %+v", results)
	waitCountB(t, states, core.StateSuspended, 1)
}

// answerFirst is a fake server that, after the handshake, answers the
// first request with the frames made from its xid, one write each, and
// then stays open and silent.
func answerFirst(frames func(xid int32) [][]byte) misbehave {
	return func(nc net.Conn, br *bufio.Reader, handshake func() error) {
		if handshake() != nil {
			return
		}
		xid, err := readRequestXid(br)
		if err != nil {
			return
		}
		for _, f := range frames(xid) {
			if _, err := nc.Write(f); err != nil {
				return
			}
		}
		_, _ = br.ReadBytes(0xff)
	}
}
