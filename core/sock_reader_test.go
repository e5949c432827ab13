package core

import (
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

// A blocking read returns what the peer sends, fails with the poller's
// deadline error once its deadline passes, and reports the peer's close
// as EOF; the network poller takes the reads back after endBlocking.
func TestSockReaderBlockingRead(t *testing.T) {
	if !canBlockRead {
		t.Skip("blocking reads are Linux only")
	}
	client, server := tcpPair(t)
	slots := &readSlots{max: 1}
	s := newSockReaderSlots(client, slots, 2)
	buf := make([]byte, 16)

	require.True(t, s.blockUntil(time.Now().Add(20*time.Millisecond)))
	_, err := s.Read(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	s.endBlocking()
	require.True(t, s.blockUntil(time.Now().Add(time.Second)))
	go func() {
		time.Sleep(5 * time.Millisecond)
		_, _ = server.Write([]byte("reply"))
	}()
	n, err := s.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(buf[:n]))
	s.endBlocking()
	assert.Zero(t, slots.n.Load(), "endBlocking gave its place back")

	require.True(t, s.blockUntil(time.Now().Add(time.Second)))
	require.NoError(t, server.Close())
	_, err = s.Read(buf)
	require.ErrorIs(t, err, io.EOF)
	s.endBlocking()

	// Back in the network poller, the connection's own deadline applies.
	require.NoError(t, client.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err = s.Read(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// No more readers than the slots allow wait in a blocking poll at once;
// a place given back is taken again.
func TestSockReaderSlotsBounded(t *testing.T) {
	if !canBlockRead {
		t.Skip("blocking reads are Linux only")
	}
	slots := &readSlots{max: 2}
	var readers []*sockReader
	for range 3 {
		client, _ := tcpPair(t)
		readers = append(readers, newSockReaderSlots(client, slots, 8))
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

// Connections other than the standard library's TCP and Unix ones, even
// those embedding one, never read around their own Read method.
func TestSockReaderOnlyStandardConns(t *testing.T) {
	client, _ := tcpPair(t)
	type wrapped struct{ *net.TCPConn }
	w := newSockReaderSlots(wrapped{client.(*net.TCPConn)}, &readSlots{max: 1}, 2)
	assert.False(t, w.blockUntil(time.Now().Add(time.Second)))
	plain := newSockReaderSlots(client, &readSlots{max: 1}, 2)
	assert.Equal(t, canBlockRead, plain.blockUntil(time.Now().Add(time.Second)))
	plain.endBlocking()
}

// With one proc, or with as many waits as procs but one, the next waits in
// the network poller: the rest of the program keeps a proc.
func TestSockReaderLeavesAProc(t *testing.T) {
	client, _ := tcpPair(t)
	one := newSockReaderSlots(client, &readSlots{max: 8}, 1)
	assert.False(t, one.blockUntil(time.Now().Add(time.Second)))
	if !canBlockRead {
		return
	}
	slots := &readSlots{max: 8}
	a := newSockReaderSlots(client, slots, 3)
	b := newSockReaderSlots(client, slots, 3)
	c := newSockReaderSlots(client, slots, 3)
	require.True(t, a.blockUntil(time.Now().Add(time.Second)))
	require.True(t, b.blockUntil(time.Now().Add(time.Second)))
	assert.False(t, c.blockUntil(time.Now().Add(time.Second)))
	a.endBlocking()
	b.endBlocking()
}
