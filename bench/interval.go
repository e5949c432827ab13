package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// bootstrapRounds is how many resamples ratioInterval draws: enough for
// its 5th and 95th percentiles to settle to a percent or so.
const bootstrapRounds = 4000

// ratioInterval says how far the ratio of two medians, median(a) ÷
// median(b), could move with other draws of the same runs: the 5th and
// 95th percentiles of that ratio over bootstrap resamples of a and b, each
// drawn with replacement on its own. A single run of a point on a small
// shared machine moves by tens of percent, so a ratio near a goal means
// little without it. ok is false with fewer than three runs on either side.
//
// The resampling is seeded from the runs themselves, so that rendering a
// report's JSON again prints the same interval.
func ratioInterval(a, b []float64) (lo, hi float64, ok bool) {
	if len(a) < 3 || len(b) < 3 {
		return 0, 0, false
	}
	var seed uint64
	for _, v := range slices.Concat(a, b) {
		seed = seed*31 + uint64(v)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(len(a))<<32|uint64(len(b))))
	ratios := make([]float64, 0, bootstrapRounds)
	da, db := make([]float64, len(a)), make([]float64, len(b))
	for range bootstrapRounds {
		mb := resampleMedian(rng, b, db)
		if mb <= 0 {
			continue
		}
		ratios = append(ratios, resampleMedian(rng, a, da)/mb)
	}
	if len(ratios) == 0 {
		return 0, 0, false
	}
	slices.Sort(ratios)
	return ratios[len(ratios)*5/100], ratios[len(ratios)*95/100], true
}

// resampleMedian draws len(xs) values of xs with replacement into buf and
// returns their median, chosen as median does: the lower middle one.
func resampleMedian(rng *rand.Rand, xs, buf []float64) float64 {
	for i := range buf {
		buf[i] = xs[rng.IntN(len(xs))]
	}
	slices.Sort(buf)
	return buf[(len(buf)-1)/2]
}

// spreadNote is a target's note on how far its ratio of a's median run to
// b's could move with other draws of the same runs (ratioInterval), or ""
// when either side ran fewer than three times.
func spreadNote(a, b *Measured, format func(float64) string) string {
	if a == nil || b == nil {
		return ""
	}
	lo, hi, ok := ratioInterval(a.Runs, b.Runs)
	if !ok {
		return ""
	}
	return fmt.Sprintf("; 90%% bootstrap interval %s–%s over %d and %d runs", format(lo), format(hi), len(a.Runs), len(b.Runs))
}
