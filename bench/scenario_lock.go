package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/zkit-go/zkit/bench/internal/harness"
	"github.com/zkit-go/zkit/recipes/lock"
)

// lockScenario measures recipes/lock's Mutex against go-zookeeper's Lock:
// contention between sessions, an uncontended acquire and release, and
// many independent locks of one client.
type lockScenario struct{}

func init() { register(30, lockScenario{}) }

func (lockScenario) Name() string { return "lock" }
func (lockScenario) Title() string {
	return "mutex: contended, uncontended, many independent locks (recipes/lock vs zk.Lock)"
}

// NewMutex makes zkit's client a harness.Locker: the mutex is recipes/lock's.
func (z *zkitClient) NewMutex(path string) harness.Mutex { return lock.NewMutex(z.c, path) }

// LockPoint is one contender count.
type LockPoint struct {
	Contenders int `json:"contenders"`
	Pair
}

// LockData is the lock scenario's figures.
type LockData struct {
	Contended   []LockPoint `json:"contended"`
	Uncontended Pair        `json:"uncontended"`
	Locks       int         `json:"many_locks"`
	Many        Pair        `json:"many"`
}

func (lockScenario) Run(ctx context.Context, r *Runner) (*Section, error) {
	data := &LockData{Locks: r.cfg.Locks}
	warm, dur := r.Phases(500*time.Millisecond, 2*time.Second, 200*time.Millisecond, 800*time.Millisecond)
	for _, n := range r.cfg.Contenders {
		job := r.Job(harness.TaskLockContended)
		job.Concurrency, job.Warmup, job.Duration = n, warm, dur
		p, err := r.Compare(ctx, fmt.Sprintf("lock, %d contenders", n), job, nil)
		if err != nil {
			return nil, err
		}
		data.Contended = append(data.Contended, LockPoint{Contenders: n, Pair: p})
	}
	warm, dur = r.Phases(300*time.Millisecond, time.Second, 100*time.Millisecond, 500*time.Millisecond)
	job := r.Job(harness.TaskLockUncontended)
	job.Warmup, job.Duration = warm, dur
	var err error
	if data.Uncontended, err = r.Compare(ctx, "lock, uncontended", job, nil); err != nil {
		return nil, err
	}
	job = r.Job(harness.TaskLockMany)
	job.Concurrency, job.Warmup, job.Duration = r.cfg.Locks, warm, dur
	if data.Many, err = r.Compare(ctx, fmt.Sprintf("%d locks, one client", r.cfg.Locks), job, nil); err != nil {
		return nil, err
	}
	return data.section(), nil
}

// Render rebuilds the section from a report's JSON.
func (lockScenario) Render(raw json.RawMessage, _ map[string]any) (*Section, error) {
	var data LockData
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, err
	}
	return data.section(), nil
}

func (d *LockData) section() *Section {
	s := &Section{Name: "lock", Title: "Lock", Data: d}
	s.Notes = []string{
		"Contended: N contenders, each with its own client and session, take one lock in a loop and release it at once. " +
			"Acquisitions per second count every hand-off; the wait is the time from calling Lock until it returns.",
		"Uncontended: one client takes and releases a lock nobody else wants; an operation is one acquire plus one release. " +
			"Many: one client takes " + strconv.Itoa(d.Locks) + " different locks from as many goroutines at once.",
		"Server log syncs: an acquisition costs two writes, its create and its delete, and writes that reach the server together share one fsync of its log. " +
			"The interval is the run's time divided by its fsyncs; where it is longer than an fsync takes, the log waited for the clients. " +
			"The counts come from the server's mntr figures, so they appear only when the server syncs its log and answers mntr.",
	}
	cont := Table{Title: "Contended: one lock, one session per contender", Columns: []string{"contenders", "acq/s zkit", "acq/s peer", "zkit/peer",
		"wait p50 zkit", "wait p50 peer", "wait p99 zkit", "wait p99 peer", "p99 zkit/peer", "CPU/acq zkit", "CPU/acq peer", "run spread"}}
	for _, pt := range d.Contended {
		z, pe := pt.get(throughput)
		z50, p50v := pt.get(p50)
		z99, p99v := pt.get(p99)
		zc, pc := pt.get(cpuPerOp)
		cont.Rows = append(cont.Rows, []string{strconv.Itoa(pt.Contenders), fmtCount(z), fmtCount(pe), fmtRatio(ratio(z, pe)),
			fmtDur(z50), fmtDur(p50v), fmtDur(z99), fmtDur(p99v), fmtRatio(ratio(z99, p99v)), fmtDur(zc), fmtDur(pc), pt.spread()})
	}
	logs := Table{Title: "Server log syncs during the contended runs (first server)", Columns: []string{"contenders",
		"fsyncs/acq zkit", "fsyncs/acq peer", "fsync interval zkit", "fsync interval peer"}}
	for _, pt := range d.Contended {
		zf, pf := pt.get(fsyncsPerOp)
		zi, pi := pt.get(fsyncInterval)
		if math.IsNaN(zf) && math.IsNaN(pf) {
			continue
		}
		logs.Rows = append(logs.Rows, []string{strconv.Itoa(pt.Contenders), fmtFloat(zf, 2), fmtFloat(pf, 2), fmtDur(zi), fmtDur(pi)})
	}
	unc := Table{Title: "Uncontended acquire + release, one client", Columns: []string{"library", "p50", "p99", "mean", "acquire p50", "release p50", "pairs/s", "CPU/pair"}}
	many := Table{Title: fmt.Sprintf("%d independent locks from one client", d.Locks), Columns: []string{"library", "pairs/s", "p50", "p99", "CPU/pair", "allocs/pair"}}
	for _, m := range []*Measured{d.Uncontended.Zkit, d.Uncontended.Peer} {
		if m != nil {
			unc.Rows = append(unc.Rows, []string{m.Lib, fmtDur(float64(m.Latency.P50)), fmtDur(float64(m.Latency.P99)), fmtDur(float64(m.Latency.Mean)),
				fmtDur(float64(m.Parts["acquire"].P50)), fmtDur(float64(m.Parts["release"].P50)), fmtCount(m.Throughput), fmtDur(m.CPUPerOp)})
		}
	}
	for _, m := range []*Measured{d.Many.Zkit, d.Many.Peer} {
		if m != nil {
			many.Rows = append(many.Rows, []string{m.Lib, fmtCount(m.Throughput), fmtDur(float64(m.Latency.P50)), fmtDur(float64(m.Latency.P99)),
				fmtDur(m.CPUPerOp), fmtFloat(m.AllocsPerOp, 1)})
		}
	}
	s.Tables = []Table{cont, unc, many}
	if len(logs.Rows) > 0 {
		s.Tables = []Table{cont, logs, unc, many}
	}
	s.Charts = d.charts()
	s.Targets = d.targets()
	return s
}

// fsyncsPerOp is how many times the server synced its log per
// acquisition: a lock costs two writes (the create and the delete), and
// writes that reach the server together share one fsync.
// NaN when the server did not say.
func fsyncsPerOp(m *Measured) float64 {
	if m.ServerFsyncsPerOp <= 0 {
		return math.NaN()
	}
	return m.ServerFsyncsPerOp
}

// fsyncInterval is the mean time from one fsync of the server's log to the
// next. When it is longer than an fsync takes, the log sat idle in
// between, waiting for the clients' next writes.
func fsyncInterval(m *Measured) float64 {
	if m.ServerFsyncsPerOp <= 0 || m.Throughput <= 0 {
		return math.NaN()
	}
	return 1e9 / (m.Throughput * m.ServerFsyncsPerOp)
}

func (d *LockData) charts() []Chart {
	var x []string
	zs := map[string]*Series{}
	for _, name := range []string{"thr", "thrp", "z50", "z99", "p50", "p99"} {
		zs[name] = &Series{}
	}
	for _, pt := range d.Contended {
		x = append(x, strconv.Itoa(pt.Contenders))
		z, pe := pt.get(throughput)
		zs["thr"].Values, zs["thrp"].Values = append(zs["thr"].Values, z), append(zs["thrp"].Values, pe)
		z, pe = pt.get(p50)
		zs["z50"].Values, zs["p50"].Values = append(zs["z50"].Values, z), append(zs["p50"].Values, pe)
		z, pe = pt.get(p99)
		zs["z99"].Values, zs["p99"].Values = append(zs["z99"].Values, z), append(zs["p99"].Values, pe)
	}
	named := func(key, name, style string, dashed bool) Series {
		s := *zs[key]
		s.Name, s.Style, s.Dashed = name, style, dashed
		return s
	}
	charts := []Chart{
		{Title: "Contended lock: acquisitions per second", XLabel: "contenders (one session each)", YLabel: "acquisitions per second", X: x, Unit: "rate",
			Series: []Series{named("thr", "zkit", "zkit", false), named("thrp", "go-zookeeper", "peer", false)}},
		{Title: "Contended lock: wait for the lock", XLabel: "contenders (one session each)", YLabel: "wait (log scale)", X: x, Unit: "duration", LogY: true,
			Series: []Series{named("z50", "zkit p50", "zkit", false), named("z99", "zkit p99", "zkit", true),
				named("p50", "go-zookeeper p50", "peer", false), named("p99", "go-zookeeper p99", "peer", true)}},
	}
	parts := func(p Pair, title string, withParts bool) Chart {
		cats := []string{"p50", "p99"}
		if withParts {
			cats = append([]string{"acquire p50", "release p50"}, cats...)
		}
		c := Chart{Title: title, XLabel: "", YLabel: "latency", X: cats, Unit: "duration", Kind: "bar"}
		for _, m := range []*Measured{p.Zkit, p.Peer} {
			if m == nil {
				continue
			}
			var vals []float64
			if withParts {
				vals = append(vals, float64(m.Parts["acquire"].P50), float64(m.Parts["release"].P50))
			}
			vals = append(vals, float64(m.Latency.P50), float64(m.Latency.P99))
			style := "zkit"
			if m.Lib != libZkit {
				style = "peer"
			}
			c.Series = append(c.Series, Series{Name: m.Lib, Style: style, Values: vals})
		}
		return c
	}
	charts = append(charts,
		parts(d.Uncontended, "Uncontended acquire + release", true),
		parts(d.Many, fmt.Sprintf("%d independent locks, one client: acquire + release", d.Locks), false))
	return charts
}

func (d *LockData) targets() []Target {
	var ts []Target
	hasPeer := len(d.Contended) > 0 && d.Contended[0].Peer != nil
	skip := func(t Target) Target {
		if !hasPeer {
			t.Skipped = "no peer in this run (--no-peer)"
		}
		return t
	}
	for _, goal := range []struct {
		n   int
		min float64
	}{{2, 1.3}, {8, 1.1}, {32, 1.1}} {
		t := Target{Name: fmt.Sprintf("lock throughput at %d contenders", goal.n), Goal: fmt.Sprintf("≥ %.2f× go-zookeeper", goal.min)}
		t.Skipped = "not measured (see --contenders)"
		for _, pt := range d.Contended {
			if pt.Contenders == goal.n {
				z, pe := pt.get(throughput)
				t.Skipped, t.Measured = "", ratio(z, pe)
				t.Display, t.Pass = fmtRatio(t.Measured), t.Measured >= goal.min
				t.Detail = fmt.Sprintf("%s vs %s acquisitions/s", fmtCount(z), fmtCount(pe)) + spreadNote(pt.Zkit, pt.Peer, fmtRatio)
			}
		}
		if t.Skipped == "" {
			t = skip(t)
		}
		ts = append(ts, t)
	}
	worstN, worstR := 0, math.NaN()
	for _, pt := range d.Contended {
		if r := ratio(pt.get(p99)); math.IsNaN(worstR) || r > worstR {
			worstN, worstR = pt.Contenders, r
		}
	}
	ts = append(ts, skip(Target{Name: "lock wait p99 at every contender count", Goal: "lower than go-zookeeper's (< 1.00×)", Measured: worstR,
		Display: fmtRatio(worstR) + " (worst)", Pass: worstR < 1, Detail: fmt.Sprintf("worst at %d contenders", worstN)}))
	z, pe := d.Uncontended.get(p50)
	ts = append(ts, skip(Target{Name: "uncontended acquire + release", Goal: "≤ 0.90× go-zookeeper's time (p50)", Measured: ratio(z, pe),
		Display: fmtRatio(ratio(z, pe)), Pass: ratio(z, pe) <= 0.9, Detail: fmt.Sprintf("%s vs %s", fmtDur(z), fmtDur(pe))}))
	return ts
}
