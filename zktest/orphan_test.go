//go:build unix

package zktest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const orphanEnv = "ZKTEST_ORPHAN_CHILD"

// TestOrphanChild is the child of TestOrphanedJVMDies: it starts a server,
// prints the JVM's pid and waits to be killed.
func TestOrphanChild(t *testing.T) {
	mode := os.Getenv(orphanEnv)
	if mode == "" {
		return // only runs as a child
	}
	testNoPdeathsig = mode == "watchdog-only"
	s, err := NewServer(context.Background(), WithDir(os.Getenv(orphanEnv+"_DIR")))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("JVM %d\n", s.proc.cmd.Process.Pid)
	time.Sleep(time.Hour)
}

// TestOrphanedJVMDies kills a test binary that runs a server with SIGKILL,
// and checks that the JVM dies too: through Pdeathsig and the watchdog, and
// through the watchdog alone.
func TestOrphanedJVMDies(t *testing.T) {
	for _, mode := range []string{"default", "watchdog-only"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), orphanEnv+"="+mode, orphanEnv+"_DIR="+t.TempDir())
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := 0
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if f, ok := strings.CutPrefix(sc.Text(), "JVM "); ok {
					pid, _ = strconv.Atoi(f)
					break
				}
			}
			if pid == 0 {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatal("the child printed no JVM pid")
			}
			if !alive(pid) {
				t.Fatalf("JVM %d is not running", pid)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()

			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			for alive(pid) {
				select {
				case <-ctx.Done():
					_ = syscall.Kill(-pid, syscall.SIGKILL)
					t.Fatalf("JVM %d outlived its test binary", pid)
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
}

// alive reports whether the process exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no procfs; kill(0) said it exists
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// A JVM that dies by itself disarms its watchdog, which would otherwise wait
// to kill, when the test binary exits, a process group whose id the system
// may have given to another process by then.
func TestWatchdogEndsWithItsJVM(t *testing.T) {
	s, err := NewServer(t.Context(), WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	proc := s.proc
	if err := syscall.Kill(proc.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-proc.done
	watchdog := proc.watchdog.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(watchdog, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the watchdog still runs 10 s after its JVM died")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
