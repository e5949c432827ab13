//go:build unix

package zktest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// A JVM must never outlive the test binary that started it, even when the
// binary panics, times out or is killed with SIGKILL. Three things see to it:
//
//   - the JVM leads its own process group, and zktest signals the group;
//   - on Linux, the kernel sends it SIGKILL when its parent dies (Pdeathsig).
//     The kernel means the parent thread: a JVM would die with the thread
//     that started it, were that thread to end, as a thread does when a
//     goroutine that locked it (runtime.LockOSThread) returns. So each JVM
//     is started, and waited for, by a goroutine that keeps its thread
//     locked until the JVM has exited (jvm.run);
//   - a watchdog shell, also started per JVM, blocks reading a pipe whose only
//     writer is the test binary. When the binary exits, however it exits, the
//     read ends with EOF and the watchdog kills the JVM's group. A clean stop
//     first disarms it by writing "disarm", and so does a JVM that exits by
//     itself, so that the watchdog never signals a process group whose id
//     the system may have reused.
const watchdogScript = `if read -r line && [ "$line" = disarm ]; then exit 0; fi
kill -9 "-$1" 2>/dev/null
exit 0`

// jvm is one running server process and its watchdog.
type jvm struct {
	cmd        *exec.Cmd
	done       chan struct{} // closed once the process has exited and been reaped
	waitErr    error         // set before done is closed
	watchdog   *exec.Cmd
	disarmW    *os.File // write end of the watchdog's stdin
	disarmOnce sync.Once
}

// startJVM starts java with args in dir, appending its stdout and stderr to
// logPath.
func startJVM(java, dir, logPath string, args []string) (*jvm, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("zktest: open log: %w", err)
	}
	defer logf.Close()

	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = jvmSysProcAttr()
	j := &jvm{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	watched := make(chan struct{}) // closed once the watchdog is set, or given up on
	go j.run(started, watched)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("zktest: start java: %w", err)
	}
	// Not reaped until watched is closed, so the group id is still the
	// JVM's, even if it has exited.
	killUnwatched := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		close(watched)
		<-j.done
	}

	r, w, err := os.Pipe()
	if err != nil {
		killUnwatched()
		return nil, fmt.Errorf("zktest: watchdog pipe: %w", err)
	}
	wd := exec.Command("/bin/sh", "-c", watchdogScript, "zktest-watchdog", fmt.Sprint(cmd.Process.Pid))
	wd.Stdin = r
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = wd.Start()
	r.Close()
	if err != nil {
		w.Close()
		killUnwatched()
		return nil, fmt.Errorf("zktest: start watchdog: %w", err)
	}
	j.watchdog, j.disarmW = wd, w
	close(watched)
	go func() {
		<-j.done
		j.disarm() // it may have exited by itself
	}()
	return j, nil
}

// run starts the JVM, reports how that went on started, and waits for the
// JVM to exit, all on one locked thread: the JVM's Pdeathsig fires when
// the thread that started it ends, and a locked thread is no other
// goroutine's to end. It reaps the JVM only once watched is closed, so
// that until startJVM has set the watchdog up, or killed the JVM, the
// JVM's pid, which names its group, cannot be reused.
func (j *jvm) run(started chan<- error, watched <-chan struct{}) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := j.cmd.Start(); err != nil {
		started <- err
		return
	}
	started <- nil
	<-watched
	j.waitErr = j.cmd.Wait()
	close(j.done)
}

func (j *jvm) exited() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the JVM's process group, unless the JVM has been
// reaped (its pid, which names the group, could then be reused).
func (j *jvm) signal(sig syscall.Signal) {
	if !j.exited() {
		_ = syscall.Kill(-j.cmd.Process.Pid, sig)
	}
}

// disarm tells the watchdog to exit without killing, and reaps it. Only the
// first call does anything; a later one returns once the first is done.
func (j *jvm) disarm() {
	j.disarmOnce.Do(func() {
		_, _ = j.disarmW.Write([]byte("disarm\n"))
		_ = j.disarmW.Close()
		_ = j.watchdog.Wait()
	})
}

// kill sends SIGKILL to the group and waits for the JVM to exit.
func (j *jvm) kill() {
	j.disarm()
	j.signal(syscall.SIGKILL)
	<-j.done
}

// stop sends SIGTERM to the group, waits up to grace for the JVM to exit, and
// then kills it.
func (j *jvm) stop(grace time.Duration) error {
	j.disarm()
	j.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-j.done:
		return nil
	case <-t.C:
		j.signal(syscall.SIGKILL)
		<-j.done
		return errors.New("zktest: server ignored SIGTERM and was killed")
	}
}
