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

const (
	pollIn  = 0x1
	pollOut = 0x4
)

// readRaw is the callback of a blocking read: it reads the socket,
// waiting in ppoll while nothing is there, until s.until. It reads only
// when the socket may hold something: not right after a request went out
// (waitBeforeRead), nor after a wait that ended with the socket still
// empty (its held part over, or a signal). A read error comes back as an
// *os.SyscallError, the end of the stream as io.EOF, and the deadline (or
// a failed wait) as os.ErrDeadlineExceeded.
func (s *sockReader) readRaw(fd uintptr) bool {
	read := !s.waitFirst
	s.waitFirst = false
	for {
		if read && s.readOnce(fd) {
			return true
		}
		now := monoNow()
		left := s.until - now
		if left <= 0 {
			s.n, s.err = 0, os.ErrDeadlineExceeded
			return true
		}
		held := s.heldUntil - now
		if held > 0 {
			left = min(left, held)
		}
		ready, interrupted, err := waitReadable(fd, time.Duration(left), held > 0)
		if interrupted {
			// The runtime signals a thread it wants back (to preempt
			// the goroutine, or stop the world): the rest of the wait
			// goes through the scheduler, which can then take the P.
			s.heldUntil = 0
		}
		if err != nil {
			// The wait failed, not the socket: end it as if its deadline
			// had passed, so the connection's own wait takes over.
			s.n, s.err = 0, os.ErrDeadlineExceeded
			return true
		}
		read = ready
	}
}

// readOnce reads the socket into s.buf without waiting, and reports
// whether it got a result: false when nothing was there (EAGAIN).
func (s *sockReader) readOnce(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), s.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			s.n, s.err = 0, os.NewSyscallError("read", err)
		case n == 0:
			s.n, s.err = 0, io.EOF
		default:
			s.n, s.err = n, nil
		}
		return true
	}
}

// waitReadable blocks the thread in ppoll until fd is readable or has
// failed (ready), or timeout passes, or a signal interrupts it
// (interrupted). A held wait is hidden from the scheduler (see
// sockReader).
func waitReadable(fd uintptr, timeout time.Duration, held bool) (ready, interrupted bool, err error) {
	pfd := pollFD{fd: int32(fd), events: pollIn}
	ts := syscall.NsecToTimespec(int64(timeout))
	switch errno := ppoll(&pfd, &ts, held); errno {
	case 0:
		return pfd.revents != 0, false, nil
	case syscall.EINTR:
		return false, true, nil
	default:
		return false, false, errno
	}
}

// ppoll waits on pfd (none when nil) for ts, in a system call held from
// the scheduler (a raw one) or not; pfd.revents tells what is ready. The
// pointers become addresses only in the system call's own argument list,
// where Go keeps what they point to in place.
func ppoll(pfd *pollFD, ts *syscall.Timespec, held bool) syscall.Errno {
	var nfds uintptr
	if pfd != nil {
		nfds = 1
	}
	var errno syscall.Errno
	if held {
		_, _, errno = syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(pfd)), nfds, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	} else {
		_, _, errno = syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(pfd)), nfds, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	}
	return errno
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
	// ppoll on no descriptors: the thread sleeps, held from the scheduler
	// when waits may be (a pause is never longer than heldWaitFor), so it
	// costs no trip through the scheduler's timers and idle path.
	_ = ppoll(nil, &ts, s.heldFor > 0 && d <= s.heldFor)
	return true
}
