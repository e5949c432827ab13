package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Steal time is CPU time the hypervisor gave to something else while this
// machine's virtual CPUs had work: on a shared host it comes in spells,
// and a run inside one is slower for reasons no client controls. The
// runner measures the machine's share of it over every run, so that a
// report says which of its figures come from such spells.

// procDir is where cpuTimesNow reads /proc/stat; tests point it elsewhere.
var procDir = "/proc"

// cpuTimes are the machine's CPU time counters, summed over its CPUs, in
// clock ticks.
type cpuTimes struct {
	steal, total uint64
}

// cpuTimesNow reads the "cpu" line of /proc/stat; ok is false where there
// is none (not Linux) or it has no steal field (kernels before 2.6.11).
func cpuTimesNow() (t cpuTimes, ok bool) {
	first, _, _ := strings.Cut(fileText(filepath.Join(procDir, "stat")), "\n")
	fields := strings.Fields(first)
	// cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return cpuTimes{}, false
	}
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return cpuTimes{}, false
		}
		if i < 8 { // guest time is counted in user time already
			t.total += v
		}
		if i == 7 {
			t.steal = v
		}
	}
	return t, true
}

// stealShare is the share of the CPU time between a and b that was stolen,
// 0 when no time passed.
func stealShare(a, b cpuTimes) float64 {
	if b.total <= a.total || b.steal < a.steal {
		return 0
	}
	return float64(b.steal-a.steal) / float64(b.total-a.total)
}

// StealSummary sums up the steal shares of a report's runs.
type StealSummary struct {
	Runs   int     `json:"runs"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
	// Over5 counts the runs that lost more than 5% of the CPU time.
	Over5 int `json:"over_5_percent"`
}

// String is the summary as the report prints it.
func (s *StealSummary) String() string {
	return fmt.Sprintf("CPU time taken by the hypervisor: median %.1f%%, max %.1f%% over %d runs; %d runs above 5%%",
		100*s.Median, 100*s.Max, s.Runs, s.Over5)
}

func summarizeSteal(shares []float64) *StealSummary {
	if len(shares) == 0 {
		return nil
	}
	sorted := slices.Sorted(slices.Values(shares))
	s := &StealSummary{Runs: len(sorted), Median: sorted[(len(sorted)-1)/2], Max: sorted[len(sorted)-1]}
	for _, v := range sorted {
		if v > 0.05 {
			s.Over5++
		}
	}
	return s
}
