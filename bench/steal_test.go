package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostSteal(t *testing.T) {
	defer func(dir string) { procDir = dir }(procDir)
	procDir = t.TempDir()
	stat := func(line string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(procDir, "stat"), []byte(line+"\ncpu0 1 2 3 4 5 6 7 8 9 10\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// user nice system idle iowait irq softirq steal guest guest_nice
	stat("cpu  100 0 50 800 10 0 5 35 20 0")
	a, ok := cpuTimesNow()
	if !ok || a.steal != 35 || a.total != 1000 {
		t.Fatalf("got %+v, %v; want steal 35 of 1000 ticks (guest time not counted twice)", a, ok)
	}
	stat("cpu  200 0 100 1500 10 0 5 185 40 0")
	b, _ := cpuTimesNow()
	if got := stealShare(a, b); got != 0.15 {
		t.Errorf("steal share %v, want 0.15 (150 of 1000 ticks)", got)
	}
	if got := stealShare(b, b); got != 0 {
		t.Errorf("no time passed: share %v, want 0", got)
	}

	for _, bad := range []string{"", "cpu  1 2 3 4 5 6 7", "intr 1 2 3 4 5 6 7 8 9", "cpu  1 2 3 4 x 6 7 8"} {
		stat(bad)
		if _, ok := cpuTimesNow(); ok {
			t.Errorf("%q: read as CPU times", bad)
		}
	}

	s := summarizeSteal([]float64{0.001, 0.2, 0.004, 0.06, 0.002})
	if s.Runs != 5 || s.Median != 0.004 || s.Max != 0.2 || s.Over5 != 2 {
		t.Errorf("summary %+v", s)
	}
	if want := "CPU time taken by the hypervisor: median 0.4%, max 20.0% over 5 runs; 2 runs above 5%"; s.String() != want {
		t.Errorf("printed %q, want %q", s.String(), want)
	}
	if summarizeSteal(nil) != nil {
		t.Error("a summary of no runs")
	}
}
