package zktest

import "syscall"

// testNoPdeathsig lets a test check that the watchdog alone suffices.
var testNoPdeathsig bool

func jvmSysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if !testNoPdeathsig {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}
