//go:build !unix

package harness

import "time"

// processCPU is not measured on this platform.
func processCPU() (user, sys time.Duration, ctxsw uint64) { return 0, 0, 0 }
