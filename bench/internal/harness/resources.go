package harness

import (
	"bufio"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// snapshot is the process's resource counters at one instant.
type snapshot struct {
	at         time.Time
	user, sys  time.Duration
	mallocs    uint64
	totalAlloc uint64
	numGC      uint32
	// Read and write system calls (from /proc/self/io) and context
	// switches; zero where the platform does not say.
	syscr, syscw uint64
	ctxsw        uint64
}

func takeSnapshot() snapshot {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	user, sys, ctxsw := processCPU()
	syscr, syscw := ioSyscalls()
	return snapshot{at: time.Now(), user: user, sys: sys, mallocs: ms.Mallocs, totalAlloc: ms.TotalAlloc, numGC: ms.NumGC,
		syscr: syscr, syscw: syscw, ctxsw: ctxsw}
}

// fill sets r's resource fields from the phase between s0 and s1, per op.
func fill(r *Result, s0, s1 snapshot, ops int64) {
	r.Ops = ops
	r.Seconds = s1.at.Sub(s0.at).Seconds()
	if r.Seconds > 0 {
		r.Throughput = float64(ops) / r.Seconds
	}
	r.CPUUserNs = int64(s1.user - s0.user)
	r.CPUSysNs = int64(s1.sys - s0.sys)
	r.GCCycles = s1.numGC - s0.numGC
	if ops > 0 {
		r.CPUPerOp = float64(r.CPUUserNs+r.CPUSysNs) / float64(ops)
		r.AllocsPerOp = float64(s1.mallocs-s0.mallocs) / float64(ops)
		r.BytesPerOp = float64(s1.totalAlloc-s0.totalAlloc) / float64(ops)
		r.ReadsPerOp = float64(s1.syscr-s0.syscr) / float64(ops)
		r.WritesPerOp = float64(s1.syscw-s0.syscw) / float64(ops)
		r.CtxSwitchesPerOp = float64(s1.ctxsw-s0.ctxsw) / float64(ops)
	}
}

// memSampler tracks the peaks of heap in use and of the runtime's total
// memory. It reads runtime/metrics, which does not stop the world.
type memSampler struct {
	samples  []metrics.Sample
	peakHeap uint64
	peakSys  uint64
	peakLive uint64
	stop     chan struct{}
	wg       sync.WaitGroup
}

const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	metricHeapUnused  = "/memory/classes/heap/unused:bytes"
	metricTotal       = "/memory/classes/total:bytes"
	metricLive        = "/gc/heap/live:bytes"
)

func newMemSampler() *memSampler {
	return &memSampler{samples: []metrics.Sample{{Name: metricHeapObjects}, {Name: metricHeapUnused}, {Name: metricTotal}, {Name: metricLive}}}
}

// read returns the heap in use (objects plus free space in in-use spans,
// as MemStats.HeapInuse), the runtime's total memory (MemStats.Sys), and
// the heap the last GC found live.
func (m *memSampler) read() (heap, total, live uint64) {
	metrics.Read(m.samples)
	return m.samples[0].Value.Uint64() + m.samples[1].Value.Uint64(), m.samples[2].Value.Uint64(), m.samples[3].Value.Uint64()
}

func (m *memSampler) sample() {
	heap, total, live := m.read()
	m.peakHeap = max(m.peakHeap, heap)
	m.peakSys = max(m.peakSys, total)
	m.peakLive = max(m.peakLive, live)
}

// start samples every 5 ms until finish.
func (m *memSampler) start() {
	m.stop = make(chan struct{})
	m.sample()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
}

func (m *memSampler) finish(r *Result) {
	close(m.stop)
	m.wg.Wait()
	m.sample()
	r.PeakHeapInuse, r.PeakSys, r.PeakLiveHeap = m.peakHeap, m.peakSys, m.peakLive
}

// baseline collects garbage and records the heap in use and the live heap
// of the process before its clients connect.
func baseline(r *Result) {
	runtime.GC()
	r.BaseHeapInuse, _, r.BaseLiveHeap = newMemSampler().read()
}

// ioSyscalls returns the process's read and write system calls so far,
// from /proc/self/io, or zeros where there is no such file.
func ioSyscalls() (reads, writes uint64) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}
