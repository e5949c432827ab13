package harness

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram buckets: values below 128 ns are exact; above, each power of two
// is cut into 64 sub-buckets, so a reported percentile is within 1.6% of
// the true value. Values from 2^37 ns (137 s) up share the last bucket.
const (
	histLinear  = 128
	histSub     = 64
	histBuckets = 2048
)

// Histogram records latencies from many goroutines without allocating or
// locking. The zero value is ready to use.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	count  atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

func bucketOf(v uint64) int {
	if v < histLinear {
		return int(v)
	}
	e := bits.Len64(v) - 7 // v>>e is in [64, 128)
	i := histLinear + (e-1)*histSub + int(v>>uint(e)) - histSub
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// bucketValue returns the middle of bucket i.
func bucketValue(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	e := (i-histLinear)/histSub + 1
	m := uint64((i-histLinear)%histSub + histSub)
	return m<<uint(e) + (1<<uint(e))/2
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns how many latencies were recorded.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Quantile returns the latency below which a fraction q of the recorded ones
// fall, or 0 when none was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(bucketValue(i), h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// Summary returns the usual percentiles, the mean and the maximum.
func (h *Histogram) Summary() Latency {
	n := h.count.Load()
	if n == 0 {
		return Latency{}
	}
	return Latency{
		Count: n,
		Mean:  time.Duration(h.sum.Load() / n),
		P50:   h.Quantile(0.50),
		P90:   h.Quantile(0.90),
		P99:   h.Quantile(0.99),
		P999:  h.Quantile(0.999),
		Max:   time.Duration(h.max.Load()),
	}
}
