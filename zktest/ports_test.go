package zktest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestReservePortUnique(t *testing.T) {
	seen := make(map[int]bool)
	for range 50 {
		p, err := reservePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d reserved twice", p)
		}
		if p < lowestPort || p >= ephemeralLow() {
			t.Errorf("port %d is outside [%d, %d)", p, lowestPort, ephemeralLow())
		}
		seen[p] = true
	}
	for p := range seen {
		releasePort(p)
	}
}

const portChildEnv = "ZKTEST_PORT_CHILD"

// TestPortChild is the child of TestReservePortAcrossProcesses: it tries to
// lock the port it is given and prints whether it could.
func TestPortChild(t *testing.T) {
	env := os.Getenv(portChildEnv)
	if env == "" {
		return // only runs as a child
	}
	p, _ := strconv.Atoi(env)
	if _, err := reservePort(); err != nil { // opens the lock file
		t.Fatal(err)
	}
	fmt.Printf("locked=%v\n", lockPort(portRegistry.file, p))
}

// TestReservePortAcrossProcesses checks that another test binary cannot
// reserve a port this one holds, and can once it is released.
func TestReservePortAcrossProcesses(t *testing.T) {
	p, err := reservePort()
	if err != nil {
		t.Fatal(err)
	}
	child := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPortChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), portChildEnv+"="+strconv.Itoa(p))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, line := range strings.Fields(string(out)) {
			if v, ok := strings.CutPrefix(line, "locked="); ok {
				return v
			}
		}
		t.Fatalf("child said %q", out)
		return ""
	}
	if got := child(); got != "false" {
		t.Fatalf("another process locked reserved port %d", p)
	}
	releasePort(p)
	if got := child(); got != "true" {
		t.Fatalf("another process could not lock released port %d", p)
	}
}

// TestServerRetriesBusyPort gives the first start a port that something
// else listens on: the JVM fails with "Address already in use", and
// NewServer retries on fresh ports.
func TestServerRetriesBusyPort(t *testing.T) {
	busy, busyPort := listenBusy(t)
	first := true
	reserve = func() (int, error) {
		if first {
			first = false
			return busyPort, nil
		}
		return reservePort()
	}
	defer func() { reserve = reservePort }()

	s, err := NewServer(context.Background(), WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if first || s.Addr() == busy.Addr().String() {
		t.Fatalf("server on %s, busy port %d", s.Addr(), busyPort)
	}
	wantMode(t, s, ModeStandalone)
	log, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "Address already in use") {
		t.Fatal("the log shows no failed first start")
	}
}

// TestEnsembleRetriesBusyPortOfAnotherMember gives the second member of a
// two-server ensemble a client port that something else listens on. That
// member's JVM exits, while the first member waits for a quorum it cannot
// have without it: the start notices the exit at once, finds "Address
// already in use" in that member's log and retries on fresh ports, rather
// than waiting out its timeout on the first member.
func TestEnsembleRetriesBusyPortOfAnotherMember(t *testing.T) {
	busy, busyPort := listenBusy(t)
	calls := 0
	reserve = func() (int, error) {
		calls++
		if calls == 4 { // member 2's client port: after member 1's three
			return busyPort, nil
		}
		return reservePort()
	}
	defer func() { reserve = reservePort }()

	// Without noticing member 2's exit, the start would wait out its 60 s
	// on member 1 and fail, since member 1's log names no busy port.
	e, err := NewEnsemble(t.Context(), 2, WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if calls <= 6 {
		t.Fatalf("%d ports reserved: no retry on fresh ports", calls)
	}
	for _, s := range e.Servers() {
		if s.Addr() == busy.Addr().String() {
			t.Fatalf("member %s on the busy port", s.Addr())
		}
	}
}

// listenBusy listens on a free port of 127.0.0.1, which a server then
// cannot bind, until the test ends.
func listenBusy(t *testing.T) (net.Listener, int) {
	t.Helper()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	return busy, busy.Addr().(*net.TCPAddr).Port
}
