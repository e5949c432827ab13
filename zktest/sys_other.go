//go:build !unix

package zktest

import (
	"errors"
	"os"
	"time"
)

// errNoLocalServers says why no server starts here: zktest runs and
// watches server processes with Unix process groups and signals.
var errNoLocalServers = errors.New("zktest: starting ZooKeeper servers needs a Unix system; set ZK_SERVERS=host:port to test against running servers")

func canStartServers() error { return errNoLocalServers }

// Ports are checked by binding them only: there is no lock shared between
// test binaries.
func lockPort(*os.File, int) bool { return true }

func unlockPort(*os.File, int) {}

// processGone is false, so that no other binary's directory is swept.
func processGone(int) bool { return false }

// jvm is never started here.
type jvm struct {
	done    chan struct{}
	waitErr error
}

func startJVM(java, dir, logPath string, args []string) (*jvm, error) {
	return nil, errNoLocalServers
}

func (j *jvm) kill()                    {}
func (j *jvm) stop(time.Duration) error { return nil }
