package main

import (
	"strings"
	"testing"
)

func TestRatioInterval(t *testing.T) {
	if _, _, ok := ratioInterval([]float64{1, 2}, []float64{1, 2, 3}); ok {
		t.Error("an interval from two runs")
	}
	lo, hi, ok := ratioInterval([]float64{90, 90, 90}, []float64{100, 100, 100, 100})
	if !ok || lo != 0.9 || hi != 0.9 {
		t.Errorf("steady runs: interval %v–%v (ok %v), want 0.9–0.9", lo, hi, ok)
	}

	a := []float64{95, 60, 130, 100, 88}
	b := []float64{100, 140, 70, 101, 99}
	lo, hi, ok = ratioInterval(a, b)
	if !ok || !(lo < 95.0/100 && 95.0/100 < hi) {
		t.Errorf("spread runs: interval %v–%v (ok %v) does not hold the medians' ratio 0.95", lo, hi, ok)
	}
	if lo < 60.0/140 || hi > 130.0/70 {
		t.Errorf("spread runs: interval %v–%v beyond the extreme ratios", lo, hi)
	}
	lo2, hi2, _ := ratioInterval(a, b)
	if lo2 != lo || hi2 != hi {
		t.Errorf("same runs, another interval: %v–%v, then %v–%v", lo, hi, lo2, hi2)
	}

	narrow := []float64{95, 94, 96, 95, 95}
	nlo, nhi, _ := ratioInterval(narrow, []float64{100, 99, 101, 100, 100})
	if nhi-nlo >= hi-lo {
		t.Errorf("steadier runs gave no narrower interval: %v–%v against %v–%v", nlo, nhi, lo, hi)
	}
}

func TestSpreadNote(t *testing.T) {
	a := &Measured{Runs: []float64{95, 60, 130, 100, 88}}
	b := &Measured{Runs: []float64{100, 140, 70, 101, 99}}
	note := spreadNote(a, b, fmtPct)
	if !strings.HasPrefix(note, "; 90% bootstrap interval ") || !strings.HasSuffix(note, " over 5 and 5 runs") {
		t.Errorf("note %q", note)
	}
	if got := spreadNote(a, &Measured{}, fmtPct); got != "" {
		t.Errorf("note without the other side's runs: %q", got)
	}
	if got := spreadNote(a, nil, fmtPct); got != "" {
		t.Errorf("note without the other side: %q", got)
	}
}
