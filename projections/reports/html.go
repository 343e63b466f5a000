package reports

import (
	"bytes"
	"html/template"
	"strconv"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 720
	labelWidth  = 240
	barArea     = 400
	rowHeight   = 26
	histHeight  = 180
	histPadding = 30
)

type htmlView struct {
	report
	PassRate string
	Classes  []string
	Bars     barChart
	Hist     histChart
}

type barChart struct {
	Width, Height int
	Rows          []barRow
}

type barRow struct {
	Label, Summary string
	Y, TextY       int
	Segments       []segment
}

type segment struct {
	Class, X, W, Title string
	Y                  int
}

type histChart struct {
	Width, Height, Base int
	Bars                []histBar
}

type histBar struct {
	X, Y, W, H, LabelX, CountY string
	Label                      string
	Count                      int
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func renderHTML(r report) ([]byte, error) {
	v := htmlView{report: r, PassRate: pct(r.Totals.Passed, r.Totals.Total), Classes: coverageClasses}

	v.Bars = barChart{Width: chartWidth, Height: max(1, len(r.Interfaces))*rowHeight + 8}
	for n, i := range r.Interfaces {
		row := barRow{Label: clip(i.Name, 34), Y: 4 + n*rowHeight, TextY: 4 + n*rowHeight + 17,
			Summary: strconv.Itoa(i.Totals.Passed) + "/" + strconv.Itoa(i.Totals.Total) + " passed"}
		x := float64(labelWidth)
		for _, s := range []struct {
			class, name string
			n           int
		}{{"pass", "passed", i.Totals.Passed}, {"fail", "failed", i.Totals.Failed},
			{"err", "errored", i.Totals.Errored}, {"skip", "canceled", i.Totals.Canceled}} {
			if s.n == 0 || i.Totals.Total == 0 {
				continue
			}
			w := float64(barArea) * float64(s.n) / float64(i.Totals.Total)
			row.Segments = append(row.Segments, segment{Class: s.class, X: f1(x), W: f1(w), Y: row.Y,
				Title: strconv.Itoa(s.n) + " " + s.name})
			x += w
		}
		v.Bars.Rows = append(v.Bars.Rows, row)
	}

	most := 0
	for _, b := range r.Histogram {
		most = max(most, b.Count)
	}
	n := len(r.Histogram)
	slot := float64(chartWidth-2*histPadding) / float64(n)
	v.Hist = histChart{Width: chartWidth, Height: histHeight + 40, Base: histHeight}
	for k, b := range r.Histogram {
		h := 0.0
		if most > 0 {
			h = float64(histHeight-20) * float64(b.Count) / float64(most)
		}
		x := float64(histPadding) + float64(k)*slot
		v.Hist.Bars = append(v.Hist.Bars, histBar{X: f1(x + 4), W: f1(slot - 8), Y: f1(histHeight - h), H: f1(h),
			LabelX: f1(x + slot/2), CountY: f1(histHeight - h - 4), Label: b.Label, Count: b.Count})
	}

	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": ms, "pct": pct, "seconds": seconds, "suite": suiteName,
	"secs": func(v int64) string { return seconds(float64(v)) },
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Batch {{.BatchID}} report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;margin:0;padding:24px;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:15px;margin:0 0 6px}
.muted{color:#656d76}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:90px}.card b{display:block;font-size:20px}
.passed{color:#1a7f37}.failed{color:#cf222e}.errored{color:#bc4c00}.canceled{color:#656d76}
svg{display:block;max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#1f2328}
.pass{fill:#2da44e}.fail{fill:#cf222e}.err{fill:#fb8f44}.skip{fill:#8c959f}.bar{fill:#0969da}.axis{stroke:#8c959f}
.failure{border:1px solid #d0d7de;border-left:4px solid #cf222e;border-radius:6px;padding:10px 14px;margin:12px 0}
.failure.errored{border-left-color:#bc4c00}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:8px;overflow:auto;max-height:360px;white-space:pre-wrap;word-break:break-all;margin:4px 0}
.cov td.yes{background:#dafbe1;color:#1a7f37;text-align:center}.cov td.no{background:#ffebe9;color:#cf222e;text-align:center}.cov td.part{background:#fff8c5;color:#7d4e00;text-align:center}.cov td.na{background:#f6f8fa}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
</style>
</head>
<body>
<h1>Batch {{.BatchID}}</h1>
<div class="muted">App {{.AppID}}{{if .Environment}} · environment {{.Environment}}{{end}}{{if .BaseURL}} · {{.BaseURL}}{{end}} · {{.Status}}</div>

<h2>Summary</h2>
<div class="cards">
<div class="card">Total<b>{{.Totals.Total}}</b></div>
<div class="card passed">Passed<b>{{.Totals.Passed}}</b></div>
<div class="card failed">Failed<b>{{.Totals.Failed}}</b></div>
<div class="card errored">Errored<b>{{.Totals.Errored}}</b></div>
<div class="card canceled">Canceled<b>{{.Totals.Canceled}}</b></div>
{{- if .NotRun}}
<div class="card canceled">Not run<b>{{.NotRun}}</b></div>
{{- end}}
<div class="card">Pass rate<b>{{.PassRate}}</b></div>
{{- if .DurationMS}}
<div class="card">Duration<b>{{secs .DurationMS}} s</b></div>
{{- end}}
{{- with .Latency}}
<div class="card">Latency p50 / p95 / p99<b>{{ms .P50}} / {{ms .P95}} / {{ms .P99}} ms</b></div>
{{- end}}
</div>
{{- if .Narrative}}
<h2>Analysis</h2>
<p>{{.Narrative}}</p>
{{- if .Narrator}}
<p class="muted">Written by {{.Narrator}}{{if .Fallback}} · {{.Fallback}}{{end}}</p>
{{- end}}
{{- end}}
{{- if .Clusters}}

<h2>Failure clusters</h2>
<table>
<tr><th>Interface</th><th>Failed check</th><th>Status</th><th>Cases</th><th>Likely cause</th><th>Hypothesis</th></tr>
{{- range .Clusters}}
<tr><td>{{.Interface}}</td><td>{{.Check}}</td><td class="n">{{if .Status}}{{.Status}}{{else}}none{{end}}</td><td class="n">{{.Count}}</td><td><b>{{.Label}}</b></td><td>{{.Text}}{{if .By}} <span class="muted">({{.By}})</span>{{end}}</td></tr>
{{- end}}
</table>
{{- end}}

<h2>Pass / fail per interface</h2>
<div class="legend"><span><i class="sw" style="background:#2da44e"></i>passed</span><span><i class="sw" style="background:#cf222e"></i>failed</span><span><i class="sw" style="background:#fb8f44"></i>errored</span><span><i class="sw" style="background:#8c959f"></i>canceled</span></div>
<svg role="img" aria-label="Pass and fail per interface" width="{{.Bars.Width}}" height="{{.Bars.Height}}" viewBox="0 0 {{.Bars.Width}} {{.Bars.Height}}">
{{- range .Bars.Rows}}
<g><text x="0" y="{{.TextY}}">{{.Label}}</text>
<rect x="240" y="{{.Y}}" width="400" height="20" fill="#f6f8fa"></rect>
{{- range .Segments}}
<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="20"><title>{{.Title}}</title></rect>
{{- end}}
<text x="648" y="{{.TextY}}">{{.Summary}}</text></g>
{{- end}}
</svg>

<h2>Latency histogram</h2>
<svg role="img" aria-label="Latency histogram" width="{{.Hist.Width}}" height="{{.Hist.Height}}" viewBox="0 0 {{.Hist.Width}} {{.Hist.Height}}">
<line class="axis" x1="30" y1="{{.Hist.Base}}" x2="690" y2="{{.Hist.Base}}"></line>
{{- range .Hist.Bars}}
<g><rect class="bar" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Label}} ms: {{.Count}}</title></rect>
<text x="{{.LabelX}}" y="{{.CountY}}" text-anchor="middle">{{.Count}}</text>
<text x="{{.LabelX}}" y="{{$.Hist.Base}}" dy="16" text-anchor="middle">{{.Label}}</text></g>
{{- end}}
<text x="360" y="{{.Hist.Height}}" dy="-2" text-anchor="middle" class="muted">milliseconds</text>
</svg>

<h2>Interfaces</h2>
<table>
<tr><th>Interface</th><th>Method</th><th>Path</th><th>Total</th><th>Passed</th><th>Failed</th><th>Errored</th><th>Canceled</th><th>Pass rate</th><th>Time (s)</th></tr>
{{- range .Interfaces}}
<tr><td>{{.Name}}</td><td>{{.Method}}</td><td>{{.Path}}</td><td class="n">{{.Totals.Total}}</td><td class="n passed">{{.Totals.Passed}}</td><td class="n failed">{{.Totals.Failed}}</td><td class="n errored">{{.Totals.Errored}}</td><td class="n canceled">{{.Totals.Canceled}}</td><td class="n">{{pct .Totals.Passed .Totals.Total}}</td><td class="n">{{seconds .DurationMS}}</td></tr>
{{- end}}
</table>
{{- if .Coverage}}

<h2>Coverage</h2>
<table>
<tr><th>Item</th><th>Value</th></tr>
{{- range .Coverage}}
<tr><td>{{.Key}}</td><td>{{.Value}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .CovIfaces}}
<table>
<tr><th>Interface</th><th>Parameter × class</th><th>Statuses observed</th><th>Statuses documented</th><th>Documented observed</th><th>Schema-conforming responses</th></tr>
{{- range .CovIfaces}}
<tr><td>{{.Name}}</td><td>{{.Cells}}</td><td>{{.Observed}}</td><td>{{.Documented}}</td><td>{{.Statuses}}</td><td>{{.Schema}}</td></tr>
{{- end}}
</table>
{{- range .CovIfaces}}
{{- if .Params}}
<h3>{{.Name}}: parameter × class</h3>
<table class="cov">
<tr><th>Parameter</th><th>In</th><th>Required</th>{{range $.Classes}}<th>{{.}}</th>{{end}}</tr>
{{- range .Params}}
<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{if .Required}}yes{{end}}</td>{{range .Cells}}{{if .State}}<td class="{{.State}}" title="{{.Title}}">{{.Text}}</td>{{else}}<td class="na"></td>{{end}}{{end}}</tr>
{{- end}}
</table>
<p class="muted">✓ exercised · ✗ applicable but not exercised · blank: not applicable to the parameter · enum: values sent of each value and one outside</p>
{{- if .Unattributed}}
<p class="muted">{{.Unattributed}} case(s) name no parameter of the definition and are not counted.</p>
{{- end}}
{{- end}}
{{- end}}
{{- end}}

<h2>Failures ({{len .Failures}})</h2>
{{- if not .Failures}}
<p class="muted">None.</p>
{{- end}}
{{- range .Failures}}
{{- $c := .Case}}
<div class="failure {{$c.Outcome}}">
<h3>{{$c.Name}} <span class="{{$c.Outcome}}">{{$c.Outcome}}</span></h3>
<div class="muted">{{suite .Interface.Method .Interface.Path .Interface.Name}} · case {{$c.ID}} · status {{$c.StatusCode}} · {{ms $c.DurationMS}} ms</div>
{{- if $c.Error}}
<p><b>Error:</b> {{$c.Error}}</p>
{{- end}}
{{- if $c.FailedAssertions}}
<table>
<tr><th>Target</th><th>Op</th><th>Expected</th><th>Actual</th><th>Message</th></tr>
{{- range $c.FailedAssertions}}
<tr><td>{{.Target}}</td><td>{{.Op}}</td><td>{{.Expected}}</td><td>{{.Actual}}</td><td>{{.Message}}{{if .Error}} (error: {{.Error}}){{end}}</td></tr>
{{- end}}
</table>
{{- end}}
<div><b>Request</b></div>
<pre>{{$c.Request.Method}} {{$c.Request.URL}}
{{- range $c.Request.Headers}}
{{.Name}}: {{.Value}}
{{- end}}
{{- if $c.Request.Body}}

{{$c.Request.Body}}
{{- end}}
{{- if $c.Request.BodyTruncated}}
[body truncated]
{{- end}}</pre>
<div><b>Response</b></div>
<pre>HTTP {{$c.Response.Status}}
{{- range $c.Response.Headers}}
{{.Name}}: {{.Value}}
{{- end}}
{{- if $c.Response.Body}}

{{$c.Response.Body}}
{{- end}}
{{- if $c.Response.BodyTruncated}}
[body truncated]
{{- end}}</pre>
</div>
{{- end}}
</body>
</html>
`
