package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/zkit-go/zkit/zktest"
)

// Setup describes the machine and servers of a run, for the report.
type Setup struct {
	Date      time.Time `json:"date"`
	Command   string    `json:"command"`
	Machine   Machine   `json:"machine"`
	ZooKeeper ZooKeeper `json:"zookeeper"`
	Zkit      string    `json:"zkit_revision"`
	Peer      string    `json:"peer"`
	Quick     bool      `json:"quick"`
	Repeat    int       `json:"repeat"`
	DataSize  int       `json:"data_size_bytes"`
	// LoadBefore and LoadAfter are the 1-minute load averages when the run
	// started and ended: other work on the machine shows up there.
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
	// HostSteal sums up the steal time of the runs (steal.go); nil where
	// the kernel does not count it.
	HostSteal *StealSummary `json:"host_steal,omitempty"`
	// Pinning says which CPUs the server and the clients ran on (--pin);
	// empty when they shared them all.
	Pinning string  `json:"pinning,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Machine is what the benchmark ran on.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	Memory    uint64 `json:"memory_bytes"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	Kernel    string `json:"kernel"`
	// CPUIdle is how idle CPUs wait (cpuIdle); empty when unknown.
	CPUIdle string `json:"cpu_idle,omitempty"`
}

// ZooKeeper describes the servers.
type ZooKeeper struct {
	Version string `json:"version"`
	Mode    string `json:"mode"`
	Servers string `json:"servers"`
	// Target is the server every client of the run connects to.
	Target   string `json:"target"`
	Local    bool   `json:"started_by_bench"`
	Ensemble int    `json:"ensemble_size"`
	Fsync    string `json:"fsync"`
	// JVMFlags are the flags a local server's JVM got beyond zktest's.
	JVMFlags string `json:"jvm_flags,omitempty"`
}

func machineInfo() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	m.Kernel = fileText("/proc/sys/kernel/osrelease")
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.CPUIdle = cpuIdle()
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		kb, _ := strconv.ParseUint(strings.Fields(v)[0], 10, 64)
		m.Memory = kb * 1024
	}
	return m
}

// fileText returns a one-value kernel file's content without its newline,
// or "" when it cannot be read.
func fileText(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// servers is a running set of ZooKeeper servers, started here or not.
type servers struct {
	info  ZooKeeper
	close func() error
}

// startServers uses cfg.Servers when set, or starts a local standalone
// server or ensemble.
func startServers(ctx context.Context, cfg *Config, progress func(string, ...any)) (*servers, error) {
	if cfg.Servers != "" {
		s := &servers{info: ZooKeeper{Servers: cfg.Servers, Fsync: "unknown (external servers)"}, close: func() error { return nil }}
		return s, nil
	}
	fsync := "off"
	if cfg.Fsync {
		fsync = "on"
	}
	opts := []zktest.Option{zktest.WithFsync(cfg.Fsync), zktest.WithJavaFlags(serverJVMFlags...)}
	info := ZooKeeper{Local: true, Ensemble: 1, Fsync: fsync, JVMFlags: strings.Join(serverJVMFlags, " ")}
	if cfg.Ensemble > 1 {
		progress("starting a local ZooKeeper ensemble of %d (fsync %s)…", cfg.Ensemble, fsync)
		e, err := zktest.NewEnsemble(ctx, cfg.Ensemble, opts...)
		if err != nil {
			return nil, err
		}
		info.Servers, info.Ensemble = e.ConnString(), cfg.Ensemble
		return &servers{info: info, close: e.Close}, nil
	}
	progress("starting a local standalone ZooKeeper (fsync %s)…", fsync)
	s, err := zktest.NewServer(ctx, opts...)
	if err != nil {
		return nil, err
	}
	info.Servers = s.ConnString()
	return &servers{info: info, close: s.Close}, nil
}

// serverJVMFlags bring a local server closer to a production one: zktest
// starts its JVMs for a quick start (the client compiler only, a small
// heap), which is right for tests but leaves the server spending twice the
// CPU per request, so that a benchmark would mostly measure the server.
// Later flags win, so these undo zktest's compiler and heap settings; its
// other flags (the serial collector among them) stay.
var serverJVMFlags = []string{"-XX:TieredStopAtLevel=4", "-Xms512m", "-Xmx1g"}

// describe asks the target server for its version and mode with srvr.
func (s *servers) describe(ctx context.Context) error {
	target, _, _ := strings.Cut(s.info.Servers, ",")
	target, _, _ = strings.Cut(target, "/")
	s.info.Target = target
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := zktest.FourLetter(ctx, target, "srvr")
	if err != nil {
		return err
	}
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, "Zookeeper version: "); ok {
			s.info.Version = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Mode: "); ok {
			s.info.Mode = strings.TrimSpace(v)
		}
	}
	if s.info.Version == "" {
		return fmt.Errorf("srvr from %s: no version in %q", target, out)
	}
	return nil
}

// repoRoot finds the zkit module's directory from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/zkit-go/zkit\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the zkit repository")
		}
		dir = parent
	}
}

// gitRevision describes the work tree, or "" outside git: the commit, and
// the tracked files changed since, which the run measured too.
func gitRevision(dir string) string {
	out, err := exec.Command("git", "-C", dir, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	changed, err := exec.Command("git", "-C", dir, "diff", "--name-only", "HEAD").Output()
	if files := strings.Fields(string(changed)); err == nil && len(files) > 0 {
		if len(files) > 8 {
			files = append(files[:8], "…")
		}
		rev += " (uncommitted: " + strings.Join(files, ", ") + ")"
	}
	return rev
}

// buildPeer compiles the peer module (bench/peer) into dir.
func buildPeer(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "zkit-bench-peer")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(root, "bench", "peer")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the peer in %s: %v\n%s", cmd.Dir, err, out)
	}
	return bin, nil
}
