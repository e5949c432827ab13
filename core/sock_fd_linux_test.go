package core

import (
	"bytes"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ownSocket takes a TCP connection out of the runtime's network poller:
// its descriptor was in the poller's epoll set before, the new one is not,
// and bytes still go both ways.
func TestOwnSocketLeavesThePoller(t *testing.T) {
	client, server := tcpPair(t)
	sock := socketInode(t, descriptor(t, client))
	require.True(t, polledByRuntime(t, sock), "the runtime's poller watches a fresh connection")

	owned := ownSocket(client)
	fc, ok := owned.(*fdConn)
	require.True(t, ok, "a TCP connection is taken over, got %T", owned)
	t.Cleanup(func() { _ = fc.Close() })
	require.Equal(t, sock, socketInode(t, fc.fd), "the same socket")
	assert.False(t, polledByRuntime(t, sock), "the poller no longer watches the socket")
	assert.Equal(t, client.LocalAddr(), fc.LocalAddr())
	assert.Equal(t, client.RemoteAddr(), fc.RemoteAddr())

	_, err := fc.Write([]byte("ping"))
	require.NoError(t, err)
	got := make([]byte, 4)
	_, err = io.ReadFull(server, got)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got))

	_, err = server.Write([]byte("pong"))
	require.NoError(t, err)
	_, err = io.ReadFull(fc, got)
	require.NoError(t, err)
	assert.Equal(t, "pong", string(got))

	_ = server.Close()
	_, err = fc.Read(got)
	assert.ErrorIs(t, err, io.EOF, "the peer's close reads as the end of the stream")
}

// Anything but the standard library's own TCP and Unix connections stays
// as it is.
func TestOwnSocketLeavesWrappersAlone(t *testing.T) {
	client, _ := tcpPair(t)
	wrapped := struct{ net.Conn }{client}
	assert.Equal(t, net.Conn(wrapped), ownSocket(wrapped))
}

// Read and write deadlines end a wait with the poller's deadline error; a
// deadline cleared lets the next read wait for data.
func TestOwnSocketDeadlines(t *testing.T) {
	fc, server := ownedPair(t)
	buf := make([]byte, 16)

	require.NoError(t, fc.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, err := fc.Read(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())

	require.NoError(t, fc.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err = fc.Read(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a deadline already past fails at once")

	require.NoError(t, fc.SetReadDeadline(time.Time{}))
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = server.Write([]byte("late"))
	}()
	n, err := fc.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "late", string(buf[:n]))

	// The peer reads nothing: the socket's buffers fill and the write
	// waits until its deadline, having written part of it.
	require.NoError(t, fc.SetWriteDeadline(time.Now().Add(50*time.Millisecond)))
	big := make([]byte, 64<<20)
	n, err = fc.Write(big)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Positive(t, n)
	assert.Less(t, n, len(big))
}

// Close ends a read and a write that wait, which then report the
// connection closed; so does every call after it, and the descriptor is
// closed once they have all returned.
func TestOwnSocketCloseEndsWaits(t *testing.T) {
	fc, _ := ownedPair(t)
	reads := make(chan error, 1)
	writes := make(chan error, 1)
	go func() {
		_, err := fc.Read(make([]byte, 16))
		reads <- err
	}()
	go func() {
		_, err := fc.Write(make([]byte, 64<<20))
		writes <- err
	}()
	// Both have to be waiting: the write fills the buffers at once, the
	// read finds nothing.
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, fc.Close())
	assert.ErrorIs(t, <-reads, net.ErrClosed)
	assert.ErrorIs(t, <-writes, net.ErrClosed)

	assert.Equal(t, int64(fdClosed), fc.state.Load(), "no call holds the descriptor")
	assert.ErrorIs(t, fc.Close(), net.ErrClosed)
	_, err := fc.Read(make([]byte, 1))
	assert.ErrorIs(t, err, net.ErrClosed)
	_, err = fc.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.ErrorIs(t, fc.SetDeadline(time.Now()), net.ErrClosed)
	assert.ErrorIs(t, fc.CloseRead(), net.ErrClosed)
}

// A blocking read of sockReader (a caller reading its own reply) works on
// an owned socket, and closing the socket ends its held wait.
func TestOwnSocketBlockingRead(t *testing.T) {
	requireBlockingReads(t)
	fc, server := ownedPair(t)
	s := newSockReaderSlots(fc, slotsFor(1, 2))
	require.NotNil(t, s.raw, "an owned socket can wait in a blocking poll")
	require.True(t, s.blockUntil(time.Now().Add(time.Minute)))
	go func() {
		time.Sleep(5 * time.Millisecond)
		_, _ = server.Write([]byte("reply"))
	}()
	buf := make([]byte, 16)
	n, err := s.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(buf[:n]))

	done := make(chan error, 1)
	go func() {
		_, err := s.Read(buf)
		done <- err
	}()
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, closeSocket(fc))
	assert.ErrorIs(t, <-done, net.ErrClosed)
	s.endBlocking()
}

func ownedPair(t *testing.T) (*fdConn, net.Conn) {
	t.Helper()
	client, server := tcpPair(t)
	fc, ok := ownSocket(client).(*fdConn)
	require.True(t, ok)
	t.Cleanup(func() { _ = fc.Close() })
	return fc, server
}

func descriptor(t *testing.T, nc net.Conn) int {
	t.Helper()
	raw, err := nc.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	fd := -1
	require.NoError(t, raw.Control(func(d uintptr) { fd = int(d) }))
	return fd
}

func socketInode(t *testing.T, fd int) uint64 {
	t.Helper()
	var st syscall.Stat_t
	require.NoError(t, syscall.Fstat(fd, &st))
	return st.Ino
}

// polledByRuntime reports whether an epoll set of the process (the
// runtime's network poller is the only one) watches the socket whose inode
// is ino, through any descriptor, as /proc/self/fdinfo lists the targets of
// each set.
func polledByRuntime(t *testing.T, ino uint64) bool {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	polls := 0
	for _, e := range entries {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || link != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		polls++
		for line := range bytes.Lines(info) {
			fields := strings.Fields(string(line))
			if len(fields) == 0 || fields[0] != "tfd:" {
				continue
			}
			for _, f := range fields {
				if hex, ok := strings.CutPrefix(f, "ino:"); ok && hex == strconv.FormatUint(ino, 16) {
					return true
				}
			}
		}
	}
	require.Positive(t, polls, "the runtime's epoll set is listed")
	return false
}
