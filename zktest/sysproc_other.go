//go:build unix && !linux

package zktest

import "syscall"

// testNoPdeathsig has no effect where there is no Pdeathsig: the watchdog
// alone kills orphaned JVMs.
var testNoPdeathsig bool

func jvmSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
