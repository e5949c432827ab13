package main

import (
	"html/template"
	"io"
	"strings"
)

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"svg":   func(c Chart) template.HTML { return template.HTML(svgChart(c)) },
	"bytes": func(n uint64) string { return fmtBytes(float64(n)) },
	"short": shortVersion,
	"lower": strings.ToLower,
	"date":  func(s Setup) string { return s.Date.Format("2006-01-02 15:04 MST") },
	"dur":   func(sec float64) string { return elapsed(secondsDur(sec)) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>zkit benchmark {{date .Setup}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root { --zkit: #2563eb; --peer: #ea580c; --ink: #111827; --muted: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0; background: #f8fafc; }
main { max-width: 1280px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h1 .z { color: var(--zkit); } h1 .p { color: var(--peer); }
h2 { font-size: 21px; margin: 40px 0 8px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 22px 0 6px; }
.sub { color: var(--muted); margin: 0 0 22px; }
.setup { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 10px 24px; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; }
.setup div { font-size: 13.5px; } .setup b { display: block; color: var(--muted); font-weight: 600; font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(290px, 1fr)); gap: 12px; margin-top: 14px; }
.card { background: #fff; border: 1px solid var(--line); border-left: 6px solid; border-radius: 8px; padding: 10px 14px; }
.card.pass { border-left-color: #16a34a; } .card.miss { border-left-color: #dc2626; } .card.skip { border-left-color: #9ca3af; }
.card .st { font-weight: 700; font-size: 12px; letter-spacing: .05em; }
.card.pass .st { color: #16a34a; } .card.miss .st { color: #dc2626; } .card.skip .st { color: #6b7280; }
.card .nm { font-weight: 600; margin: 2px 0; }
.card .ms { font-size: 22px; font-weight: 700; }
.card .gl, .card .dt { color: var(--muted); font-size: 13px; }
.notes p { color: #374151; margin: 6px 0; font-size: 14px; max-width: 980px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; margin: 14px 0; }
.charts figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 6px; }
svg.chart { width: 100%; height: auto; display: block; font-family: inherit; }
svg .title { font-size: 15px; font-weight: 700; fill: var(--ink); }
svg .legend { font-size: 12px; fill: #374151; }
svg .grid { stroke: #eef0f3; } svg .axis { stroke: #9ca3af; }
svg .ytick { font-size: 11px; fill: var(--muted); text-anchor: end; }
svg .xtick { font-size: 11.5px; fill: #374151; }
svg .xlabel, svg .ylabel { font-size: 12px; fill: var(--muted); }
svg .value { font-size: 10.5px; font-weight: 600; }
svg .empty { font-size: 14px; fill: var(--muted); text-anchor: middle; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 8px; font-size: 13.5px; margin: 6px 0 14px; }
th, td { padding: 5px 12px; text-align: right; border-bottom: 1px solid #f1f5f9; white-space: nowrap; }
th { background: #f1f5f9; font-weight: 600; color: #374151; }
th:first-child, td:first-child { text-align: left; }
tr:last-child td { border-bottom: none; }
.tables { display: flex; flex-wrap: wrap; gap: 0 28px; align-items: flex-start; }
.tables > div { max-width: 100%; overflow-x: auto; }
footer { margin-top: 44px; color: var(--muted); font-size: 13px; }
code { font-size: 13px; background: #eef2f7; padding: 1px 5px; border-radius: 4px; }
</style></head>
<body><main>
<h1><span class="z">zkit</span> vs <span class="p">go-zookeeper</span></h1>
<p class="sub">Benchmark of {{date .Setup}} · same server, same run · <code>{{.Setup.Command}}</code>{{if .Setup.Quick}} · <b>quick smoke run: figures are indicative only</b>{{end}}</p>
<div class="setup">
<div><b>Machine</b>{{.Setup.Machine.CPUs}} CPUs · {{bytes .Setup.Machine.Memory}} RAM<br>{{.Setup.Machine.CPUModel}}</div>
<div><b>Software</b>{{.Setup.Machine.GoVersion}} · {{.Setup.Machine.OS}}/{{.Setup.Machine.Arch}} · kernel {{.Setup.Machine.Kernel}}{{with .Setup.Machine.CPUIdle}}<br>cpuidle: {{.}}{{end}}</div>
<div><b>ZooKeeper</b>{{short .Setup.ZooKeeper.Version}} · {{.Setup.ZooKeeper.Mode}} · fsync {{.Setup.ZooKeeper.Fsync}}<br>clients on {{.Setup.ZooKeeper.Target}}{{if .Setup.ZooKeeper.Local}} (started by the bench){{end}}{{with .Setup.ZooKeeper.JVMFlags}}<br>server JVM {{.}}{{end}}</div>
<div><b>Clients</b>zkit {{.Setup.Zkit}}<br>{{if .Setup.Peer}}{{.Setup.Peer}}{{else}}no peer (--no-peer){{end}}</div>
<div><b>Run</b>{{dur .Setup.Seconds}} · {{.Setup.Repeat}} run(s) per point (median kept) · {{.Setup.DataSize}} B per node</div>
<div><b>Load average</b>{{printf "%.2f" .Setup.LoadBefore}} before · {{printf "%.2f" .Setup.LoadAfter}} after<br>(the machine is shared: expect noise){{with .Setup.HostSteal}}<br>host steal: {{.}}{{end}}</div>
{{if .Setup.Pinning}}<div><b>CPUs</b>{{.Setup.Pinning}}</div>{{end}}
</div>
{{with .Targets}}<h2>Targets</h2>
<div class="cards">{{range .}}
<div class="card {{lower .Status}}"><div class="st">{{.Status}}</div><div class="nm">{{.Name}}</div>
{{if .Skipped}}<div class="dt">{{.Skipped}}</div>{{else}}<div class="ms">{{.Display}}</div>{{end}}
<div class="gl">goal: {{.Goal}}</div>{{if and .Detail (not .Skipped)}}<div class="dt">{{.Detail}}</div>{{end}}</div>{{end}}
</div>{{end}}
{{range .Sections}}<section id="{{.Name}}"><h2>{{.Title}}</h2>
<div class="notes">{{range .Notes}}<p>{{.}}</p>{{end}}</div>
{{with .Charts}}<div class="charts">{{range .}}<figure>{{svg .}}</figure>{{end}}</div>{{end}}
<div class="tables">{{range .Tables}}<div>{{if .Title}}<h3>{{.Title}}</h3>{{end}}<table><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table></div>{{end}}</div>
</section>{{end}}
<footer>Every figure is also in the JSON file written next to this page. Ratios are zkit ÷ go-zookeeper: above 1 is better for throughput, below 1 is better for latency, CPU, allocations and memory.</footer>
</main></body></html>
`))

func writeHTML(w io.Writer, rep *Report) error {
	return pageTemplate.Execute(w, struct {
		*Report
		Targets []Target
	}{rep, rep.targets()})
}
