package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/zkit-go/zkit/bench/internal/harness"
)

// wireScenario measures the raw wire baseline: pre-encoded requests on one
// connection with a fixed window in flight (see taskWire).
type wireScenario struct{}

func init() { register(10, wireScenario{}) }

func (wireScenario) Name() string { return "wire" }
func (wireScenario) Title() string {
	return "raw pipelined connection (core/proto, pre-encoded requests): the server's limit"
}

// WireData is the wire scenario's figures; the operations scenario divides
// its throughputs by them.
type WireData struct {
	Window  int                  `json:"window"`
	Results map[string]*Measured `json:"results"`
	// Sync is one request at a time (taskWireSync): the floor of a
	// synchronous call's latency and client CPU in Go's network poller.
	Sync map[string]*Measured `json:"sync,omitempty"`
}

const sharedWire = "wire"

func (wireScenario) Run(ctx context.Context, r *Runner) (*Section, error) {
	dir, err := r.DataDir(ctx)
	if err != nil {
		return nil, err
	}
	warm, dur := r.Phases(300*time.Millisecond, time.Second, 100*time.Millisecond, 400*time.Millisecond)
	data := &WireData{Window: max(r.cfg.Window/wireChunk, 1) * wireChunk, Results: map[string]*Measured{}, Sync: map[string]*Measured{}}
	for _, op := range opsOrder {
		job := r.Job(taskWire)
		job.Op, job.DataDir, job.Nodes, job.Window = op, dir, dataNodes, data.Window
		job.Warmup, job.Duration = warm, dur
		m, err := r.Single(ctx, "wire "+op, libWire, job)
		if err != nil {
			return nil, err
		}
		data.Results[op] = m
		job.Task = taskWireSync
		if m, err = r.Single(ctx, "wire sync "+op, libWire, job); err != nil {
			return nil, err
		}
		data.Sync[op] = m
	}
	r.Shared[sharedWire] = data
	return data.section(), nil
}

// Render rebuilds the section from a report's JSON.
func (wireScenario) Render(raw json.RawMessage, shared map[string]any) (*Section, error) {
	var data WireData
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, err
	}
	shared[sharedWire] = &data
	return data.section(), nil
}

func (d *WireData) section() *Section {
	t := Table{
		Title:   fmt.Sprintf("Raw wire baseline: %d requests in flight on one connection", d.Window),
		Columns: []string{"op", "op/s", "p50", "p99", "client CPU/op"},
	}
	for _, op := range opsOrder {
		if m := d.Results[op]; m != nil {
			t.Rows = append(t.Rows, []string{op, fmtCount(m.Throughput), fmtDur(float64(m.Latency.P50)), fmtDur(float64(m.Latency.P99)), fmtDur(m.CPUPerOp)})
		}
	}
	tables := []Table{t}
	if len(d.Sync) > 0 {
		st := Table{
			Title:   "Raw wire, one request at a time, read in Go's network poller",
			Columns: []string{"op", "op/s", "p50", "p99", "client CPU/op", "syscalls/op"},
		}
		for _, op := range opsOrder {
			if m := d.Sync[op]; m != nil {
				st.Rows = append(st.Rows, []string{op, fmtCount(m.Throughput), fmtDur(float64(m.Latency.P50)), fmtDur(float64(m.Latency.P99)),
					fmtDur(m.CPUPerOp), fmtFloat(syscallsPerOp(m), 2)})
			}
		}
		tables = append(tables, st)
	}
	return &Section{
		Name:  "wire",
		Title: "Wire baseline",
		Notes: []string{"One connection, requests encoded once before the run and written " + fmt.Sprint(wireChunk) +
			" at a time as replies come back: the server's limit with a client that costs next to nothing. The operations scenario shows each library's " +
			"throughput as a fraction of it. Where client and server share a few cores, a library's runs can land a little above it.",
			"One request at a time: a single goroutine writes a pre-encoded request and reads its reply in Go's network poller, with no other goroutine. " +
				"A client whose callers wait in the network poller cannot spend less CPU per call at one goroutine: the write, the read and the wake-up " +
				"between them are most of it. zkit's callers, on Linux, wait in a blocking poll instead, which costs less."},
		Tables: tables,
		Data:   d,
	}
}

var opsOrder = []string{harness.OpGet, harness.OpSet, harness.OpCreate}
