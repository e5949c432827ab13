package harness

import (
	"math"
	"testing"
	"time"
)

func TestBucketsCoverValuesInOrder(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<37 - 1, 1 << 37, math.MaxUint64} {
		b := bucketOf(v)
		if b < prev || b >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d after %d", v, b, prev)
		}
		prev = b
		if v < 1<<37 {
			got := float64(bucketValue(b))
			if err := math.Abs(got-float64(v)) / math.Max(float64(v), 1); err > 0.016 {
				t.Errorf("bucketValue(bucketOf(%d)) = %v, %.3f off", v, got, err)
			}
		}
	}
}

func TestQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	s := h.Summary()
	check := func(name string, got, want time.Duration) {
		t.Helper()
		if math.Abs(float64(got-want))/float64(want) > 0.02 {
			t.Errorf("%s = %v, want about %v", name, got, want)
		}
	}
	check("p50", s.P50, 500*time.Microsecond)
	check("p99", s.P99, 990*time.Microsecond)
	check("mean", s.Mean, 500500*time.Nanosecond)
	if s.Max != time.Millisecond || s.Count != 1000 {
		t.Errorf("max %v count %d", s.Max, s.Count)
	}
	var empty Histogram
	if empty.Summary() != (Latency{}) {
		t.Error("empty histogram has a summary")
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(1000, func() { h.Record(1234 * time.Microsecond) }); n != 0 {
		t.Errorf("%v allocs per Record", n)
	}
}
