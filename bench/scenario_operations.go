package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/zkit-go/zkit/bench/internal/harness"
)

// opsScenario measures get, set and create from many goroutines sharing one
// client, and the memory an idle client keeps.
type opsScenario struct{}

func init() { register(20, opsScenario{}) }

func (opsScenario) Name() string { return "operations" }
func (opsScenario) Title() string {
	return "get, set and create from goroutines sharing one client; idle footprint"
}

// OpsPoint is one operation at one concurrency.
type OpsPoint struct {
	Op          string `json:"op"`
	Concurrency int    `json:"concurrency"`
	Pair
	// Fraction of the raw wire baseline's throughput, when it ran: of the
	// wire run alternately with the libraries at this point (Wire), or
	// else of the wire scenario's.
	ZkitOfWire float64 `json:"zkit_of_wire,omitempty"`
	PeerOfWire float64 `json:"peer_of_wire,omitempty"`
	// Wire is the raw wire's median run at the highest concurrency,
	// alternating with the libraries' runs, so that the three share the
	// same minutes of the server, whose speed moves from minute to minute.
	Wire *Measured `json:"wire,omitempty"`
}

// OpsData is the operations scenario's figures.
type OpsData struct {
	Concurrency []int      `json:"concurrency"`
	Points      []OpsPoint `json:"points"`
	Idle        Pair       `json:"idle"`
}

func (opsScenario) Run(ctx context.Context, r *Runner) (*Section, error) {
	dir, err := r.DataDir(ctx)
	if err != nil {
		return nil, err
	}
	warm, dur := r.Phases(300*time.Millisecond, time.Second, 100*time.Millisecond, 400*time.Millisecond)
	wire, _ := r.Shared[sharedWire].(*WireData)
	data := &OpsData{Concurrency: r.cfg.Conc}
	for _, op := range opsOrder {
		for i, n := range r.cfg.Conc {
			job := r.Job(harness.TaskOps)
			job.Op, job.Concurrency, job.DataDir, job.Nodes = op, n, dir, dataNodes
			job.Warmup, job.Duration, job.MaxOps = warm, dur, 500_000
			label := fmt.Sprintf("%s ×%d", op, n)
			var pt OpsPoint
			if i == len(r.cfg.Conc)-1 && wire.result(op) != nil {
				wireJob := r.Job(taskWire)
				wireJob.Op, wireJob.DataDir, wireJob.Nodes, wireJob.Window = op, dir, dataNodes, wire.Window
				wireJob.Warmup, wireJob.Duration = warm, dur
				pt.Pair, pt.Wire, err = r.CompareWithWire(ctx, label, job, wireJob)
			} else {
				pt.Pair, err = r.Compare(ctx, label, job, nil)
			}
			if err != nil {
				return nil, err
			}
			pt.Op, pt.Concurrency = op, n
			p := pt.Pair
			w := pt.Wire
			if w == nil {
				w = wire.result(op)
			}
			if w != nil && w.Throughput > 0 {
				pt.ZkitOfWire = p.Zkit.Throughput / w.Throughput
				if p.Peer != nil {
					pt.PeerOfWire = p.Peer.Throughput / w.Throughput
				}
			}
			data.Points = append(data.Points, pt)
		}
	}
	idle := r.Job(harness.TaskIdle)
	idle.DataDir, idle.Nodes = dir, dataNodes
	_, idle.Duration = r.Phases(0, time.Second, 0, 300*time.Millisecond)
	data.Idle, err = r.Compare(ctx, "idle client", idle, func(res *harness.Result) float64 { return float64(res.IdleHeap) })
	if err != nil {
		return nil, err
	}
	return data.section(wire), nil
}

// Render rebuilds the section from a report's JSON.
func (opsScenario) Render(raw json.RawMessage, shared map[string]any) (*Section, error) {
	var data OpsData
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, err
	}
	wire, _ := shared[sharedWire].(*WireData)
	return data.section(wire), nil
}

func (w *WireData) result(op string) *Measured {
	if w == nil {
		return nil
	}
	return w.Results[op]
}

// syncResult returns the wire's one-request-at-a-time figures of op, or
// nil.
func (w *WireData) syncResult(op string) *Measured {
	if w == nil {
		return nil
	}
	return w.Sync[op]
}

// get returns f of zkit's and the peer's result, NaN for a missing one.
func (p Pair) get(f func(*Measured) float64) (z, pe float64) {
	z, pe = math.NaN(), math.NaN()
	if p.Zkit != nil {
		z = f(p.Zkit)
	}
	if p.Peer != nil {
		pe = f(p.Peer)
	}
	return z, pe
}

func throughput(m *Measured) float64 { return m.Throughput }
func p50(m *Measured) float64        { return float64(m.Latency.P50) }
func p99(m *Measured) float64        { return float64(m.Latency.P99) }
func cpuPerOp(m *Measured) float64   { return m.CPUPerOp }
func allocsPerOp(m *Measured) float64 {
	return m.AllocsPerOp
}
func peakHeap(m *Measured) float64 { return float64(m.PeakHeapDelta()) }
func peakLive(m *Measured) float64 { return float64(m.PeakLiveDelta()) }

func goroutines(n int) string {
	if n == 1 {
		return "1 goroutine"
	}
	return strconv.Itoa(n) + " goroutines"
}

// spread shows how far the repeated runs of the point were apart: half
// their range over the median, for zkit and the peer.
func (p Pair) spread() string {
	one := func(m *Measured) string {
		if m == nil || len(m.Runs) < 2 || m.Throughput == 0 {
			return ""
		}
		lo, hi := m.Runs[0], m.Runs[0]
		for _, v := range m.Runs {
			lo, hi = min(lo, v), max(hi, v)
		}
		return "±" + fmtPct((hi-lo)/2/m.Throughput)
	}
	z, pe := one(p.Zkit), one(p.Peer)
	switch {
	case z == "":
		return "–"
	case pe == "":
		return z
	}
	return z + " " + pe
}

// syscallsPerOp counts the read and write system calls per op (sockets,
// and the runtime's netpoll wake-ups), NaN where not measured.
func syscallsPerOp(m *Measured) float64 {
	if m.ReadsPerOp+m.WritesPerOp == 0 {
		return math.NaN()
	}
	return m.ReadsPerOp + m.WritesPerOp
}

func (d *OpsData) section(wire *WireData) *Section {
	s := &Section{Name: "operations", Title: "Operations", Data: d}
	s.Notes = append(s.Notes,
		"One client per library, shared by N goroutines that each run the operation in a closed loop. get and set spread over 256 nodes of "+
			"the configured data size; create makes ephemeral sequential nodes, removed when the session closes.",
		"CPU/op is the worker process's user+system CPU time (getrusage) over the measured phase divided by the operations completed; "+
			"allocs/op is runtime.MemStats.Mallocs over the same phase. Each library runs in its own process, so these are the client's own.",
		"zkit/wire and peer/wire divide by the raw wire baseline's throughput. At the highest concurrency the wire runs again at that point, "+
			"alternating with the two libraries, so that all three share the same minutes of the server, whose speed moves from minute to minute; "+
			"below it they divide by the wire scenario's run.",
		"Read+write calls/op counts the process's read and write system calls (/proc/self/io): socket reads and writes, and the reads and writes "+
			"of the runtime's netpoll wake-ups (an eventfd). Calls that wait, such as epoll_wait and the ppoll zkit waits in, are not counted. "+
			"On this kind of machine system calls are most of a client's CPU time.",
		"Memory is sampled every 5 ms (runtime/metrics) and shown above what the process held before it connected: the live heap as of the last GC "+
			"(the client's own memory), the heap in use (live plus garbage not yet collected, so mostly the GC's pacing: at least 4 MiB), "+
			"and Sys, all the memory the Go runtime holds (absolute).")
	thr := Table{Title: "Throughput (op/s)", Columns: []string{"op", "goroutines", "zkit", "go-zookeeper", "zkit/peer", "zkit/wire", "peer/wire", "run spread"}}
	lat := Table{Title: "Latency", Columns: []string{"op", "goroutines", "p50 zkit", "p50 peer", "p99 zkit", "p99 peer", "p99 zkit/peer"}}
	cost := Table{Title: "Client cost per operation", Columns: []string{"op", "goroutines", "CPU zkit", "CPU peer", "zkit/peer", "allocs zkit", "allocs peer",
		"read+write calls zkit", "read+write calls peer"}}
	mem := Table{Title: "Client memory during the run (above the process before it connected)", Columns: []string{"op", "goroutines",
		"peak live heap zkit", "peak live heap peer", "peak heap in use zkit", "peak heap in use peer", "peak Sys zkit", "peak Sys peer"}}
	for _, pt := range d.Points {
		n := strconv.Itoa(pt.Concurrency)
		z, pe := pt.get(throughput)
		zf, pf := math.NaN(), math.NaN()
		if pt.ZkitOfWire > 0 {
			zf = pt.ZkitOfWire
		}
		if pt.PeerOfWire > 0 {
			pf = pt.PeerOfWire
		}
		thr.Rows = append(thr.Rows, []string{pt.Op, n, fmtCount(z), fmtCount(pe), fmtRatio(ratio(z, pe)), fmtPct(zf), fmtPct(pf), pt.spread()})
		z50, p50v := pt.get(p50)
		z99, p99v := pt.get(p99)
		lat.Rows = append(lat.Rows, []string{pt.Op, n, fmtDur(z50), fmtDur(p50v), fmtDur(z99), fmtDur(p99v), fmtRatio(ratio(z99, p99v))})
		zc, pc := pt.get(cpuPerOp)
		za, pa := pt.get(allocsPerOp)
		zs, ps := pt.get(syscallsPerOp)
		cost.Rows = append(cost.Rows, []string{pt.Op, n, fmtDur(zc), fmtDur(pc), fmtRatio(ratio(zc, pc)), fmtFloat(za, 1), fmtFloat(pa, 1),
			fmtFloat(zs, 2), fmtFloat(ps, 2)})
		zl, pl := pt.get(peakLive)
		zh, ph := pt.get(peakHeap)
		zy, py := pt.get(func(m *Measured) float64 { return float64(m.PeakSys) })
		mem.Rows = append(mem.Rows, []string{pt.Op, n, fmtBytes(zl), fmtBytes(pl), fmtBytes(zh), fmtBytes(ph), fmtBytes(zy), fmtBytes(py)})
	}
	idle := Table{Title: "Idle connected client (after 100 gets, then idle)", Columns: []string{"library", "live heap", "goroutine stacks", "goroutines"}}
	for _, m := range []*Measured{d.Idle.Zkit, d.Idle.Peer} {
		if m != nil {
			idle.Rows = append(idle.Rows, []string{m.Lib, fmtBytes(float64(m.IdleHeap)), fmtBytes(float64(m.IdleStack)), strconv.Itoa(m.IdleGoroutines)})
		}
	}
	s.Tables = []Table{thr, lat, cost, mem, idle}
	s.Charts = d.charts(wire)
	s.Targets = d.targets(wire)
	return s
}

func (d *OpsData) points(op string) []OpsPoint {
	var out []OpsPoint
	for _, pt := range d.Points {
		if pt.Op == op {
			out = append(out, pt)
		}
	}
	return out
}

func (d *OpsData) charts(wire *WireData) []Chart {
	x := make([]string, len(d.Concurrency))
	for i, n := range d.Concurrency {
		x[i] = strconv.Itoa(n)
	}
	series := func(pts []OpsPoint, name, style string, dashed bool, f func(*Measured) float64, peer bool) Series {
		s := Series{Name: name, Style: style, Dashed: dashed}
		for _, pt := range pts {
			z, pe := pt.get(f)
			if peer {
				z = pe
			}
			s.Values = append(s.Values, z)
		}
		return s
	}
	var charts []Chart
	for _, op := range opsOrder {
		pts := d.points(op)
		c := Chart{Title: op + " throughput", XLabel: "goroutines sharing one client", YLabel: "operations per second", X: x, Unit: "rate",
			Series: []Series{series(pts, "zkit", "zkit", false, throughput, false), series(pts, "go-zookeeper", "peer", false, throughput, true)}}
		if w := wire.result(op); w != nil {
			b := Series{Name: fmt.Sprintf("raw wire (%d in flight)", wire.Window), Style: "baseline"}
			for range x {
				b.Values = append(b.Values, w.Throughput)
			}
			c.Series = append(c.Series, b)
		}
		charts = append(charts, c)
	}
	for _, op := range opsOrder {
		pts := d.points(op)
		charts = append(charts, Chart{Title: op + " latency", XLabel: "goroutines sharing one client", YLabel: "latency (log scale)", X: x, Unit: "duration", LogY: true,
			Series: []Series{
				series(pts, "zkit p50", "zkit", false, p50, false), series(pts, "zkit p99", "zkit", true, p99, false),
				series(pts, "go-zookeeper p50", "peer", false, p50, true), series(pts, "go-zookeeper p99", "peer", true, p99, true),
			}})
	}
	var cats []string
	for _, pt := range d.Points {
		cats = append(cats, fmt.Sprintf("%s ×%d", pt.Op, pt.Concurrency))
	}
	bar := func(title, ylabel, unit string, f func(*Measured) float64) Chart {
		return Chart{Title: title, XLabel: "operation × goroutines", YLabel: ylabel, X: cats, Unit: unit, Kind: "bar",
			Series: []Series{series(d.Points, "zkit", "zkit", false, f, false), series(d.Points, "go-zookeeper", "peer", false, f, true)}}
	}
	charts = append(charts,
		bar("Client CPU time per operation", "CPU time per op", "duration", cpuPerOp),
		bar("Allocations per operation", "allocations per op", "count", allocsPerOp),
		bar("Peak live heap during the run", "bytes above the process before it connected", "bytes", peakLive))
	if d.Idle.Zkit != nil {
		z, pe := d.Idle.get(func(m *Measured) float64 { return float64(m.IdleHeap) })
		charts = append(charts, Chart{Title: "Idle connected client: live heap", XLabel: "", YLabel: "bytes", X: []string{"idle client"}, Unit: "bytes", Kind: "bar",
			Series: []Series{{Name: "zkit", Style: "zkit", Values: []float64{z}}, {Name: "go-zookeeper", Style: "peer", Values: []float64{pe}}}})
	}
	return charts
}

// worst returns the point of op where f is largest (or smallest, with
// lowest), skipping NaN, and its value.
func worst(pts []OpsPoint, f func(OpsPoint) float64, lowest bool) (OpsPoint, float64) {
	var best OpsPoint
	v := math.NaN()
	for _, pt := range pts {
		x := f(pt)
		if math.IsNaN(x) {
			continue
		}
		if math.IsNaN(v) || (lowest && x < v) || (!lowest && x > v) {
			best, v = pt, x
		}
	}
	return best, v
}

// syncFloor tells how the raw one-request-at-a-time CPU per call compares
// with the peer's at one goroutine: a target below that ratio cannot be
// met there by a client whose callers wait in Go's network poller.
func syncFloor(pts []OpsPoint, floor *Measured) string {
	for _, pt := range pts {
		if pt.Concurrency == 1 && pt.Peer != nil && floor != nil && pt.Peer.CPUPerOp > 0 {
			return fmt.Sprintf("; at 1 goroutine a raw socket read in Go's network poller costs %s/op, %s of go-zookeeper's", fmtDur(floor.CPUPerOp), fmtRatio(floor.CPUPerOp/pt.Peer.CPUPerOp))
		}
	}
	return ""
}

func (d *OpsData) targets(wire *WireData) []Target {
	var ts []Target
	hasPeer := len(d.Points) > 0 && d.Points[0].Peer != nil
	noPeer := "no peer in this run (--no-peer)"
	for _, op := range opsOrder {
		pt, v := worst(d.points(op), func(pt OpsPoint) float64 { return ratio(pt.get(cpuPerOp)) }, false)
		t := Target{Name: "client CPU time per " + op, Goal: "≤ 0.60× go-zookeeper at every concurrency", Measured: v, Display: nearLine(v, 0.6, fmtRatio, fmtRatio3) + " (worst)",
			Pass: v <= 0.6, Detail: "worst at " + goroutines(pt.Concurrency) + syncFloor(d.points(op), wire.syncResult(op))}
		if !hasPeer {
			t.Skipped = noPeer
		}
		ts = append(ts, t)
	}
	// A call allocates a whole number of objects; the hundredths are the
	// process's odd allocation over thousands of calls (request pools
	// refilled after each GC, runtime timers), so up to 3.04 passes.
	pt, v := worst(d.points(harness.OpGet), func(pt OpsPoint) float64 { return pt.Zkit.AllocsPerOp - 1 }, false)
	ts = append(ts, Target{Name: "allocations per Get besides the returned data", Goal: "≤ 3 per call", Measured: v, Display: fmtFloat(v, 3) + " (worst)",
		Pass: v <= 3.04, Detail: fmt.Sprintf("%.2f allocs/op in all at %s, one of them the data", v+1, goroutines(pt.Concurrency))})
	for _, op := range opsOrder {
		pt, v := worst(d.points(op), func(pt OpsPoint) float64 { return ratio(pt.get(throughput)) }, true)
		t := Target{Name: op + " throughput vs go-zookeeper", Goal: "≥ 1.00× at 1, 64 and 256 goroutines", Measured: v, Display: fmtRatio(v) + " (worst)",
			Pass: v >= 1, Detail: "worst at " + goroutines(pt.Concurrency)}
		if !hasPeer {
			t.Skipped = noPeer
		} else {
			t.Detail += spreadNote(pt.Zkit, pt.Peer, fmtRatio)
		}
		ts = append(ts, t)
	}
	for _, op := range opsOrder {
		pts := d.points(op)
		t := Target{Name: op + " throughput vs raw wire", Goal: "≥ 95% of the wire baseline at the highest concurrency"}
		if len(pts) == 0 || wire.result(op) == nil {
			t.Skipped = "the wire scenario did not run"
		} else {
			last := pts[len(pts)-1]
			t.Measured = last.ZkitOfWire
			t.Display = nearLine(last.ZkitOfWire, 0.95, fmtPct, fmtPct1)
			t.Pass = last.ZkitOfWire >= 0.95
			t.Detail = fmt.Sprintf("%s vs %d in flight", goroutines(last.Concurrency), wire.Window)
			w := wire.result(op)
			if last.Wire != nil {
				w = last.Wire
				t.Detail += fmt.Sprintf(", the wire run alternately with the libraries: %s op/s", fmtCount(last.Wire.Throughput))
			}
			t.Detail += spreadNote(last.Zkit, w, fmtPct)
		}
		ts = append(ts, t)
	}
	if d.Idle.Zkit != nil {
		h := float64(d.Idle.Zkit.IdleHeap)
		detail := ""
		if d.Idle.Peer != nil {
			detail = "go-zookeeper: " + fmtBytes(float64(d.Idle.Peer.IdleHeap))
		}
		ts = append(ts, Target{Name: "idle client buffers", Goal: "< 64 KiB", Measured: h, Display: fmtBytes(h), Pass: h < 64<<10, Detail: detail})
	}
	return ts
}
