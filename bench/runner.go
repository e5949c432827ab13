package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zkit-go/zkit/bench/internal/harness"
	"github.com/zkit-go/zkit/core"
)

// workerEnv, set in a process's environment, makes the bench binary (or its
// test binary) serve one job as zkit's worker instead of running the CLI.
const workerEnv = "ZKIT_BENCH_WORKER"

// Library labels used in results.
const (
	libZkit = "zkit"
	libPeer = "go-zookeeper"
	libWire = "raw wire"
)

// workerTasks are the tasks zkit's worker knows beyond the harness's
// built-in ones; scenario files add theirs in init functions.
var workerTasks = map[string]harness.TaskFunc{}

func registerTask(name string, fn harness.TaskFunc) { workerTasks[name] = fn }

// Measured is one library's result at one point: the median run, and the
// throughput of every run when the point was repeated.
type Measured struct {
	harness.Result
	Runs []float64 `json:"runs_ops_per_sec,omitempty"`
}

// Pair is zkit and the peer at one point. Peer is nil with --no-peer.
type Pair struct {
	Zkit *Measured `json:"zkit"`
	Peer *Measured `json:"peer,omitempty"`
}

// Runner runs jobs in worker processes against the benchmark's servers and
// keeps the znodes they use under one root, removed at the end.
type Runner struct {
	cfg      *Config
	servers  string
	admin    *core.Client
	root     string
	self     string
	peerBin  string
	progress io.Writer
	start    time.Time
	// peerVersion is the peer library's version, as its worker reports it.
	peerVersion string

	// Shared holds figures one scenario leaves for later ones, by key.
	Shared map[string]any

	mu      sync.Mutex
	dataDir string
	seq     int
	flip    bool
	steals  []float64 // each run's host steal share, in order
}

// stealSummary sums up the host steal of every run so far.
func (r *Runner) stealSummary() *StealSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return summarizeSteal(r.steals)
}

func newRunner(ctx context.Context, cfg *Config, servers string, progress io.Writer) (*Runner, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate the bench binary: %w", err)
	}
	admin, err := core.NewClient(servers, core.WithSessionTimeout(30*time.Second))
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := admin.Start(sctx); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", servers, err)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	root := "/zkit-bench-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(rnd[:])
	if _, err := admin.Create(sctx, root, nil); err != nil {
		_ = admin.Close()
		return nil, err
	}
	return &Runner{cfg: cfg, servers: servers, admin: admin, root: root, self: self, progress: progress, start: time.Now(), Shared: map[string]any{}}, nil
}

// close removes the benchmark's znodes and closes the admin session.
func (r *Runner) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := r.admin.DeleteAll(ctx, r.root)
	return errors.Join(err, r.admin.Close())
}

// Quick reports the --quick smoke mode.
func (r *Runner) Quick() bool { return r.cfg.Quick }

// HasPeer reports whether the peer runs.
func (r *Runner) HasPeer() bool { return r.peerBin != "" }

// Phases returns the warm-up and measured durations of a point: full or
// quick by mode, unless --warmup or --duration override them.
func (r *Runner) Phases(fullWarm, full, quickWarm, quick time.Duration) (warmup, duration time.Duration) {
	warmup, duration = fullWarm, full
	if r.cfg.Quick {
		warmup, duration = quickWarm, quick
	}
	if r.cfg.Warmup > 0 {
		warmup = r.cfg.Warmup
	}
	if r.cfg.Duration > 0 {
		duration = r.cfg.Duration
	}
	return warmup, duration
}

// Job returns a job for task with the servers and session timeout filled in.
func (r *Runner) Job(task string) harness.Job {
	return harness.Job{Task: task, Servers: r.servers, SessionTimeout: 10 * time.Second, DataSize: r.cfg.DataSize}
}

// Node creates a fresh persistent znode under the benchmark's root, named
// after name, and returns its path.
func (r *Runner) Node(ctx context.Context, name string) (string, error) {
	r.mu.Lock()
	r.seq++
	p := fmt.Sprintf("%s/%03d-%s", r.root, r.seq, sanitize(name))
	r.mu.Unlock()
	_, err := r.admin.Create(ctx, p, nil)
	return p, err
}

func sanitize(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			return c
		}
		return '_'
	}, s)
}

// dataNodes is how many nodes get and set spread over.
const dataNodes = 256

// DataDir returns the directory of the data nodes that get and set use,
// creating them on first use.
func (r *Runner) DataDir(ctx context.Context) (string, error) {
	r.mu.Lock()
	dir := r.dataDir
	r.mu.Unlock()
	if dir != "" {
		return dir, nil
	}
	dir, err := r.Node(ctx, "data")
	if err != nil {
		return "", err
	}
	data := make([]byte, r.cfg.DataSize)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	errs := make([]error, dataNodes)
	var wg sync.WaitGroup
	for i := range dataNodes {
		wg.Go(func() {
			_, errs[i] = r.admin.Create(ctx, dir+"/"+harness.NodeName(i), data)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.dataDir = dir
	r.mu.Unlock()
	return dir, nil
}

// Run runs one job in a fresh worker process: zkit's (this binary) for
// libZkit and libWire, the peer's for libPeer.
func (r *Runner) Run(ctx context.Context, lib string, job harness.Job) (*harness.Result, error) {
	bin, env := r.self, append(os.Environ(), workerEnv+"=1")
	if lib == libPeer {
		bin, env = r.peerBin, os.Environ()
	}
	if r.cfg.CPUProfile != "" {
		env = append(env, harness.ProfileEnv+"="+r.cfg.CPUProfile)
	}
	in, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, job.Warmup+job.Duration+3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	// On cancellation the worker gets an interrupt first, so it closes its
	// sessions (and their ephemeral nodes) before it is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	before, stealOK := cpuTimesNow()
	runErr := cmd.Run()
	after, _ := cpuTimesNow()
	var res harness.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("%s worker (%s %s): %v; %v; stderr: %s", lib, job.Task, job.Op, runErr, err, strings.TrimSpace(errOut.String()))
	}
	if res.Error != "" {
		return &res, fmt.Errorf("%s worker (%s %s): %s", lib, job.Task, job.Op, res.Error)
	}
	if lib == libPeer {
		r.peerVersion = res.Version
	}
	if stealOK {
		res.HostSteal = stealShare(before, after)
		r.mu.Lock()
		r.steals = append(r.steals, res.HostSteal)
		r.mu.Unlock()
	}
	if errOut.Len() > 0 {
		fmt.Fprintf(r.progress, "    %s worker stderr: %s\n", lib, strings.TrimSpace(errOut.String()))
	}
	return &res, nil
}

// Compare runs job with zkit and with the peer, each in its own process
// and with its own root znode, --repeat times, alternating which goes
// first, and keeps each library's median run by key (throughput when nil).
func (r *Runner) Compare(ctx context.Context, label string, job harness.Job, key func(*harness.Result) float64) (Pair, error) {
	m, err := r.repeat(ctx, label, map[string]harness.Job{libZkit: job, libPeer: job}, r.libs(), key)
	return Pair{Zkit: m[libZkit], Peer: m[libPeer]}, err
}

// CompareWithWire is Compare with the raw wire running wireJob as a third
// in the same alternation, so that the wire's figure comes from the same
// minutes of the server as the libraries'. It returns the wire's median
// run too.
func (r *Runner) CompareWithWire(ctx context.Context, label string, job, wireJob harness.Job) (Pair, *Measured, error) {
	libs := append(r.libs(), libWire)
	m, err := r.repeat(ctx, label, map[string]harness.Job{libZkit: job, libPeer: job, libWire: wireJob}, libs, nil)
	return Pair{Zkit: m[libZkit], Peer: m[libPeer]}, m[libWire], err
}

// Single runs job with one library, --repeat times, keeping the median.
func (r *Runner) Single(ctx context.Context, label, lib string, job harness.Job) (*Measured, error) {
	m, err := r.repeat(ctx, label, map[string]harness.Job{lib: job}, []string{lib}, nil)
	return m[lib], err
}

// libs are the libraries compared: zkit, and the peer unless --no-peer.
func (r *Runner) libs() []string {
	libs := []string{libZkit}
	if r.HasPeer() {
		libs = append(libs, libPeer)
	}
	return libs
}

// repeat runs each of libs --repeat times with its job in jobs,
// alternating which goes first, and returns each one's median run by key.
func (r *Runner) repeat(ctx context.Context, label string, jobs map[string]harness.Job, libs []string, key func(*harness.Result) float64) (map[string]*Measured, error) {
	if key == nil {
		key = func(res *harness.Result) float64 { return res.Throughput }
	}
	runs := map[string][]*harness.Result{}
	for rep := range max(r.cfg.Repeat, 1) {
		order := slices.Clone(libs)
		r.mu.Lock()
		if r.flip {
			slices.Reverse(order)
		}
		r.flip = !r.flip
		r.mu.Unlock()
		for _, lib := range order {
			j := jobs[lib]
			root, err := r.Node(ctx, fmt.Sprintf("%s-%s-%d", label, lib, rep))
			if err != nil {
				return nil, err
			}
			j.Root = root
			res, err := r.Run(ctx, lib, j)
			if err != nil {
				return nil, err
			}
			if lib == libWire {
				res.Lib = libWire
			}
			r.report(label, res)
			if err := failedRun(res); err != nil {
				return nil, fmt.Errorf("%s, %s: %w", label, res.Lib, err)
			}
			runs[lib] = append(runs[lib], res)
		}
	}
	medians := map[string]*Measured{}
	for _, lib := range libs {
		medians[lib] = median(runs[lib], key)
	}
	return medians, nil
}

// failedRun is an error for a measured run in which calls failed, or none
// completed. Its figures would describe the failures, which may be quick
// and cheap, so the scenario fails instead of reporting them.
func failedRun(res *harness.Result) error {
	switch {
	case res.Task == harness.TaskIdle:
		return nil
	case res.Errors > 0:
		return fmt.Errorf("%d calls failed (first: %s); a run with failures reports no figures", res.Errors, res.FirstError)
	case res.Ops == 0:
		return errors.New("no call completed in the measured phase")
	}
	return nil
}

func median(rs []*harness.Result, key func(*harness.Result) float64) *Measured {
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, func(a, b *harness.Result) int {
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	m := &Measured{Result: *sorted[(len(sorted)-1)/2]}
	if len(rs) > 1 {
		for _, res := range rs {
			m.Runs = append(m.Runs, res.Throughput)
		}
	}
	return m
}

// report prints one run's headline figures to the progress stream.
func (r *Runner) report(label string, res *harness.Result) {
	var b strings.Builder
	fmt.Fprintf(&b, "  %6s  %-26s %-13s", elapsed(time.Since(r.start)), label, res.Lib)
	if res.Task == harness.TaskIdle {
		fmt.Fprintf(&b, " idle heap %s, stacks %s, %d goroutines", fmtBytes(float64(res.IdleHeap)), fmtBytes(float64(res.IdleStack)), res.IdleGoroutines)
	} else {
		fmt.Fprintf(&b, " %11s op/s  p50 %8s  p99 %8s", fmtCount(res.Throughput), fmtDur(float64(res.Latency.P50)), fmtDur(float64(res.Latency.P99)))
		if res.CPUPerOp > 0 {
			fmt.Fprintf(&b, "  cpu %8s/op  %5.1f allocs/op  %4.2f reads %4.2f writes/op", fmtDur(res.CPUPerOp), res.AllocsPerOp, res.ReadsPerOp, res.WritesPerOp)
		}
	}
	if res.ServerFsyncsPerOp > 0 {
		// How many writes shared each of the server's log syncs.
		fmt.Fprintf(&b, "  %.1f ops/fsync", 1/res.ServerFsyncsPerOp)
	}
	if res.Errors > 0 {
		fmt.Fprintf(&b, "  %d errors (first: %s)", res.Errors, res.FirstError)
	}
	if res.HostSteal >= 0.01 {
		fmt.Fprintf(&b, "  host steal %.0f%%", 100*res.HostSteal)
	}
	fmt.Fprintln(r.progress, b.String())
}

func elapsed(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
