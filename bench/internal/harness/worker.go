package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
)

// ProfileEnv names an environment variable holding a directory: when set,
// the worker writes a CPU profile of the job there, named after the
// library, task, op and concurrency.
const ProfileEnv = "ZKIT_BENCH_CPUPROFILE"

func startProfile(dir, lib string, job Job) (stop func(), err error) {
	name := fmt.Sprintf("%s-%s-%s-%d.pprof", lib, job.Task, job.Op, job.Concurrency)
	f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(name, " ", "_")))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// Serve runs one worker process: it reads a Job as JSON from stdin, runs
// the task it names with d, and writes the Result as JSON to stdout. Tasks
// in extra are looked up before the built-in ones. It returns the process's
// exit code: 0 when the job ran, 1 when it failed (the Result then carries
// the error).
func Serve(d Driver, extra map[string]TaskFunc) int {
	return serve(os.Stdin, os.Stdout, d, extra)
}

func serve(in io.Reader, out io.Writer, d Driver, extra map[string]TaskFunc) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var job Job
	r, err := func() (Result, error) {
		if err := json.NewDecoder(in).Decode(&job); err != nil {
			return Result{}, fmt.Errorf("read job: %w", err)
		}
		task := extra[job.Task]
		if task == nil {
			task = Builtin[job.Task]
		}
		if task == nil {
			return Result{}, fmt.Errorf("unknown task %q", job.Task)
		}
		if dir := os.Getenv(ProfileEnv); dir != "" {
			stop, err := startProfile(dir, d.Lib(), job)
			if err != nil {
				return Result{}, err
			}
			defer stop()
		}
		return task(ctx, d, job)
	}()
	r.Lib, r.Version, r.Task, r.Op, r.Conc = d.Lib(), d.Version(), job.Task, job.Op, job.Concurrency
	r.CPUs = runtime.NumCPU()
	code := 0
	if err != nil {
		r.Error = err.Error()
		code = 1
	}
	if err := json.NewEncoder(out).Encode(&r); err != nil {
		fmt.Fprintln(os.Stderr, "write result:", err)
		return 1
	}
	return code
}
