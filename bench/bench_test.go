package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/zkit-go/zkit/bench/internal/harness"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The CLI runs zkit's jobs in a copy of its own binary; under go test
	// that binary is the test binary.
	if os.Getenv(workerEnv) != "" {
		os.Exit(harness.Serve(zkitDriver{}, workerTasks))
	}
	goleak.VerifyTestMain(zktest.Main(m))
}

// TestQuickRun runs the CLI's smoke mode for the wire and operations
// scenarios, zkit only, and checks that the JSON report holds every figure.
func TestQuickRun(t *testing.T) {
	srv := zktest.Shared(t)
	out, stdout, rep := runCLI(t, "--quick", "--no-peer", "--scenarios", "wire,operations", "--servers", srv.ConnString(),
		"--warmup", "50ms", "--duration", "250ms", "--concurrency", "1,64", "--warm-server=false")
	if !strings.Contains(stdout, "Throughput (op/s)") || !strings.Contains(stdout, "idle client buffers") {
		t.Errorf("terminal table incomplete:\n%s", stdout)
	}
	s := rep.Setup
	if s.Machine.CPUs < 1 || s.Machine.GoVersion == "" || s.ZooKeeper.Version == "" || s.ZooKeeper.Mode == "" || s.ZooKeeper.Fsync == "" || s.Command == "" {
		t.Errorf("setup incomplete: %+v", s)
	}
	if len(rep.Sections) != 2 || rep.Sections[0].Name != "wire" || rep.Sections[1].Name != "operations" {
		t.Fatalf("sections: %+v", rep.Sections)
	}

	var wire WireData
	if err := json.Unmarshal(rep.Sections[0].Data, &wire); err != nil {
		t.Fatal(err)
	}
	for _, op := range opsOrder {
		if m := wire.Results[op]; m == nil || m.Ops == 0 || m.Throughput <= 0 || m.Latency.P50 <= 0 {
			t.Errorf("wire %s: %+v", op, m)
		}
	}

	var ops OpsData
	if err := json.Unmarshal(rep.Sections[1].Data, &ops); err != nil {
		t.Fatal(err)
	}
	if len(ops.Points) != 6 {
		t.Fatalf("%d operation points, want 3 ops × 2 concurrencies", len(ops.Points))
	}
	for _, pt := range ops.Points {
		z := pt.Zkit
		if z == nil || pt.Peer != nil {
			t.Fatalf("%s ×%d: zkit %v, peer %v", pt.Op, pt.Concurrency, z, pt.Peer)
		}
		if z.Ops == 0 || z.Errors != 0 || z.Throughput <= 0 || z.Latency.P50 <= 0 || z.Latency.P99 < z.Latency.P50 ||
			z.CPUPerOp <= 0 || z.AllocsPerOp <= 0 || z.PeakHeapInuse == 0 || z.PeakSys == 0 || z.PeakLiveHeap == 0 || pt.ZkitOfWire <= 0 {
			t.Errorf("%s ×%d incomplete: %+v", pt.Op, pt.Concurrency, z)
		}
		// At the highest concurrency the wire runs again, alternating with
		// the libraries, and the fraction is of that run.
		if pt.Concurrency == 64 {
			if pt.Wire == nil || pt.Wire.Throughput <= 0 || pt.Wire.Lib != libWire {
				t.Errorf("%s ×64: no wire run alongside: %+v", pt.Op, pt.Wire)
			} else if got, want := pt.ZkitOfWire, z.Throughput/pt.Wire.Throughput; math.Abs(got-want) > 1e-9 {
				t.Errorf("%s ×64: zkit of wire %v, want %v (of the alongside run)", pt.Op, got, want)
			}
		} else if pt.Wire != nil {
			t.Errorf("%s ×%d: a wire run below the highest concurrency", pt.Op, pt.Concurrency)
		}
	}
	if ops.Idle.Zkit == nil || ops.Idle.Zkit.IdleHeap <= 0 || ops.Idle.Zkit.IdleGoroutines <= 0 {
		t.Errorf("idle: %+v", ops.Idle.Zkit)
	}
	statuses := map[string]string{}
	for _, tg := range rep.Sections[1].Targets {
		statuses[tg.Name] = tg.Status
	}
	for name, want := range map[string]string{
		"client CPU time per get":                       "SKIP",
		"allocations per Get besides the returned data": "",
		"get throughput vs raw wire":                    "",
		"idle client buffers":                           "",
	} {
		got, ok := statuses[name]
		if !ok || (want != "" && got != want) || (want == "" && got != "PASS" && got != "MISS") {
			t.Errorf("target %q: status %q", name, got)
		}
	}

	html, err := os.ReadFile(filepath.Join(out, "latest.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), "<svg"); n < 8 {
		t.Errorf("HTML report has %d charts", n)
	}

	// --render draws the same report again from the JSON alone.
	if err := run(t.Context(), []string{"--render", filepath.Join(out, "latest.json")}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(filepath.Join(out, "latest.html"))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(html) {
		t.Error("the HTML drawn again from the JSON differs")
	}
}

func TestChartsAreWellFormedSVG(t *testing.T) {
	nan := math.NaN()
	for _, c := range []Chart{
		{Title: "line", X: []string{"1", "64", "256"}, Unit: "rate", Series: []Series{
			{Name: "zkit", Style: "zkit", Values: []float64{100, 2000, 3000}},
			{Name: "peer", Style: "peer", Values: []float64{nan, 1500, 2500}},
			{Name: "wire", Style: "baseline", Values: []float64{4000, 4000, 4000}}}},
		{Title: "log <&>", X: []string{"2", "8"}, Unit: "duration", LogY: true, Series: []Series{
			{Name: "p99", Dashed: true, Values: []float64{1e6, 3e8}}, {Name: "zero", Values: []float64{0, 0}}}},
		{Title: "bar", X: []string{"a", "b", "c", "d", "e"}, Unit: "bytes", Kind: "bar", Series: []Series{
			{Name: "zkit", Style: "zkit", Values: []float64{1, 2, 3, 4, 5}}}},
		{Title: "empty", X: []string{"x"}, Series: []Series{{Name: "none", Values: []float64{nan}}}},
	} {
		dec := xml.NewDecoder(strings.NewReader(svgChart(c)))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", c.Title, err)
			}
		}
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenarios", "nope"}, `unknown scenario "nope"`},
		{[]string{"--concurrency", "1,x"}, `--concurrency: "x" is not a count`},
		{[]string{"--contenders", "0"}, `--contenders: "0" is not a count`},
		{[]string{"--repeat", "-1"}, "--repeat -1: must be at least 1"},
		{[]string{"--ensemble", "0"}, "--ensemble 0: must be at least 1"},
		{[]string{"--locks", "0"}, "--locks 0: must be 1 to 10000"},
		{[]string{"--pin", "--servers", "127.0.0.1:2181"}, "cannot be used with --servers"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
		}
	}
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Fsync || cfg.Repeat != 5 || len(cfg.Scenarios) != len(registry) || cfg.Window != 256 {
		t.Errorf("defaults: %+v", cfg)
	}
	// The highest concurrency comes last, whatever order it was given in.
	cfg, err = parseFlags([]string{"--concurrency", "256,1,64,1"}, io.Discard)
	if err != nil || !slices.Equal(cfg.Conc, []int{1, 64, 256}) {
		t.Errorf("--concurrency 256,1,64,1: %v, %v; want [1 64 256]", cfg.Conc, err)
	}
}

// A run in which calls failed, or none completed, reports no figures: they
// would be the failures' own, quick and cheap, and could pass a target.
func TestFailedRun(t *testing.T) {
	for _, tc := range []struct {
		res  harness.Result
		want string // "" for a run that counts
	}{
		{harness.Result{Task: harness.TaskOps, Ops: 1000}, ""},
		{harness.Result{Task: harness.TaskOps, Ops: 1000, Errors: 3, FirstError: "zk: connection loss"}, "3 calls failed (first: zk: connection loss)"},
		{harness.Result{Task: harness.TaskOps}, "no call completed"},
		{harness.Result{Task: harness.TaskIdle}, ""},
	} {
		err := failedRun(&tc.res)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.res, err, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{fmtCount(52310.4), "52,310"}, {fmtCount(999), "999"}, {fmtCount(-1234567), "-1,234,567"},
		{fmtDur(1.1e6), "1.10 ms"}, {fmtDur(850e3), "850 µs"}, {fmtDur(12.34e3), "12.3 µs"}, {fmtDur(2.5e9), "2.50 s"},
		{fmtBytes(28.3 * 1024), "28.3 KiB"}, {fmtBytes(3 << 20), "3.00 MiB"}, {fmtBytes(512), "512 B"},
		{fmtRatio(0.54321), "0.54×"}, {fmtRatio(math.NaN()), "–"}, {fmtPct(0.951), "95%"},
		// Near a target's line, a figure on the other side gets one more digit.
		{nearLine(0.946, 0.95, fmtPct, fmtPct1), "94.6%"}, {nearLine(0.954, 0.95, fmtPct, fmtPct1), "95.4%"},
		{nearLine(0.95, 0.95, fmtPct, fmtPct1), "95%"}, {nearLine(0.93, 0.95, fmtPct, fmtPct1), "93%"},
		{nearLine(0.604, 0.6, fmtRatio, fmtRatio3), "0.604×"}, {nearLine(0.55, 0.6, fmtRatio, fmtRatio3), "0.55×"},
		{tickLabel(20000, "rate"), "20k"}, {tickLabel(989.5, "rate"), "990"}, {tickLabel(0, "duration"), "0"}, {tickLabel(2.5e6, "duration"), "2.5 ms"}, {tickLabel(65536, "bytes"), "64 KiB"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestQuickLockRun runs the lock scenario briefly, zkit only, against a
// server that syncs its log, and checks the acquisitions and the server's
// fsyncs per acquisition that the report holds.
func TestQuickLockRun(t *testing.T) {
	srv := zktest.StartServer(t, zktest.WithFsync(true))
	_, stdout, rep := runCLI(t, "--quick", "--no-peer", "--scenarios", "lock", "--servers", srv.ConnString(),
		"--warmup", "50ms", "--duration", "300ms", "--contenders", "2", "--locks", "4", "--warm-server=false")
	if !strings.Contains(stdout, "Server log syncs") {
		t.Errorf("no table of the server's log syncs:\n%s", stdout)
	}
	if len(rep.Sections) != 1 || rep.Sections[0].Name != "lock" {
		t.Fatalf("sections: %+v", rep.Sections)
	}
	var lock LockData
	if err := json.Unmarshal(rep.Sections[0].Data, &lock); err != nil {
		t.Fatal(err)
	}
	if len(lock.Contended) != 1 || lock.Contended[0].Zkit == nil {
		t.Fatalf("contended points: %+v", lock.Contended)
	}
	z := lock.Contended[0].Zkit
	if z.Ops == 0 || z.Errors != 0 {
		t.Fatalf("contended run: %d acquisitions, %d errors (%s)", z.Ops, z.Errors, z.FirstError)
	}
	// Two writes per acquisition, each synced alone or with another:
	// between one and two fsyncs, plus the odd session or container write.
	if f := z.ServerFsyncsPerOp; f < 0.9 || f > 2.5 {
		t.Errorf("%.2f server fsyncs per acquisition, want about 1 to 2", f)
	}
	for _, m := range []*Measured{lock.Uncontended.Zkit, lock.Many.Zkit} {
		if m == nil || m.Ops == 0 || m.Errors != 0 {
			t.Errorf("uncontended or many-lock run incomplete: %+v", m)
		}
	}
}

func TestSplitCPUs(t *testing.T) {
	for _, tc := range []struct {
		cpus []int
		want string
	}{
		{[]int{0, 1}, "server on CPU 1, clients on CPU 0"},
		{[]int{0, 1, 2}, "server on CPUs 1,2, clients on CPU 0"},
		{[]int{4, 5, 6, 7}, "server on CPUs 6,7, clients on CPUs 4,5"},
	} {
		split, err := splitCPUs(tc.cpus)
		if err != nil || split.String() != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.cpus, split.String(), err, tc.want)
		}
	}
	if _, err := splitCPUs([]int{3}); err == nil {
		t.Error("one CPU split without an error")
	}
}

// TestPinnedRun runs the quick wire scenario with --pin, the server started
// by the CLI, and checks that the workers ran on the clients' CPUs only.
func TestPinnedRun(t *testing.T) {
	cpus, err := allowedCPUs()
	if err != nil || len(cpus) < 2 {
		t.Skipf("needs Linux and 2 CPUs (%v, %d CPUs)", err, len(cpus))
	}
	// --pin moves this process to the clients' CPUs: give them all back.
	t.Cleanup(func() {
		if err := pinProcess(cpus); err != nil {
			t.Error(err)
		}
	})
	split, _ := splitCPUs(cpus)
	_, stdout, rep := runCLI(t, "--quick", "--no-peer", "--pin", "--fsync=false", "--scenarios", "wire",
		"--warmup", "50ms", "--duration", "200ms", "--warm-server=false")
	if !strings.Contains(stdout, "pinned:    "+split.String()) {
		t.Errorf("no pinning line in the header:\n%s", stdout)
	}
	if rep.Setup.Pinning != split.String() || len(rep.Sections) != 1 {
		t.Fatalf("pinning %q, %d sections", rep.Setup.Pinning, len(rep.Sections))
	}
	var wire WireData
	if err := json.Unmarshal(rep.Sections[0].Data, &wire); err != nil {
		t.Fatal(err)
	}
	for _, op := range opsOrder {
		m := wire.Results[op]
		if m == nil || m.Ops == 0 {
			t.Fatalf("wire %s: %+v", op, m)
		}
		if m.CPUs != len(split.clients) {
			t.Errorf("wire %s: the worker ran on %d CPUs, want %d", op, m.CPUs, len(split.clients))
		}
	}
}

// cliReport is the part of the CLI's JSON report the tests read.
type cliReport struct {
	Setup    Setup `json:"setup"`
	Sections []struct {
		Name    string          `json:"name"`
		Data    json.RawMessage `json:"data"`
		Targets []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"targets"`
	} `json:"sections"`
}

// runCLI runs the CLI with args, writing into a fresh directory, which it
// returns with the terminal output and the JSON report.
func runCLI(t *testing.T, args ...string) (out, stdout string, rep cliReport) {
	t.Helper()
	out = t.TempDir()
	var so, se bytes.Buffer
	if err := run(t.Context(), append(args, "--out", out), &so, &se); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, se.String())
	}
	t.Logf("progress:\n%s", se.String())
	b, err := os.ReadFile(filepath.Join(out, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return out, so.String(), rep
}

// TestLocalServerJVMFlags starts a server as the CLI does without
// --servers and checks that its JVM got serverJVMFlags after zktest's own,
// so that the full JIT compiler and the larger heap are the ones in force.
func TestLocalServerJVMFlags(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if os.Getenv("ZK_SERVERS") != "" {
		t.Skip("ZK_SERVERS is set: the tests use outside servers, and start none")
	}
	srv, err := startServers(t.Context(), &Config{}, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.close(); err != nil {
			t.Error(err)
		}
	}()
	if srv.info.JVMFlags != strings.Join(serverJVMFlags, " ") {
		t.Errorf("setup names JVM flags %q", srv.info.JVMFlags)
	}
	// This process's other servers run with zktest's flags only: the one
	// started here is its JVM that names the full compiler at all.
	var ours [][]string
	for _, args := range childJavaCommandLines(t) {
		if slices.Contains(args, "-XX:TieredStopAtLevel=4") {
			ours = append(ours, args)
		}
	}
	if len(ours) != 1 {
		t.Fatalf("%d JVMs of this process run with -XX:TieredStopAtLevel=4, want 1", len(ours))
	}
	args := ours[0]
	if got := lastWithPrefix(args, "-XX:TieredStopAtLevel="); got != "-XX:TieredStopAtLevel=4" {
		t.Errorf("the JVM's last compiler flag is %q: %q", got, args)
	}
	if got := lastWithPrefix(args, "-Xmx"); got != "-Xmx1g" {
		t.Errorf("the JVM's last heap limit is %q: %q", got, args)
	}
}

// childJavaCommandLines returns the arguments of every java process whose
// parent is this one.
func childJavaCommandLines(t *testing.T) [][]string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := strconv.Itoa(os.Getpid())
	var out [][]string
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis (the
		// command may hold one itself): state, ppid.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		if f := strings.Fields(rest); len(f) < 2 || f[1] != self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) == "java" {
			out = append(out, args)
		}
	}
	return out
}

// lastWithPrefix returns the last of args that starts with prefix.
func lastWithPrefix(args []string, prefix string) string {
	for i := len(args) - 1; i >= 0; i-- {
		if strings.HasPrefix(args[i], prefix) {
			return args[i]
		}
	}
	return ""
}
