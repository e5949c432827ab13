package core

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, _ := ln.Accept()
		accepted <- nc
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() {
		_ = client.Close()
		_ = server.Close()
	})
	return client, server
}

// slotsFor returns places for blocking waits in a process with procs
// procs, at most max of them.
func slotsFor(max int32, procs int) *readSlots {
	return &readSlots{max: max, procs: func() int { return procs }}
}

func requireBlockingReads(t *testing.T) {
	if !canBlockRead {
		t.Skip("blocking reads are Linux only")
	}
}

// A blocking read returns what the peer sends, fails with the poller's
// deadline error once its deadline passes, and reports the peer's close
// as EOF; the network poller takes the reads back after endBlocking.
func TestSockReaderBlockingRead(t *testing.T) {
	requireBlockingReads(t)
	client, server := tcpPair(t)
	slots := slotsFor(1, 2)
	s := newSockReaderSlots(client, slots)
	buf := make([]byte, 16)

	require.True(t, s.blockUntil(time.Now().Add(20*time.Millisecond)))
	_, err := s.Read(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	s.endBlocking()

	require.True(t, s.blockUntil(time.Now().Add(time.Minute)))
	go func() {
		time.Sleep(5 * time.Millisecond)
		_, _ = server.Write([]byte("reply"))
	}()
	n, err := s.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(buf[:n]))
	s.endBlocking()
	assert.Zero(t, slots.n.Load(), "endBlocking gave its place back")

	require.True(t, s.blockUntil(time.Now().Add(time.Minute)))
	require.NoError(t, server.Close())
	_, err = s.Read(buf)
	require.ErrorIs(t, err, io.EOF)
	s.endBlocking()

	// Back in the network poller, the connection's own deadline applies.
	require.NoError(t, client.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err = s.Read(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// Closing the connection the way a failing connection does wakes a read
// waiting in a blocking poll at once: it ends with EOF, not at its
// deadline a minute later.
func TestSockReaderCloseWakesBlockedRead(t *testing.T) {
	requireBlockingReads(t)
	client, _ := tcpPair(t)
	s := newSockReaderSlots(client, slotsFor(1, 2))
	require.True(t, s.blockUntil(time.Now().Add(time.Minute)))
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 16))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the read reach its poll
	require.NoError(t, closeSocket(client))
	err := <-done
	// EOF from the shut reading side; had the close come before the read
	// began, the read finds the connection closed.
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed), "read ended with %v", err)
	s.endBlocking()
}

// A frame cut in two by the deadline of a blocking wait is finished
// whole by the network poller: nothing read is lost.
func TestSockReaderFrameAcrossDeadline(t *testing.T) {
	requireBlockingReads(t)
	client, server := tcpPair(t)
	s := newSockReaderSlots(client, slotsFor(1, 2))
	frames := newFrameReader(bufio.NewReaderSize(s, 64), 1<<20)
	body := []byte("a frame cut in two by a deadline")
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	frame = append(frame, body...)

	_, err := server.Write(frame[:10])
	require.NoError(t, err)
	require.True(t, s.blockUntil(time.Now().Add(30*time.Millisecond)))
	_, err = frames.next()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	s.endBlocking()

	_, err = server.Write(frame[10:])
	require.NoError(t, err)
	require.NoError(t, client.SetReadDeadline(time.Now().Add(time.Minute)))
	got, err := frames.next()
	require.NoError(t, err)
	assert.Equal(t, string(body), string(got))
}

// No more readers than the slots allow wait in a blocking poll at once;
// a place given back is taken again.
func TestSockReaderSlotsBounded(t *testing.T) {
	requireBlockingReads(t)
	slots := slotsFor(2, 16)
	var readers []*sockReader
	for range 3 {
		client, _ := tcpPair(t)
		readers = append(readers, newSockReaderSlots(client, slots))
	}
	deadline := time.Now().Add(time.Second)
	require.True(t, readers[0].blockUntil(deadline))
	require.True(t, readers[1].blockUntil(deadline))
	assert.False(t, readers[2].blockUntil(deadline), "a third reader waits in the network poller")
	readers[0].endBlocking()
	assert.True(t, readers[2].blockUntil(deadline))
	readers[1].endBlocking()
	readers[2].endBlocking()
	assert.Zero(t, slots.n.Load())
}

// The waits never take all the procs, counted at each wait, as
// GOMAXPROCS may change while the program runs: with one proc, none.
func TestSockReaderLeavesAProc(t *testing.T) {
	requireBlockingReads(t)
	client, _ := tcpPair(t)
	procs := 3
	slots := &readSlots{max: 8, procs: func() int { return procs }}
	a := newSockReaderSlots(client, slots)
	b := newSockReaderSlots(client, slots)
	c := newSockReaderSlots(client, slots)
	deadline := time.Now().Add(time.Second)
	require.True(t, a.blockUntil(deadline))
	require.True(t, b.blockUntil(deadline))
	assert.False(t, c.blockUntil(deadline), "the third proc is left to the program")
	a.endBlocking()
	b.endBlocking()

	procs = 1
	assert.False(t, a.blockUntil(deadline), "with one proc, nobody waits in a blocking poll")
	assert.Zero(t, slots.n.Load())
}

// Connections other than the standard library's TCP and Unix ones, even
// those embedding one, never read around their own Read method.
func TestSockReaderOnlyStandardConns(t *testing.T) {
	client, _ := tcpPair(t)
	type wrapped struct{ *net.TCPConn }
	w := newSockReaderSlots(wrapped{client.(*net.TCPConn)}, slotsFor(1, 2))
	assert.False(t, w.blockUntil(time.Now().Add(time.Second)))
	plain := newSockReaderSlots(client, slotsFor(1, 2))
	assert.Equal(t, canBlockRead, plain.blockUntil(time.Now().Add(time.Second)))
	plain.endBlocking()
}
