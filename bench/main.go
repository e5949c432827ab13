package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zkit-go/zkit/bench/internal/harness"
)

func main() {
	if os.Getenv(workerEnv) != "" {
		os.Exit(harness.Serve(zkitDriver{}, workerTasks))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// Config is the command line.
type Config struct {
	Servers    string
	Ensemble   int
	Fsync      bool
	Scenarios  []string
	Quick      bool
	NoPeer     bool
	PeerBin    string
	Repeat     int
	Out        string
	DataSize   int
	Conc       []int
	Contenders []int
	Locks      int
	Window     int
	Warmup     time.Duration
	Duration   time.Duration
	CPUProfile string
	Render     string
	WarmServer bool
	Pin        bool
}

func parseFlags(args []string, stderr io.Writer) (*Config, error) {
	cfg := &Config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench [flags]\n\nScenarios: %s\n\nFlags:\n", strings.Join(scenarioNames(), ", "))
		fs.PrintDefaults()
	}
	var scenarios, conc, contenders string
	fs.StringVar(&cfg.Servers, "servers", os.Getenv("ZK_SERVERS"), "ZooKeeper servers `host:port[,host:port]`; every client uses the first (default $ZK_SERVERS; empty starts a local server)")
	fs.IntVar(&cfg.Ensemble, "ensemble", 1, "size of the local ensemble to start when no servers are given (1 = standalone)")
	fs.BoolVar(&cfg.Fsync, "fsync", true, "forceSync of the local server(s) this run starts")
	fs.BoolVar(&cfg.Pin, "pin", false, "run the local server(s) on the second half of the CPUs and every client process on the first half (Linux): steadier runs on a small machine")
	fs.StringVar(&scenarios, "scenarios", "all", "comma-separated scenarios to run, or all")
	fs.BoolVar(&cfg.Quick, "quick", false, "short smoke run: every point, measured briefly")
	fs.BoolVar(&cfg.NoPeer, "no-peer", false, "measure zkit only, without go-zookeeper")
	fs.StringVar(&cfg.PeerBin, "peer-bin", "", "a prebuilt bench/peer binary (default: build bench/peer)")
	fs.IntVar(&cfg.Repeat, "repeat", 0, "run every point this many times, alternating the libraries, and keep the median (default 5, or 1 with --quick)")
	fs.StringVar(&cfg.Out, "out", "", "directory for the JSON and HTML reports (default bench/results)")
	fs.IntVar(&cfg.DataSize, "data-size", 100, "bytes of data per node for get, set and create")
	fs.StringVar(&conc, "concurrency", "1,64,256", "goroutines sharing one client in the operations scenario")
	fs.StringVar(&contenders, "contenders", "2,8,32,128", "contenders (one session each) in the lock scenario")
	fs.IntVar(&cfg.Locks, "locks", 64, "independent locks taken concurrently from one client in the lock scenario")
	fs.IntVar(&cfg.Window, "window", 256, "requests in flight on the raw wire baseline connection")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "warm-up before each measured run (default 0.3 s (lock contention 0.5 s), or 0.1 s (lock contention 0.2 s) with --quick)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "measured time per run of a point (default 1 s (lock contention 2 s), or 0.4 s (lock contention 0.8 s, the other lock points 0.5 s) with --quick)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of every worker's job into this `directory`")
	fs.BoolVar(&cfg.WarmServer, "warm-server", true, "warm the server's JIT with a short raw run of each operation first")
	fs.StringVar(&cfg.Render, "render", "", "measure nothing: print the tables and write the HTML report again from a report's `JSON` file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.Conc, err = parseInts("concurrency", conc); err != nil {
		return nil, err
	}
	if cfg.Contenders, err = parseInts("contenders", contenders); err != nil {
		return nil, err
	}
	if scenarios == "all" || scenarios == "" {
		cfg.Scenarios = scenarioNames()
	} else {
		for _, name := range strings.Split(scenarios, ",") {
			name = strings.TrimSpace(name)
			if lookupScenario(name) == nil {
				return nil, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(scenarioNames(), ", "))
			}
			cfg.Scenarios = append(cfg.Scenarios, name)
		}
	}
	if cfg.Repeat == 0 {
		cfg.Repeat = 5
		if cfg.Quick {
			cfg.Repeat = 1
		}
	}
	switch {
	case cfg.Repeat < 1:
		return nil, fmt.Errorf("--repeat %d: must be at least 1", cfg.Repeat)
	case cfg.DataSize < 0 || cfg.DataSize > 1<<20:
		return nil, fmt.Errorf("--data-size %d: must be 0 to 1 MiB", cfg.DataSize)
	case cfg.Locks < 1 || cfg.Locks > 10000:
		return nil, fmt.Errorf("--locks %d: must be 1 to 10000", cfg.Locks)
	case cfg.Window < 1:
		return nil, fmt.Errorf("--window %d: must be positive", cfg.Window)
	case cfg.Ensemble < 1:
		return nil, fmt.Errorf("--ensemble %d: must be at least 1", cfg.Ensemble)
	case cfg.Warmup < 0 || cfg.Duration < 0:
		return nil, errors.New("--warmup and --duration must not be negative")
	case cfg.Pin && cfg.Servers != "":
		return nil, errors.New("--pin splits the CPUs between a local server and the clients: it cannot be used with --servers")
	}
	return cfg, nil
}

func parseInts(name, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 10000 {
			return nil, fmt.Errorf("--%s: %q is not a count from 1 to 10000", name, f)
		}
		out = append(out, n)
	}
	// Ascending, without repeats: the last is the highest, which some
	// targets are measured at.
	slices.Sort(out)
	return slices.Compact(out), nil
}

// run is the CLI: it measures the selected scenarios and writes the
// reports. Progress goes to stderr, the final table to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.Render != "" {
		return render(cfg.Render, stdout)
	}
	started := time.Now()
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	root, rootErr := repoRoot()
	if cfg.Out == "" {
		if rootErr != nil {
			return fmt.Errorf("--out not given and %w", rootErr)
		}
		cfg.Out = filepath.Join(root, "bench", "results")
	}
	setup := Setup{
		Date:       started.UTC(),
		Command:    commandLine(args),
		Machine:    machineInfo(),
		Quick:      cfg.Quick,
		Repeat:     cfg.Repeat,
		DataSize:   cfg.DataSize,
		LoadBefore: loadAverage(),
	}
	if rootErr == nil {
		setup.Zkit = gitRevision(root)
	}

	srv, err := startPinned(ctx, cfg, &setup, progress)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, srv.close()) }()
	if err := srv.describe(ctx); err != nil {
		return err
	}
	setup.ZooKeeper = srv.info
	progress("ZooKeeper %s (%s) at %s; clients connect to %s", shortVersion(srv.info.Version), srv.info.Mode, srv.info.Servers, srv.info.Target)

	r, err := newRunner(ctx, cfg, srv.info.Target, stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, r.close()) }()

	if !cfg.NoPeer {
		r.peerBin = cfg.PeerBin
		if r.peerBin == "" {
			if rootErr != nil {
				return fmt.Errorf("cannot build the peer: %w (use --peer-bin or --no-peer)", rootErr)
			}
			tmp, err := os.MkdirTemp("", "zkit-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			progress("building the peer (bench/peer, go-zookeeper)…")
			if r.peerBin, err = buildPeer(ctx, root, tmp); err != nil {
				return err
			}
		}
		setup.Peer = "github.com/go-zookeeper/zk"
	}

	if cfg.WarmServer {
		if err := warmServer(ctx, r); err != nil {
			return fmt.Errorf("server warm-up: %w", err)
		}
	}
	var sections []*Section
	var failed []error
	for i, name := range cfg.Scenarios {
		s := lookupScenario(name)
		progress("[%d/%d] %s: %s", i+1, len(cfg.Scenarios), s.Name(), s.Title())
		sec, err := s.Run(ctx, r)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = append(failed, fmt.Errorf("scenario %s: %w", name, err))
			progress("  %s failed: %v", name, err)
			sec = &Section{Name: s.Name(), Title: s.Title(), Notes: []string{"failed: " + err.Error()}}
		}
		sections = append(sections, sec)
	}
	if setup.Peer != "" && r.peerVersion != "" {
		setup.Peer += " " + r.peerVersion
	}
	setup.LoadAfter = loadAverage()
	setup.HostSteal = r.stealSummary()
	setup.Seconds = time.Since(started).Seconds()

	rep := &Report{Setup: setup, Sections: sections}
	writeText(stdout, rep)
	paths, err := writeReports(cfg.Out, rep)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreports: %s\n", strings.Join(paths, "\n         "))
	return errors.Join(failed...)
}

// warmServer gets the server's JIT going with a short raw run of each
// operation, so the first measured points are not penalised.
func warmServer(ctx context.Context, r *Runner) error {
	dir, err := r.DataDir(ctx)
	if err != nil {
		return err
	}
	_, d := r.Phases(0, 1*time.Second, 0, 200*time.Millisecond)
	for _, op := range []string{harness.OpGet, harness.OpSet, harness.OpCreate} {
		job := r.Job(taskWire)
		job.Op, job.DataDir, job.Nodes, job.Window, job.Duration = op, dir, dataNodes, r.cfg.Window, d
		if job.Root, err = r.Node(ctx, "warm-up-"+op); err != nil {
			return err
		}
		res, err := r.Run(ctx, libWire, job)
		if err != nil {
			return err
		}
		res.Lib = libWire
		r.report("server warm-up "+op, res)
	}
	return nil
}

func shortVersion(v string) string {
	v, _, _ = strings.Cut(v, "-")
	return v
}

func commandLine(args []string) string {
	parts := []string{"go run ./bench"}
	for _, a := range args {
		if strings.ContainsAny(a, " \t\"'$") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// render draws a report again from its JSON file: the terminal tables, and
// the HTML page next to the JSON file.
func render(path string, stdout io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var saved struct {
		Setup    Setup `json:"setup"`
		Sections []struct {
			Name  string          `json:"name"`
			Title string          `json:"title"`
			Data  json.RawMessage `json:"data"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	rep := &Report{Setup: saved.Setup}
	shared := map[string]any{}
	for _, s := range saved.Sections {
		sec := &Section{Name: s.Name, Title: s.Title, Notes: []string{"this scenario cannot be drawn again from its JSON"}}
		if r, ok := lookupScenario(s.Name).(Renderer); ok {
			if sec, err = r.Render(s.Data, shared); err != nil {
				return fmt.Errorf("%s: section %s: %w", path, s.Name, err)
			}
		}
		rep.Sections = append(rep.Sections, sec)
	}
	writeText(stdout, rep)
	var page strings.Builder
	if err := writeHTML(&page, rep); err != nil {
		return err
	}
	out := strings.TrimSuffix(path, filepath.Ext(path)) + ".html"
	if err := os.WriteFile(out, []byte(page.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", out)
	return nil
}
