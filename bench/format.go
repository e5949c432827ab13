package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// fmtCount formats n with thousands separators: 52,310.
func fmtCount(n float64) string {
	if math.IsNaN(n) {
		return "–"
	}
	s := strconv.FormatInt(int64(math.Round(n)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtDur formats nanoseconds with three significant digits: 1.10 ms.
func fmtDur(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "–"
	case ns >= 1e9:
		return sig3(ns/1e9) + " s"
	case ns >= 1e6:
		return sig3(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// fmtBytes formats a byte count in B, KiB or MiB.
func fmtBytes(n float64) string {
	a := math.Abs(n)
	switch {
	case math.IsNaN(n):
		return "–"
	case a >= 1<<30:
		return sig3(n/(1<<30)) + " GiB"
	case a >= 1<<20:
		return sig3(n/(1<<20)) + " MiB"
	case a >= 1<<10:
		return sig3(n/(1<<10)) + " KiB"
	}
	return fmt.Sprintf("%.0f B", n)
}

// ratio is a/b, NaN when either is missing.
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return a / b
}

func fmtRatio(r float64) string  { return fmtScaled(r, 1, 2, "×") }
func fmtRatio3(r float64) string { return fmtScaled(r, 1, 3, "×") }
func fmtPct(r float64) string    { return fmtScaled(r, 100, 0, "%") }
func fmtPct1(r float64) string   { return fmtScaled(r, 100, 1, "%") }

// fmtScaled formats r times scale with prec decimals and unit, or "–" for
// a ratio that could not be measured.
func fmtScaled(r, scale float64, prec int, unit string) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return strconv.FormatFloat(scale*r, 'f', prec, 64) + unit
}

// nearLine formats v with format, or with one more digit, through finer,
// when format would show it equal to the target's line without being equal,
// so that which side of the line it falls on shows: 0.604× is not "0.60×"
// against a line of 0.60×.
func nearLine(v, line float64, format, finer func(float64) string) string {
	if format(v) == format(line) && v != line {
		return finer(v)
	}
	return format(v)
}

func fmtFloat(v float64, prec int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func secondsDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
