package main

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	svgW      = 600
	svgH      = 340
	svgLeft   = 78
	svgRight  = 18
	svgTop    = 62
	svgBottom = 58
)

var seriesColor = map[string]string{"zkit": "#2563eb", "peer": "#ea580c", "baseline": "#6b7280"}

var extraColors = []string{"#16a34a", "#9333ea", "#0891b2", "#ca8a04"}

func colorOf(s Series, i int) string {
	if c, ok := seriesColor[s.Style]; ok {
		return c
	}
	return extraColors[i%len(extraColors)]
}

// svgChart draws c as a self-contained SVG element.
func svgChart(c Chart) string {
	var b strings.Builder
	bottom := svgBottom
	rotate := c.Kind == "bar" && len(c.X) > 4
	if rotate {
		bottom += 22
	}
	px0, px1 := float64(svgLeft), float64(svgW-svgRight)
	py0, py1 := float64(svgTop), float64(svgH-bottom)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="%s">`, svgW, svgH, esc(c.Title))
	fmt.Fprintf(&b, `<text class="title" x="%d" y="24">%s</text>`, svgLeft-60, esc(c.Title))
	legend(&b, c)

	var vals []float64
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) && (v > 0 || !c.LogY) {
				vals = append(vals, v)
			}
		}
	}
	if len(vals) == 0 || len(c.X) == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d">no data</text></svg>`, svgW/2, svgH/2)
		return b.String()
	}
	sc := newScale(vals, c.LogY, c.Unit == "bytes", py1, py0)
	// Grid and y ticks.
	for _, t := range sc.ticks {
		y := sc.y(t)
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, px0, px1, y, y)
		fmt.Fprintf(&b, `<text class="ytick" x="%.1f" y="%.1f">%s</text>`, px0-6, y+4, esc(tickLabel(t, c.Unit)))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, px0, px1, py1, py1)
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, px0, px0, py0, py1)
	// X categories.
	step := (px1 - px0) / float64(len(c.X))
	xAt := func(i int) float64 { return px0 + (float64(i)+0.5)*step }
	for i, x := range c.X {
		if rotate {
			fmt.Fprintf(&b, `<text class="xtick" transform="translate(%.1f %.1f) rotate(-35)" text-anchor="end">%s</text>`, xAt(i)+4, py1+14, esc(x))
		} else {
			fmt.Fprintf(&b, `<text class="xtick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, xAt(i), py1+18, esc(x))
		}
	}
	if c.XLabel != "" {
		fmt.Fprintf(&b, `<text class="xlabel" x="%.1f" y="%d" text-anchor="middle">%s</text>`, (px0+px1)/2, svgH-10, esc(c.XLabel))
	}
	fmt.Fprintf(&b, `<text class="ylabel" transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">%s</text>`, (py0+py1)/2, esc(c.YLabel))

	if c.Kind == "bar" {
		bars(&b, c, sc, xAt, step)
	} else {
		lines(&b, c, sc, xAt)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func legend(b *strings.Builder, c Chart) {
	x := float64(svgLeft - 60)
	for i, s := range c.Series {
		col := colorOf(s, i)
		dash := ""
		if s.Dashed || s.Style == "baseline" {
			dash = ` stroke-dasharray="6 4"`
		}
		if c.Kind == "bar" {
			fmt.Fprintf(b, `<rect x="%.1f" y="38" width="14" height="10" fill="%s"/>`, x, col)
		} else {
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="43" y2="43" stroke="%s" stroke-width="2.5"%s/>`, x, x+22, col, dash)
		}
		x += 28
		fmt.Fprintf(b, `<text class="legend" x="%.1f" y="47">%s</text>`, x, esc(s.Name))
		x += 7*float64(len([]rune(s.Name))) + 18
	}
}

func lines(b *strings.Builder, c Chart, sc *scale, xAt func(int) float64) {
	label := len(c.X) <= 5 && len(c.Series) <= 3
	for i, s := range c.Series {
		col := colorOf(s, i)
		dash := ""
		if s.Dashed || s.Style == "baseline" {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2.5"%s points="%s"/>`, col, dash, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for j, v := range s.Values {
			if j >= len(c.X) || !sc.ok(v) {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(j), sc.y(v)))
		}
		flush()
		if s.Style == "baseline" {
			// Labelled at its left end, where the lines of a rising chart
			// are still low.
			if len(s.Values) > 0 && sc.ok(s.Values[0]) {
				fmt.Fprintf(b, `<text class="value" x="%.1f" y="%.1f" text-anchor="start" fill="%s">%s</text>`,
					xAt(0)-20, sc.y(s.Values[0])-6, col, esc(tickLabel(s.Values[0], c.Unit)))
			}
			continue
		}
		for j, v := range s.Values {
			if j >= len(c.X) || !sc.ok(v) {
				continue
			}
			x, y := xAt(j), sc.y(v)
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s, %s: %s</title></circle>`, x, y, col, esc(s.Name), esc(c.X[j]), esc(valueLabel(v, c.Unit)))
			if label {
				// The higher of the values at this category is labelled
				// above its point, the others below, so labels do not meet.
				dy := -9.0
				for k, o := range c.Series {
					if k != i && o.Style != "baseline" && j < len(o.Values) && sc.ok(o.Values[j]) && (o.Values[j] > v || (o.Values[j] == v && k < i)) {
						dy = 17
					}
				}
				fmt.Fprintf(b, `<text class="value" x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`, x, y+dy, col, esc(tickLabel(v, c.Unit)))
			}
		}
	}
}

func bars(b *strings.Builder, c Chart, sc *scale, xAt func(int) float64, step float64) {
	n := float64(len(c.Series))
	group := step * 0.78
	w := group / n
	base := sc.y(sc.lo)
	label := w >= 26
	for i, s := range c.Series {
		col := colorOf(s, i)
		for j, v := range s.Values {
			if j >= len(c.X) || !sc.ok(v) {
				continue
			}
			x := xAt(j) - group/2 + float64(i)*w
			y := sc.y(v)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`,
				x+1, y, w-2, max(base-y, 0.5), col, esc(s.Name), esc(c.X[j]), esc(valueLabel(v, c.Unit)))
			if label {
				fmt.Fprintf(b, `<text class="value" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+w/2, y-4, esc(tickLabel(v, c.Unit)))
			}
		}
	}
}

// scale maps values to y coordinates, linear from zero or logarithmic.
type scale struct {
	log    bool
	lo, hi float64
	y0, y1 float64 // pixel rows of lo and hi
	ticks  []float64
}

func newScale(vals []float64, logY, binary bool, yLo, yHi float64) *scale {
	mn, mx := vals[0], vals[0]
	for _, v := range vals {
		mn, mx = math.Min(mn, v), math.Max(mx, v)
	}
	s := &scale{log: logY, y0: yLo, y1: yHi}
	if logY {
		s.lo = math.Pow(10, math.Floor(math.Log10(mn)))
		s.hi = math.Pow(10, math.Ceil(math.Log10(mx)))
		if s.hi <= s.lo {
			s.hi = s.lo * 10
		}
		decades := int(math.Round(math.Log10(s.hi / s.lo)))
		for d := s.lo; d <= s.hi*1.0001; d *= 10 {
			s.ticks = append(s.ticks, d)
			if decades <= 2 && d < s.hi {
				s.ticks = append(s.ticks, 2*d, 5*d)
			}
		}
		return s
	}
	s.lo = 0
	if mn < 0 {
		s.lo = mn
	}
	// Byte counts step in round KiB or MiB.
	div := 1.0
	for binary && mx/div >= 1024 {
		div *= 1024
	}
	stepv := niceStep((mx*1.08-s.lo)/div/5) * div
	s.hi = math.Ceil(mx*1.08/stepv) * stepv
	if s.hi <= s.lo {
		s.hi = s.lo + 1
		stepv = 0.2
	}
	for t := s.lo; t <= s.hi+stepv/1000; t += stepv {
		s.ticks = append(s.ticks, t)
	}
	return s
}

func (s *scale) ok(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!s.log || v > 0)
}

func (s *scale) y(v float64) float64 {
	f := (v - s.lo) / (s.hi - s.lo)
	if s.log {
		f = math.Log10(v/s.lo) / math.Log10(s.hi/s.lo)
	}
	return s.y0 + f*(s.y1-s.y0)
}

// niceStep rounds x up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// tickLabel is a compact label: 20k op/s as "20k", 1.5 ms, 64 KiB.
func tickLabel(v float64, unit string) string {
	if v == 0 {
		return "0"
	}
	switch unit {
	case "rate":
		return shortNum(v)
	case "duration":
		return trimZeros(fmtDur(v))
	case "bytes":
		return trimZeros(fmtBytes(v))
	}
	if v == math.Trunc(v) {
		return shortNum(v)
	}
	return trimZeros(strconv.FormatFloat(v, 'f', 2, 64))
}

func valueLabel(v float64, unit string) string {
	switch unit {
	case "rate":
		return fmtCount(v) + " /s"
	case "duration":
		return fmtDur(v)
	case "bytes":
		return fmtBytes(v)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func shortNum(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trimZeros(strconv.FormatFloat(v/1e6, 'f', 2, 64)) + "M"
	case a >= 1e3:
		return trimZeros(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return trimZeros(strconv.FormatFloat(v, 'f', 1, 64))
}

// trimZeros drops trailing zeros of the number in s: "2.50 ms" → "2.5 ms".
func trimZeros(s string) string {
	num, unit, _ := strings.Cut(s, " ")
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	if unit == "" {
		return num
	}
	return num + " " + unit
}

func esc(s string) string { return html.EscapeString(s) }
