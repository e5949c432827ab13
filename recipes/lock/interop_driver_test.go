package lock_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The interop tests contend with the real Apache Curator (Java) and kazoo
// (Python) on a real server. Each library runs in a driver process of its
// own (testdata/interop), which takes one command per line on stdin:
//
//	new <id> <kind> <path> [<leases>]  a participant with a session of its own:
//	                                   kind is mutex, read, write or semaphore
//	acquire <id>                       take the lock (in the participant's thread)
//	release <id>                       give it back
//	loop <id> <rounds> <guard>         rounds of: acquire, create the ephemeral
//	                                   node guard, write the library's name into
//	                                   the node guard+"-last", sleep 1 ms,
//	                                   delete guard, release
//	quit                               (or the end of stdin) ends the driver
//
// and answers with one event per line on stdout: "<id> ready <session hex>",
// "<id> acquired", "<id> released", "<id> looped <rounds> <violations>" or
// "<id> error <text>". A violation is a guard that another holder had
// created, or deleted: two holders at once.
//
// When Java with Curator's jars, or Python with kazoo, is missing, the
// tests fail with a line that says how to install them (make test runs
// scripts/interop.sh, which installs them on Debian); ZKIT_INTEROP=skip
// skips them instead.

// curatorJars are the jars the Curator driver needs, as Debian installs them
// (libcurator-recipes-java); ZKIT_CURATOR_JARS names another directory.
var curatorJars = []string{
	"curator-client.jar", "curator-framework.jar", "curator-recipes.jar", "guava.jar",
	"zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-nop.jar",
}

// interopMissing fails the test, or skips it under ZKIT_INTEROP=skip.
func interopMissing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("ZKIT_INTEROP") == "skip" {
		t.Skipf("%s: skipped (ZKIT_INTEROP=skip)", msg)
	}
	t.Fatalf("%s: run bash scripts/interop.sh, or set ZKIT_INTEROP=skip to skip the interop tests", msg)
}

// startCurator compiles the Curator driver and starts it against servers.
func startCurator(t *testing.T, servers string) *driver {
	t.Helper()
	dir := os.Getenv("ZKIT_CURATOR_JARS")
	if dir == "" {
		dir = "/usr/share/java"
	}
	var cp []string
	for _, jar := range curatorJars {
		p := filepath.Join(dir, jar)
		if _, err := os.Stat(p); err != nil {
			interopMissing(t, "Curator: no %s", p)
		}
		cp = append(cp, p)
	}
	javac, err := exec.LookPath("javac")
	if err != nil {
		interopMissing(t, "Curator: no javac (a JDK)")
	}
	// Run the java of the JDK that compiles, whatever else is on PATH.
	if real, err := filepath.EvalSymlinks(javac); err == nil {
		javac = real
	}
	java := filepath.Join(filepath.Dir(javac), "java")
	classes := t.TempDir()
	build := exec.Command(javac, "-nowarn", "-d", classes, "-cp", strings.Join(cp, ":"), "testdata/interop/CuratorDriver.java")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("compiling the Curator driver: %v\n%s", err, out)
	}
	cp = append(cp, classes)
	return startDriver(t, "curator", exec.Command(java, "-cp", strings.Join(cp, ":"), "CuratorDriver", servers))
}

// startKazoo starts the kazoo driver against servers.
func startKazoo(t *testing.T, servers string) *driver {
	t.Helper()
	python := os.Getenv("ZKIT_PYTHON")
	if python == "" {
		// Debian's python3-kazoo lives in the system interpreter's packages.
		python = "/usr/bin/python3"
	}
	if out, err := exec.Command(python, "-c", "import kazoo").CombinedOutput(); err != nil {
		interopMissing(t, "kazoo: %s cannot import kazoo: %v %s", python, err, bytes.TrimSpace(out))
	}
	return startDriver(t, "kazoo", exec.Command(python, "-u", "testdata/interop/kazoo_driver.py", servers))
}

// driver is a running driver process.
type driver struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu     sync.Mutex
	events map[string]chan string // by participant
	ids    int

	stderr bytes.Buffer  // written by exec's copier until Wait returns
	read   chan struct{} // closed when stdout is read to its end
}

func startDriver(t *testing.T, name string, cmd *exec.Cmd) *driver {
	t.Helper()
	d := &driver{t: t, name: name, cmd: cmd, events: map[string]chan string{}, read: make(chan struct{})}
	cmd.Stderr = &d.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.stdin = stdin
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the %s driver: %v", name, err)
	}
	go d.readEvents(stdout)
	t.Cleanup(d.stop)
	return d
}

// readEvents hands each event line to its participant's channel until the
// process closes stdout.
func (d *driver) readEvents(stdout io.Reader) {
	defer close(d.read)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		id, event, _ := strings.Cut(sc.Text(), " ")
		d.mu.Lock()
		ch := d.events[id]
		d.mu.Unlock()
		if ch == nil {
			ch = d.channel(id)
		}
		select {
		case ch <- event:
		default:
			// More than the test can have asked for: keep reading, the
			// missing event fails the test that waits for it.
		}
	}
}

func (d *driver) channel(id string) chan string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.events[id] == nil {
		d.events[id] = make(chan string, 64)
	}
	return d.events[id]
}

// stop asks the driver to quit, and kills it if it does not.
func (d *driver) stop() {
	_, _ = io.WriteString(d.stdin, "quit\n")
	_ = d.stdin.Close()
	select {
	case <-d.read:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.read
	}
	_ = d.cmd.Wait()
	if d.t.Failed() {
		d.t.Logf("%s driver stderr:\n%s", d.name, d.stderr.String())
	}
}

func (d *driver) send(format string, args ...any) {
	d.t.Helper()
	if _, err := fmt.Fprintf(d.stdin, format+"\n", args...); err != nil {
		d.t.Fatalf("%s driver: %v", d.name, err)
	}
}

// participant is one contender of the driver's library, with a session of
// its own.
type participant struct {
	d       *driver
	id      string
	session int64
	events  chan string
}

// join makes a participant of kind (mutex, read, write or semaphore) on
// path; args are kind's extra arguments.
func (d *driver) join(kind, path string, args ...string) *participant {
	d.t.Helper()
	d.mu.Lock()
	d.ids++
	id := d.name + strconv.Itoa(d.ids)
	d.mu.Unlock()
	p := &participant{d: d, id: id, events: d.channel(id)}
	d.send("new %s %s %s %s", id, kind, path, strings.Join(args, " "))
	hex, ok := strings.CutPrefix(p.next(), "ready ")
	if !ok {
		d.t.Fatalf("%s: not ready", id)
	}
	s, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		d.t.Fatalf("%s: bad session %q", id, hex)
	}
	p.session = int64(s)
	return p
}

// next waits for the participant's next event; an error event fails the
// test. Events the driver sent before it ended come first.
func (p *participant) next() string {
	p.d.t.Helper()
	select {
	case ev := <-p.events:
		return p.check(ev)
	case <-p.d.read:
		select {
		case ev := <-p.events:
			return p.check(ev)
		default:
		}
		p.d.t.Fatalf("%s: the %s driver ended", p.id, p.d.name)
	case <-testCtx(p.d.t).Done():
		p.d.t.Fatalf("%s: gave up waiting for an event", p.id)
	}
	return ""
}

func (p *participant) check(ev string) string {
	p.d.t.Helper()
	if strings.HasPrefix(ev, "error ") {
		p.d.t.Fatalf("%s: %s", p.id, ev)
	}
	return ev
}

// expect waits for the participant's next event and fails the test unless
// it is want.
func (p *participant) expect(want string) {
	p.d.t.Helper()
	if got := p.next(); got != want {
		p.d.t.Fatalf("%s: %q, want %q", p.id, got, want)
	}
}

// quiet fails the test if the participant has reported anything more.
func (p *participant) quiet(what string) {
	p.d.t.Helper()
	select {
	case ev := <-p.events:
		p.d.t.Fatalf("%s: %q while %s", p.id, ev, what)
	default:
	}
}

func (p *participant) acquire() { p.d.send("acquire %s", p.id) }

// release gives the lock back and waits until it is.
func (p *participant) release() {
	p.d.t.Helper()
	p.d.send("release %s", p.id)
	p.expect("released")
}

// loop starts rounds of acquire, guard, release; looped collects them.
func (p *participant) loop(rounds int, guard string) {
	p.d.send("loop %s %d %s", p.id, rounds, guard)
}

// looped waits for the loop's end and returns its violations.
func (p *participant) looped(rounds int) int {
	p.d.t.Helper()
	var n, violations int
	if _, err := fmt.Sscanf(p.next(), "looped %d %d", &n, &violations); err != nil || n != rounds {
		p.d.t.Fatalf("%s: loop did not end well (%v, %d rounds)", p.id, err, n)
	}
	return violations
}
