package core

import (
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// canBlockRead says that connections with a file descriptor may wait for
// a reply in a blocking poll (sock_reader.go).
const canBlockRead = true

// pollFD is Linux's struct pollfd.
type pollFD struct {
	fd      int32
	events  int16
	revents int16
}

const pollIn = 0x1

// readRaw is the callback of a blocking read: it reads the socket,
// waiting in ppoll while nothing is there, until s.until. A read error
// comes back as an *os.SyscallError, the end of the stream as io.EOF,
// and the deadline (or a failed wait) as os.ErrDeadlineExceeded.
func (s *sockReader) readRaw(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), s.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
		case err != nil:
			s.n, s.err = 0, os.NewSyscallError("read", err)
			return true
		case n == 0:
			s.n, s.err = 0, io.EOF
			return true
		default:
			s.n, s.err = n, nil
			return true
		}
		left := s.until - monoNow()
		if left <= 0 {
			s.n, s.err = 0, os.ErrDeadlineExceeded
			return true
		}
		if err := waitReadable(fd, time.Duration(left)); err != nil {
			// The wait failed, not the socket: end it as if its deadline
			// had passed, so the network poller takes over.
			s.n, s.err = 0, os.ErrDeadlineExceeded
			return true
		}
	}
}

// waitReadable blocks the thread in ppoll until fd is readable, or
// timeout passes, or a signal interrupts it.
func waitReadable(fd uintptr, timeout time.Duration) error {
	pfd := pollFD{fd: int32(fd), events: pollIn}
	ts := syscall.NsecToTimespec(int64(timeout))
	_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if errno != 0 && errno != syscall.EINTR {
		return errno
	}
	return nil
}

// pause blocks the thread for d, as the reader goroutine gathering replies
// (gather.go), and reports whether it did: not when enough threads wait
// in a blocking poll already. A signal may end it early.
func (s *sockReader) pause(d time.Duration) bool {
	if !s.slots.take() {
		return false
	}
	defer s.slots.give()
	ts := syscall.NsecToTimespec(int64(d))
	// ppoll on no descriptors: the thread sleeps in the system call and
	// keeps its P until the scheduler takes it back, so the pause costs
	// no trip through the scheduler's timers and idle path.
	_, _, _ = syscall.Syscall6(syscall.SYS_PPOLL, 0, 0, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return true
}
