//go:build unix

package zktest

import (
	"errors"
	"os"
	"syscall"
)

// lockPort takes port p's byte of the shared lock file f, without waiting,
// and reports whether it got it. Without a lock file every port is free.
func lockPort(f *os.File, p int) bool {
	if f == nil {
		return true
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: int64(p), Len: 1}
	return syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk) == nil
}

func unlockPort(f *os.File, p int) {
	if f == nil {
		return
	}
	lk := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: 0, Start: int64(p), Len: 1}
	_ = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
}

// processGone reports whether no process has the id pid.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// canStartServers is nil: servers start here.
func canStartServers() error { return nil }
