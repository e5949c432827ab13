package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Report is everything a run produced.
type Report struct {
	Setup    Setup      `json:"setup"`
	Sections []*Section `json:"sections"`
}

// targets lists every section's targets.
func (r *Report) targets() []Target {
	var out []Target
	for _, s := range r.Sections {
		out = append(out, s.Targets...)
	}
	return out
}

// MarshalJSON writes a missing measurement as null.
func (t Target) MarshalJSON() ([]byte, error) {
	type plain Target
	var m *float64
	if !math.IsNaN(t.Measured) && !math.IsInf(t.Measured, 0) && t.Skipped == "" {
		m = &t.Measured
	}
	return json.Marshal(struct {
		plain
		Measured *float64 `json:"measured"`
		Status   string   `json:"status"`
	}{plain(t), m, t.Status()})
}

// writeReports writes the JSON and HTML reports into dir, under a dated
// name and as latest.json and latest.html, and returns their paths.
func writeReports(dir string, rep *Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the JSON report: %w", err)
	}
	var html strings.Builder
	if err := writeHTML(&html, rep); err != nil {
		return nil, fmt.Errorf("render the HTML report: %w", err)
	}
	stamp := "bench-" + rep.Setup.Date.Format("20060102-150405")
	var paths []string
	for _, f := range []struct {
		name string
		data []byte
	}{
		{stamp + ".json", js}, {stamp + ".html", []byte(html.String())},
		{"latest.json", js}, {"latest.html", []byte(html.String())},
	} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths[:2], nil
}

// writeText prints the setup, every table and the targets.
func writeText(w io.Writer, rep *Report) {
	s := rep.Setup
	fmt.Fprintf(w, "\nzkit benchmark, %s\n", s.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "command:   %s\n", s.Command)
	fmt.Fprintf(w, "machine:   %d CPUs (%s), %s RAM, %s %s/%s, kernel %s\n", s.Machine.CPUs, s.Machine.CPUModel,
		fmtBytes(float64(s.Machine.Memory)), s.Machine.GoVersion, s.Machine.OS, s.Machine.Arch, s.Machine.Kernel)
	if s.Machine.CPUIdle != "" {
		fmt.Fprintf(w, "cpuidle:   %s\n", s.Machine.CPUIdle)
	}
	fmt.Fprintf(w, "zookeeper: %s, %s, fsync %s, clients on %s\n", shortVersion(s.ZooKeeper.Version), s.ZooKeeper.Mode, s.ZooKeeper.Fsync, s.ZooKeeper.Target)
	if s.ZooKeeper.JVMFlags != "" {
		fmt.Fprintf(w, "jvm:       %s\n", s.ZooKeeper.JVMFlags)
	}
	peer := s.Peer
	if peer == "" {
		peer = "none (--no-peer)"
	}
	fmt.Fprintf(w, "zkit:      %s; peer: %s\n", orDash(s.Zkit), peer)
	fmt.Fprintf(w, "load:      %.2f before, %.2f after (1-minute load average; other work on the machine adds noise)\n", s.LoadBefore, s.LoadAfter)
	if h := s.HostSteal; h != nil {
		fmt.Fprintf(w, "steal:     %s\n", h)
	}
	if s.Pinning != "" {
		fmt.Fprintf(w, "pinned:    %s\n", s.Pinning)
	}
	for _, sec := range rep.Sections {
		fmt.Fprintf(w, "\n== %s ==\n", sec.Title)
		for _, n := range sec.Notes {
			if strings.HasPrefix(n, "failed") {
				fmt.Fprintf(w, "%s\n", n)
			}
		}
		for _, t := range sec.Tables {
			fmt.Fprintln(w)
			writeTable(w, t)
		}
	}
	ts := rep.targets()
	if len(ts) == 0 {
		return
	}
	fmt.Fprintf(w, "\n== Targets (zkit measured against go-zookeeper and the wire baseline in this run) ==\n\n")
	t := Table{Columns: []string{"", "target", "goal", "measured", "detail"}}
	for _, tg := range ts {
		detail := tg.Detail
		measured := tg.Display
		if tg.Skipped != "" {
			measured, detail = "–", tg.Skipped
		}
		t.Rows = append(t.Rows, []string{tg.Status(), tg.Name, tg.Goal, measured, detail})
	}
	writeTable(w, t)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// writeTable prints t with aligned columns: numbers right-aligned, and
// columns with a cell that starts with a letter left-aligned.
func writeTable(w io.Writer, t Table) {
	if t.Title != "" {
		fmt.Fprintln(w, t.Title)
	}
	width := make([]int, len(t.Columns))
	left := make([]bool, len(t.Columns))
	for i, c := range t.Columns {
		width[i] = utf8.RuneCountInString(c)
		left[i] = i == 0
	}
	for _, row := range t.Rows {
		for i, cell := range row {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(cell))
				if r, _ := utf8.DecodeRuneInString(cell); unicode.IsLetter(r) {
					left[i] = true
				}
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, cell := range cells {
			if i >= len(width) {
				break
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			if i > 0 {
				b.WriteString("  ")
			}
			if left[i] {
				b.WriteString(cell + pad)
			} else {
				b.WriteString(pad + cell)
			}
		}
		fmt.Fprintln(w, "  "+strings.TrimRight(b.String(), " "))
	}
	line(t.Columns)
	total := 0
	for _, n := range width {
		total += n + 2
	}
	fmt.Fprintln(w, "  "+strings.Repeat("─", total-2))
	for _, row := range t.Rows {
		line(row)
	}
}
