package zktest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Ports for servers are picked at random below the kernel's ephemeral range,
// so that they never clash with the local ports of outgoing connections, not
// even when a server restarts on the same ports after tests made thousands of
// connections. A port is reserved in two places: in this process, and with a
// POSIX record lock on byte <port> of one lock file shared by all processes,
// so that test binaries running in parallel never pick the same port. The
// kernel drops a process's record locks when it exits, however it exits.
var portRegistry struct {
	mu   sync.Mutex
	once sync.Once
	file *os.File // never closed: closing any descriptor drops the locks
	held map[int]bool
}

const lowestPort = 10000

// reservePort returns a port on 127.0.0.1 that is free now and reserved for
// this process until releasePort.
func reservePort() (int, error) {
	r := &portRegistry
	r.once.Do(func() {
		r.held = make(map[int]bool)
		r.file = openPortLocks()
	})
	r.mu.Lock()
	defer r.mu.Unlock()

	hi := ephemeralLow()
	if hi-lowestPort < 1000 {
		return reserveEphemeral(r.held)
	}
	for range 200 {
		p := lowestPort + rand.IntN(hi-lowestPort)
		if r.held[p] || !lockPort(r.file, p) {
			continue
		}
		if !canBind(p) {
			unlockPort(r.file, p)
			continue
		}
		r.held[p] = true
		return p, nil
	}
	return 0, errors.New("zktest: no free port found")
}

// reserveEphemeral is the fallback when the space below the ephemeral range
// is too small: the kernel picks the port.
func reserveEphemeral(held map[int]bool) (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("zktest: reserve port: %w", err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if !held[p] && lockPort(portRegistry.file, p) {
			held[p] = true
			return p, nil
		}
	}
	return 0, errors.New("zktest: no free port found")
}

func releasePort(p int) {
	r := &portRegistry
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held[p] {
		delete(r.held, p)
		unlockPort(r.file, p)
	}
}

func canBind(p int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// openPortLocks opens the file whose byte locks reserve ports across
// processes: one shared by every user's tests, or, when another user's
// file cannot be opened, one of this user's own. Without either, ports are
// still checked by binding them, and a warning says that parallel test
// binaries may collide.
func openPortLocks() *os.File {
	shared := filepath.Join(os.TempDir(), "zktest-ports.lock")
	f, err := os.OpenFile(shared, os.O_RDWR|os.O_CREATE, 0o666)
	if err == nil {
		_ = f.Chmod(0o666) // shared by every user's tests
		return f
	}
	own := filepath.Join(os.TempDir(), fmt.Sprintf("zktest-ports-%d.lock", os.Getuid()))
	f, err2 := os.OpenFile(own, os.O_RDWR|os.O_CREATE, 0o600)
	if err2 == nil {
		return f
	}
	fmt.Fprintf(os.Stderr, "zktest: warning: no port lock file (%v; %v): test binaries running in parallel may pick the same ports\n", err, err2)
	return nil
}

// ephemeralLow returns the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 49152 // IANA's range, used by macOS and the BSDs
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 49152
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n > 65535 {
		return 49152
	}
	return n
}
