//go:build unix

package harness

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time of the whole process,
// and its context switches, voluntary or not.
func processCPU() (user, sys time.Duration, ctxsw uint64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), uint64(ru.Nvcsw + ru.Nivcsw)
}
