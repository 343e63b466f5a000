// Package reports renders a batch's report from the batch's events alone: HTML (one
// self-contained file), JSON, JUnit XML and Markdown. Rendering is pure and deterministic:
// the same Input always renders to the same bytes (no clock, no map iteration order).
package reports

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/assay-dev/assay/domain/batch"
)

// Input is everything a report is rendered from, all of it read from the batch's events.
type Input struct {
	Submitted batch.Submitted
	Results   []batch.CaseExecuted // any order; rendering sorts by interface, then case id
	Completed *batch.Completed     // nil while the batch still runs
	Analysis  json.RawMessage      // the latest batch.analyzed document; optional, opaque
}

// Format names.
const (
	HTML     = "html"
	JSON     = "json"
	JUnit    = "junit"
	Markdown = "md"
)

// Formats lists every format Render accepts, in a fixed order.
var Formats = []string{HTML, JSON, JUnit, Markdown}

// bodyLimit caps request and response bodies shown in a report (bytes, cut on a rune boundary).
const bodyLimit = 4096

// Render renders the report in one format and returns it with its content type.
func Render(in Input, format string) ([]byte, string, error) {
	r := build(in)
	switch format {
	case HTML:
		b, err := renderHTML(r)
		return b, "text/html; charset=utf-8", err
	case JSON:
		b, err := renderJSON(r)
		return b, "application/json", err
	case JUnit:
		b, err := renderJUnit(r)
		return b, "application/xml; charset=utf-8", err
	case Markdown:
		b, err := renderMarkdown(r)
		return b, "text/markdown; charset=utf-8", err
	}
	return nil, "", fmt.Errorf("reports: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// report is the format-independent view every renderer reads.
type report struct {
	AppID       string
	BatchID     string
	Environment string
	BaseURL     string
	Status      string // running, completed or canceled
	Totals      batch.Totals
	NotRun      int // submitted cases without a result
	DurationMS  int64
	Latency     *batch.Latency
	Interfaces  []ifaceReport
	Failures    []failure // failed and errored cases, in result order
	Histogram   []bucket
	analysisView
}

type ifaceReport struct {
	ID, Name, Method, Path string
	Totals                 batch.Totals
	NotRun                 int
	DurationMS             float64
	Cases                  []caseReport
}

type caseReport struct {
	ID, Name, Outcome string
	StatusCode        int
	DurationMS        float64
	Error             string
	FailedAssertions  []assertion
	Request           request
	Response          response
}

type failure struct {
	Interface ifaceRef
	Case      caseReport
}

type ifaceRef struct{ ID, Name, Method, Path string }

type assertion struct {
	Target, Op, Expected, Actual, Message, Error string
}

type header struct{ Name, Value string }

type request struct {
	Method, URL   string
	Headers       []header
	Body          string
	BodyTruncated bool
}

type response struct {
	Status        int
	Headers       []header
	Body          string
	BodyTruncated bool
}

type bucket struct {
	Label string
	Count int
}

type kv struct{ Key, Value string }

// Histogram bucket upper bounds in milliseconds (exclusive); a last bucket holds the rest.
var bucketBounds = []float64{10, 25, 50, 100, 250, 500, 1000, 2500, 5000}

func build(in Input) report {
	s := in.Submitted
	r := report{AppID: s.AppID, BatchID: s.BatchID, Environment: s.Environment.Name,
		BaseURL: s.Environment.BaseURL, Status: "running"}

	caseNames := map[string]string{}
	casesPer := map[string]int{}
	for _, c := range s.Cases {
		caseNames[c.ID] = c.Name
		casesPer[c.InterfaceID]++
	}
	ifaces := map[string]*ifaceReport{}
	var order []*ifaceReport
	ensure := func(id string) *ifaceReport {
		if ir, ok := ifaces[id]; ok {
			return ir
		}
		ir := &ifaceReport{ID: id, Name: id}
		ifaces[id] = ir
		order = append(order, ir)
		return ir
	}
	for _, i := range s.Interfaces {
		if _, dup := ifaces[i.ID]; dup {
			continue
		}
		ir := ensure(i.ID)
		if i.Name != "" {
			ir.Name = i.Name
		}
		ir.Method, ir.Path = i.Method, i.Path
	}
	for id := range casesPer { // cases whose interface was not frozen (should not happen)
		ensure(id)
	}

	r.Histogram = make([]bucket, len(bucketBounds)+1)
	for i, b := range bucketBounds {
		r.Histogram[i].Label = "< " + fmtNum(b)
	}
	r.Histogram[len(bucketBounds)].Label = "≥ " + fmtNum(bucketBounds[len(bucketBounds)-1])

	for _, res := range in.Results {
		ir := ensure(res.InterfaceID)
		name := caseNames[res.CaseID]
		if name == "" {
			name = res.CaseID
		}
		cr := caseReport{ID: res.CaseID, Name: name, Outcome: res.Outcome, StatusCode: res.StatusCode,
			DurationMS: res.DurationMS, Error: res.Error,
			Request:  request{Method: res.Request.Method, URL: res.Request.URL, Headers: headers(res.Request.Headers)},
			Response: response{Status: res.Response.Status, Headers: headers(res.Response.Headers)}}
		cr.Request.Body, cr.Request.BodyTruncated = truncate(res.Request.Body)
		cr.Response.Body, cr.Response.BodyTruncated = truncate(res.Response.Body)
		cr.Response.BodyTruncated = cr.Response.BodyTruncated || res.Response.BodyTruncated
		for _, a := range res.Assertions {
			if a.Passed && a.Error == "" {
				continue
			}
			cr.FailedAssertions = append(cr.FailedAssertions, assertion{Target: a.Target, Op: a.Op,
				Expected: value(a.Expected), Actual: value(a.Actual), Message: a.Message, Error: a.Error})
		}
		ir.Cases = append(ir.Cases, cr)
		count(&ir.Totals, res.Outcome)
		count(&r.Totals, res.Outcome)
		ir.DurationMS += res.DurationMS
		if res.Outcome != batch.Canceled {
			r.Histogram[bucketOf(res.DurationMS)].Count++
		}
	}

	sort.SliceStable(order, func(a, b int) bool {
		if order[a].Name != order[b].Name {
			return order[a].Name < order[b].Name
		}
		return order[a].ID < order[b].ID
	})
	for _, ir := range order {
		sort.SliceStable(ir.Cases, func(a, b int) bool { return ir.Cases[a].ID < ir.Cases[b].ID })
		if n := casesPer[ir.ID] - ir.Totals.Total; n > 0 {
			ir.NotRun = n
			r.NotRun += n
		}
		ref := ifaceRef{ID: ir.ID, Name: ir.Name, Method: ir.Method, Path: ir.Path}
		for _, c := range ir.Cases {
			if c.Outcome == batch.Failed || c.Outcome == batch.Errored {
				r.Failures = append(r.Failures, failure{Interface: ref, Case: c})
			}
		}
		r.Interfaces = append(r.Interfaces, *ir)
	}

	if c := in.Completed; c != nil {
		r.Status = "completed"
		if c.Canceled {
			r.Status = "canceled"
		}
		r.DurationMS = c.DurationMS
		lat := c.Latency
		r.Latency = &lat
		if c.Totals.Total > r.Totals.Total { // the batch's own count is authoritative
			r.Totals = c.Totals
		}
	}
	r.analysisView = readAnalysis(in.Analysis, r.Interfaces)
	return r
}

func count(t *batch.Totals, outcome string) {
	t.Total++
	switch outcome {
	case batch.Passed:
		t.Passed++
	case batch.Failed:
		t.Failed++
	case batch.Errored:
		t.Errored++
	case batch.Canceled:
		t.Canceled++
	}
}

func bucketOf(ms float64) int {
	for i, b := range bucketBounds {
		if ms < b {
			return i
		}
	}
	return len(bucketBounds)
}

// sensitive headers are shown redacted: reports are mailed and attached to CI runs.
var sensitive = []string{"authorization", "cookie", "api-key", "apikey", "token", "secret", "password"}

func headers(m map[string]string) []header {
	out := make([]header, 0, len(m))
	for k, v := range m {
		lk := strings.ToLower(k)
		for _, s := range sensitive {
			if strings.Contains(lk, s) {
				v = "[redacted]"
				break
			}
		}
		out = append(out, header{Name: k, Value: v})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

func truncate(s string) (string, bool) {
	if len(s) <= bodyLimit {
		return strings.ToValidUTF8(s, "\uFFFD"), false
	}
	cut := bodyLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "\uFFFD"), true
}

// value renders an assertion operand as compact JSON (maps come out with sorted keys).
func value(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// seconds formats milliseconds as seconds with millisecond precision.
func seconds(ms float64) string { return strconv.FormatFloat(ms/1000, 'f', 3, 64) }

// ms formats milliseconds for display.
func ms(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// pct is part/total as a percentage for display ("—" when there is nothing to count).
func pct(part, total int) string {
	if total == 0 {
		return "—"
	}
	return strconv.FormatFloat(float64(part)*100/float64(total), 'f', 1, 64) + "%"
}
