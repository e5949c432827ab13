package core

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
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
