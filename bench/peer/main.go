// Command peer runs benchmark jobs with github.com/go-zookeeper/zk, the
// client zkit is compared with. The zkit benchmark (go run ./bench) starts
// it as a subprocess: it reads one job as JSON on stdin and writes the
// result as JSON on stdout, measured by the same harness as zkit.
//
// It lives in its own module so that zkit's go.mod never names its peers.
// For the same reason its tests hold the interop test of zkit's lock
// against go-zookeeper's Lock, on a real server.
package main

import (
	"os"

	"github.com/zkit-go/zkit/bench/internal/harness"
)

func main() { os.Exit(harness.Serve(driver{}, nil)) }
