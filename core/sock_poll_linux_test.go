package core

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A signal to the thread during the held part of a blocking wait (the
// runtime's preemption) sends the rest of the wait through the scheduler.
func TestSockReaderSignalEndsHeldWait(t *testing.T) {
	requireBlockingReads(t)
	client, _ := tcpPair(t)
	s := newSockReaderSlots(client, slotsFor(1, 2))
	s.heldFor = time.Hour // held until a signal comes
	require.True(t, s.blockUntil(time.Now().Add(300*time.Millisecond)))
	tids := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- syscall.Gettid()
		_, err := s.Read(make([]byte, 16))
		done <- err
	}()
	tid := <-tids
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-time.After(time.Millisecond):
			// SIGURG is the runtime's own preemption signal.
			_ = syscall.Tgkill(syscall.Getpid(), tid, syscall.SIGURG)
		}
	}
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Zero(t, s.heldUntil, "the signal ended the held part")
	s.endBlocking()
}

// Closing the connection wakes a wait in its held part at once (it would
// otherwise last its whole minute).
func TestSockReaderCloseWakesHeldWait(t *testing.T) {
	client, _ := tcpPair(t)
	s := newSockReaderSlots(client, slotsFor(1, 2))
	s.heldFor = time.Hour
	require.True(t, s.blockUntil(time.Now().Add(time.Minute)))
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 16))
		done <- err
	}()
	// Let the read reach its poll, but not run 10 ms, after which the
	// runtime would preempt it and end the held part.
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, closeSocket(client))
	err := <-done
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed), "read ended with %v", err)
	s.endBlocking()
}

// After waitBeforeRead a blocking read waits for the socket first, so a
// reply that comes later costs one read system call fewer: no read fails
// with EAGAIN before the wait. Nor does one follow a wait whose held part
// ended with nothing come. The reads are counted in the thread's own
// /proc io file, the read being made on a locked thread.
func TestSockReaderWaitBeforeRead(t *testing.T) {
	requireBlockingReads(t)
	readFirst := blockingReadCalls(t, false, 0, 0)
	waitFirst := blockingReadCalls(t, true, 0, 0)
	assert.Equal(t, readFirst-1, waitFirst, "read system calls: %d reading first, %d waiting first", readFirst, waitFirst)
	// The reply comes 20 ms after the read started waiting, long after
	// the held part (1 ms) ended.
	heldOver := blockingReadCalls(t, true, time.Millisecond, 20*time.Millisecond)
	assert.Equal(t, waitFirst, heldOver, "read system calls: %d with a reply in the held wait, %d after it", waitFirst, heldOver)
}

// blockingReadCalls counts the read system calls of one blocking read,
// waiting first or not, with its waits held for held, of a reply written
// delay after the reading thread started waiting in its poll; plus a
// constant of the count's own.
func blockingReadCalls(t *testing.T, waitFirst bool, held, delay time.Duration) int {
	if _, err := threadReadCalls(); err != nil {
		t.Skipf("no per-thread io counters: %v", err)
	}
	client, server := tcpPair(t)
	s := newSockReaderSlots(client, slotsFor(1, 2))
	s.heldFor = held
	require.True(t, s.blockUntil(time.Now().Add(time.Minute)))
	defer s.endBlocking()
	if waitFirst {
		s.waitBeforeRead()
	}
	type result struct {
		n, reads int
		err      error
	}
	tids := make(chan int, 1)
	done := make(chan result, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- syscall.Gettid()
		before, err := threadReadCalls()
		if err != nil {
			done <- result{err: err}
			return
		}
		n, err := s.Read(make([]byte, 16))
		after, cerr := threadReadCalls()
		done <- result{n, after - before, errors.Join(err, cerr)}
	}()
	// Should the test end early, the read must end before endBlocking
	// runs: closing the socket wakes its poll.
	defer func() {
		select {
		case <-exited:
		default:
			_ = closeSocket(client)
			<-exited
		}
	}()
	waitInPoll(t, <-tids)
	time.Sleep(delay)
	_, err := server.Write([]byte("reply"))
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, 5, r.n)
	return r.reads
}

// waitInPoll returns once thread tid of this process is blocked in ppoll.
func waitInPoll(t *testing.T, tid int) {
	t.Helper()
	file := fmt.Sprintf("/proc/self/task/%d/syscall", tid)
	want := strconv.Itoa(syscall.SYS_PPOLL)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Skipf("cannot tell the thread's system call: %v", err)
		}
		if f := strings.Fields(string(b)); len(f) > 0 && f[0] == want {
			return
		}
	}
	t.Fatal("the reading thread never waited in ppoll")
}

// threadReadCalls returns the read system calls the calling thread has
// made (syscr of /proc/thread-self/io).
func threadReadCalls() (int, error) {
	b, err := os.ReadFile("/proc/thread-self/io")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("no syscr in /proc/thread-self/io")
}

// ThreadReadCalls lets the external tests count the read system calls of
// a locked thread.
var ThreadReadCalls = threadReadCalls
