package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkit-go/zkit/bench/internal/harness"
	"github.com/zkit-go/zkit/core/proto"
)

// taskWire drives the server through a raw pipelined connection: requests
// encoded once before the run, Job.Window of them in flight, nothing else on
// the client side. It shows what the server can do on this machine.
const taskWire = "wire"

// wireChunk is how many replies the reader collects before the writer sends
// as many new requests, in one write.
const wireChunk = 16

func init() { registerTask(taskWire, runWire) }

func runWire(ctx context.Context, _ harness.Driver, job harness.Job) (harness.Result, error) {
	window := max(job.Window/wireChunk, 1) * wireChunk
	nc, br, done, err := wireDial(ctx, job, 64<<10)
	if err != nil {
		return harness.Result{}, err
	}
	defer done()
	frames, err := wireFrames(job, window)
	if err != nil {
		return harness.Result{}, err
	}
	size := len(frames) / window

	var (
		failure  atomic.Pointer[error]
		ring     = make([]atomic.Int64, 2*window/wireChunk) // send time of each chunk in flight
		credits  = make(chan struct{}, window/wireChunk)
		sent     atomic.Int64 // chunks written
		writerWG sync.WaitGroup
	)
	fail := func(err error) {
		failure.CompareAndSwap(nil, &err)
		_ = nc.SetDeadline(time.Unix(1, 0))
	}
	write := func(n int) bool {
		now := time.Now().UnixNano()
		for i := range n / wireChunk {
			ring[(int(sent.Load())+i)%len(ring)].Store(now)
		}
		if _, err := nc.Write(frames[:n*size]); err != nil {
			fail(fmt.Errorf("write: %w", err))
			return false
		}
		sent.Add(int64(n / wireChunk))
		return true
	}
	r, err := harness.Measure(ctx, job, 1, func(ctx context.Context, _ int, l *harness.Loop) {
		if !write(window) {
			return
		}
		writerWG.Go(func() {
			for range credits {
				if !write(wireChunk) {
					return
				}
			}
		})
		var (
			buf      []byte
			dec      proto.Decoder
			received int64
		)
		read := func() bool {
			frame, err := proto.ReadFrame(br, buf, proto.DefaultMaxFrame)
			if err != nil {
				fail(fmt.Errorf("read: %w", err))
				return false
			}
			buf = frame[:0]
			dec.Reset(frame)
			var h proto.ReplyHeader
			h.Decode(&dec)
			t0 := time.Unix(0, ring[int(received/wireChunk)%len(ring)].Load())
			received++
			if h.Err != 0 {
				l.Done(t0, fmt.Errorf("server error code %d", h.Err))
			} else {
				l.Done(t0, nil)
			}
			return true
		}
		for l.Running() {
			if !read() {
				return
			}
			if received%wireChunk == 0 {
				credits <- struct{}{}
			}
		}
		close(credits)
		writerWG.Wait()
		for received < sent.Load()*wireChunk {
			if !read() {
				return
			}
		}
	})
	if p := failure.Load(); p != nil && err == nil {
		err = *p
	}
	if err == nil {
		err = wireClose(nc, br)
	}
	return r, err
}

// wireDial connects to the job's first server and opens a session. Until
// done is called, ctx's end unblocks every read and write on the
// connection; done closes it.
func wireDial(ctx context.Context, job harness.Job, bufSize int) (nc net.Conn, br *bufio.Reader, done func(), err error) {
	addr, _, _ := strings.Cut(job.Servers, ",")
	addr, _, _ = strings.Cut(addr, "/") // drop a chroot suffix
	var d net.Dialer
	if nc, err = d.DialContext(ctx, "tcp", addr); err != nil {
		return nil, nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	done = func() {
		stop()
		_ = nc.Close()
	}
	br = bufio.NewReaderSize(nc, bufSize)
	if err := wireHandshake(nc, br, job.SessionTimeout); err != nil {
		done()
		return nil, nil, nil, err
	}
	return nc, br, done, nil
}

// wireHandshake opens a session on a fresh connection.
func wireHandshake(nc net.Conn, br *bufio.Reader, timeout time.Duration) error {
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer nc.SetDeadline(time.Time{})
	req := proto.ConnectRequest{TimeoutMs: int32(timeout.Milliseconds())}
	b, start := proto.AppendFrameStart(nil)
	b = proto.FinishFrame(req.Encode(b), start)
	if _, err := nc.Write(b); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	frame, err := proto.ReadFrame(br, nil, proto.DefaultMaxFrame)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	var resp proto.ConnectResponse
	d := proto.NewDecoder(frame)
	resp.Decode(d)
	if d.Err() != nil || resp.TimeoutMs <= 0 {
		return fmt.Errorf("handshake refused (%v, timeout %d)", d.Err(), resp.TimeoutMs)
	}
	return nil
}

// wireFrames encodes window requests of the job's op back to back, all of
// one size.
func wireFrames(job harness.Job, window int) ([]byte, error) {
	data := make([]byte, job.DataSize)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	var out []byte
	for i := range window {
		var req proto.Request
		node := job.DataDir + "/" + harness.NodeName(i%max(job.Nodes, 1))
		switch job.Op {
		case harness.OpGet:
			req = &proto.PathWatchRequest{Op: proto.OpGetData, Path: node}
		case harness.OpSet:
			req = &proto.SetDataRequest{Path: node, Data: data, Version: -1}
		case harness.OpCreate:
			req = &proto.CreateRequest{Op: proto.OpCreate, Path: job.Root + "/n-", Data: data,
				ACL: []proto.ACL{{Perms: proto.PermAll, Scheme: "world", ID: "anyone"}}, Flags: proto.FlagEphemeralSequential}
		default:
			return nil, fmt.Errorf("wire: unknown op %q", job.Op)
		}
		var start int
		out, start = proto.AppendFrameStart(out)
		out = proto.RequestHeader{Xid: int32(i + 1), Opcode: req.Opcode()}.Encode(out)
		out = proto.FinishFrame(req.Encode(out), start)
	}
	if len(out)%window != 0 {
		return nil, errors.New("wire: frames of different sizes")
	}
	return out, nil
}

// wireClose closes the session, so its ephemeral nodes go at once.
func wireClose(nc net.Conn, br *bufio.Reader) error {
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	b, start := proto.AppendFrameStart(nil)
	b = proto.RequestHeader{Xid: 1 << 30, Opcode: proto.OpCloseSession}.Encode(b)
	if _, err := nc.Write(proto.FinishFrame(b, start)); err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	for {
		frame, err := proto.ReadFrame(br, nil, proto.DefaultMaxFrame)
		if err != nil {
			return nil // the server closes the connection after the reply
		}
		var h proto.ReplyHeader
		h.Decode(proto.NewDecoder(frame))
		if h.Xid == 1<<30 {
			return nil
		}
	}
}
