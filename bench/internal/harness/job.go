package harness

import (
	"time"
)

// Tasks every worker knows. A worker may add its own (see Serve).
const (
	// TaskOps runs Job.Op (OpGet, OpSet or OpCreate) from Job.Concurrency
	// goroutines sharing one client.
	TaskOps = "ops"
	// TaskIdle measures the memory an idle connected client keeps.
	TaskIdle = "idle"
	// TaskLockContended runs Job.Concurrency contenders, one session each,
	// taking and releasing one lock as fast as they can.
	TaskLockContended = "lock-contended"
	// TaskLockUncontended takes and releases a lock nobody else wants, one
	// acquisition at a time.
	TaskLockUncontended = "lock-uncontended"
	// TaskLockMany takes Job.Concurrency independent locks concurrently from
	// one client.
	TaskLockMany = "lock-many"
)

// Operations of TaskOps.
const (
	OpGet    = "get"
	OpSet    = "set"
	OpCreate = "create"
)

// Job tells a worker process what to measure. It travels as JSON on the
// worker's standard input.
type Job struct {
	Task string `json:"task"`
	// Servers is the connection string, "host:port[,host:port]".
	Servers string `json:"servers"`
	// Root is the job's own znode, which the orchestrator creates.
	Root string `json:"root"`
	// DataDir holds the nodes that get and set use, named NodeName(i) for i
	// below Nodes, each with DataSize bytes.
	DataDir  string `json:"data_dir,omitempty"`
	Nodes    int    `json:"nodes,omitempty"`
	DataSize int    `json:"data_size,omitempty"`

	Op          string `json:"op,omitempty"`
	Concurrency int    `json:"concurrency,omitempty"`
	// Window is the number of requests a raw pipelined connection keeps in
	// flight.
	Window int `json:"window,omitempty"`

	Warmup   time.Duration `json:"warmup_ns"`
	Duration time.Duration `json:"duration_ns"`
	// MaxOps ends the measured phase early once reached (0: no limit).
	MaxOps int64 `json:"max_ops,omitempty"`
	// SessionTimeout for every session the job opens.
	SessionTimeout time.Duration `json:"session_timeout_ns"`
}

// NodeName is the name of the i-th data node under Job.DataDir.
func NodeName(i int) string {
	const digits = "0123456789"
	return "n-" + string([]byte{digits[i/1000%10], digits[i/100%10], digits[i/10%10], digits[i%10]})
}

// Latency summarises a histogram of latencies.
type Latency struct {
	Count uint64        `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Result is what a worker reports for one job, as JSON on its standard
// output.
type Result struct {
	Lib     string `json:"lib"`
	Version string `json:"version"`
	// CPUs is how many CPUs the worker process could run on.
	CPUs int    `json:"cpus,omitempty"`
	Task string `json:"task"`
	Op   string `json:"op,omitempty"`
	Conc int    `json:"concurrency,omitempty"`
	// Error is set when the job could not run at all.
	Error string `json:"error,omitempty"`
	// HostSteal is the share of the machine's CPU time that its hypervisor
	// gave to others during the run (steal time), set by the runner.
	HostSteal float64 `json:"host_steal,omitempty"`

	// Ops completed during the measured phase, and failed calls.
	Ops        int64   `json:"ops"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"ops_per_sec"`
	Latency    Latency `json:"latency"`
	// Parts breaks an operation's latency down, for example a lock's
	// "acquire" and "release".
	Parts map[string]Latency `json:"parts,omitempty"`

	// Process resources over the measured phase, per completed op.
	CPUUserNs   int64   `json:"cpu_user_ns"`
	CPUSysNs    int64   `json:"cpu_sys_ns"`
	CPUPerOp    float64 `json:"cpu_ns_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"alloc_bytes_per_op"`
	GCCycles    uint32  `json:"gc_cycles"`
	// System calls that read and write (sockets included) and context
	// switches of the process, per op (Linux only).
	ReadsPerOp       float64 `json:"read_syscalls_per_op"`
	WritesPerOp      float64 `json:"write_syscalls_per_op"`
	CtxSwitchesPerOp float64 `json:"context_switches_per_op"`
	// ServerFsyncsPerOp is how many times the first server synced its
	// transaction log per op over the phase (from its mntr counters; 0
	// when it does not answer mntr). Writes that reach the server
	// together share one fsync.
	ServerFsyncsPerOp float64 `json:"server_fsyncs_per_op,omitempty"`
	// Memory: heap in use before the clients connected, and the peaks of
	// heap in use and of all memory the runtime holds during the phase.
	BaseHeapInuse uint64 `json:"base_heap_inuse_bytes"`
	PeakHeapInuse uint64 `json:"peak_heap_inuse_bytes"`
	PeakSys       uint64 `json:"peak_sys_bytes"`
	// The live heap (marked by the last GC) before the clients connected
	// and at its highest during the phase: the client's own memory,
	// without the garbage waiting for the next GC.
	BaseLiveHeap uint64 `json:"base_live_heap_bytes"`
	PeakLiveHeap uint64 `json:"peak_live_heap_bytes"`

	// TaskIdle: live heap, goroutine stacks and goroutines that one idle
	// connected client adds.
	IdleHeap       int64 `json:"idle_heap_bytes,omitempty"`
	IdleStack      int64 `json:"idle_stack_bytes,omitempty"`
	IdleGoroutines int   `json:"idle_goroutines,omitempty"`
}

// PeakHeapDelta is the peak heap in use above what the process used before
// its clients connected.
func (r *Result) PeakHeapDelta() int64 { return int64(r.PeakHeapInuse) - int64(r.BaseHeapInuse) }

// PeakLiveDelta is the peak live heap above the live heap before the
// clients connected.
func (r *Result) PeakLiveDelta() int64 { return int64(r.PeakLiveHeap) - int64(r.BaseLiveHeap) }
