package main

import (
	"context"
	"encoding/json"
	"slices"
)

// A Scenario measures one aspect of zkit against its peers. Each lives in
// its own file (scenario_<name>.go) and registers itself in an init
// function; the CLI runs the selected ones in rank order.
type Scenario interface {
	// Name is the scenario's name on the command line (--scenarios).
	Name() string
	// Title is a short human title.
	Title() string
	// Run measures, through r, and returns the scenario's section of the
	// report. Figures that later scenarios need can be left in r.Shared.
	Run(ctx context.Context, r *Runner) (*Section, error)
}

// A Renderer is a Scenario that can rebuild its section from the data it
// left in an earlier report's JSON (--render), so a report can be drawn
// again without measuring again. Shared plays the part of Runner.Shared.
type Renderer interface {
	Render(data json.RawMessage, shared map[string]any) (*Section, error)
}

type registered struct {
	rank int
	s    Scenario
}

var registry []registered

// register adds a scenario. Scenarios run by increasing rank, so one may use
// what a lower-ranked one found (the operations compare with the wire
// baseline).
func register(rank int, s Scenario) {
	registry = append(registry, registered{rank, s})
	slices.SortStableFunc(registry, func(a, b registered) int { return a.rank - b.rank })
}

func scenarioNames() []string {
	var names []string
	for _, r := range registry {
		names = append(names, r.s.Name())
	}
	return names
}

func lookupScenario(name string) Scenario {
	for _, r := range registry {
		if r.s.Name() == name {
			return r.s
		}
	}
	return nil
}

// Section is one scenario's part of the report. The terminal, JSON and HTML
// outputs render it without knowing the scenario.
type Section struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Notes   []string `json:"notes,omitempty"`
	Tables  []Table  `json:"tables"`
	Charts  []Chart  `json:"-"` // drawn from Data; NaN marks a gap
	Targets []Target `json:"targets,omitempty"`
	// Data holds every figure measured, for the JSON file.
	Data any `json:"data"`
}

// Table is a titled grid of formatted cells.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Chart is a line or bar chart for the HTML report. X holds the category
// labels (concurrency, contenders, ...); each series has one value per
// category, NaN where there is none.
type Chart struct {
	Title  string   `json:"title"`
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	X      []string `json:"x"`
	Series []Series `json:"series"`
	// Kind is "line" (default) or "bar".
	Kind string `json:"kind,omitempty"`
	// LogY draws the y axis on a log scale.
	LogY bool `json:"log_y,omitempty"`
	// Unit formats values: "rate", "duration" (nanoseconds), "bytes",
	// "count".
	Unit string `json:"unit"`
}

// Series is one line (or set of bars) of a chart.
type Series struct {
	Name   string    `json:"name"`
	Values []float64 `json:"values"`
	// Style: "zkit", "peer", "baseline" (dashed, flat) or "".
	Style string `json:"style,omitempty"`
	// Dashed draws the line dashed (a second percentile of one library).
	Dashed bool `json:"dashed,omitempty"`
}

// Target is one goal from the issues, checked against a measured ratio.
type Target struct {
	Name string `json:"name"`
	// Goal states the target, for example "≤ 0.60× go-zookeeper".
	Goal string `json:"goal"`
	// Measured is the figure checked (usually a ratio) and Display how it
	// is shown.
	Measured float64 `json:"measured"`
	Display  string  `json:"display"`
	Pass     bool    `json:"pass"`
	// Detail names the point that decided it (the worst one).
	Detail string `json:"detail,omitempty"`
	// Skipped is set when the figure could not be measured in this run.
	Skipped string `json:"skipped,omitempty"`
}

// Status is PASS, MISS or SKIP.
func (t Target) Status() string {
	switch {
	case t.Skipped != "":
		return "SKIP"
	case t.Pass:
		return "PASS"
	}
	return "MISS"
}
