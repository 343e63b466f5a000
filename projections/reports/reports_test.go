package reports_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/projections/reports"
)

const injected = `<script>alert(1)</script>`

var at = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func result(iface, id, outcome string, status int, ms float64) batch.CaseExecuted {
	return batch.CaseExecuted{AppID: "app-1", BatchID: "b-1", CaseID: id, InterfaceID: iface, Outcome: outcome,
		StatusCode: status, DurationMS: ms, At: at,
		Request: batch.HTTPRequest{Method: "GET", URL: "http://api.test/" + iface + "/" + id,
			Headers: map[string]string{"Accept": "application/json", "Authorization": "Bearer s3cr3t"}},
		Response: batch.HTTPResponse{Status: status, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"ok":true}`}}
}

func input() reports.Input {
	sub := batch.Submitted{AppID: "app-1", BatchID: "b-1", OwnerID: "u-1", At: at,
		Environment: app.Environment{Name: "staging", BaseURL: "http://api.test"},
		Interfaces: []batch.InterfaceRef{
			{ID: "if-pets", Name: "list pets", Method: "GET", Path: "/pets"},
			{ID: "if-add", Name: "add pet", Method: "POST", Path: "/pets"},
			{ID: "if-get", Name: "get pet", Method: "GET", Path: "/pets/{id}"},
		}}
	for _, c := range []struct{ id, iface, name string }{
		{"c-1", "if-pets", "lists pets"}, {"c-2", "if-pets", "limit too large"},
		{"c-3", "if-add", "adds a pet"}, {"c-4", "if-add", "rejects missing name"},
		{"c-5", "if-get", "gets a pet"}, {"c-6", "if-get", "unknown id is 404"},
	} {
		sub.Cases = append(sub.Cases, testcase.Case{ID: c.id, InterfaceID: c.iface, Name: c.name, Enabled: true})
	}

	failed := result("if-pets", "c-2", batch.Failed, 200, 812.5)
	failed.Response.Body = `{"name":"` + injected + `"}`
	failed.Assertions = []assert.Evaluated{
		{Target: "status", Op: "eq", Expected: 400, Actual: 200, Passed: false, Message: "status is 200, want 400"},
		{Target: "body.name", Op: "exists", Passed: true},
	}
	errored := result("if-add", "c-4", batch.Errored, 0, 5000)
	errored.Request.Method = "POST"
	errored.Request.Body = `{"name":""}`
	errored.Response = batch.HTTPResponse{}
	errored.Error = "dial tcp: connection refused & <b>bold</b>"
	canceled := result("if-get", "c-6", batch.Canceled, 0, 0)

	// Deliberately out of order.
	results := []batch.CaseExecuted{
		canceled, errored,
		result("if-get", "c-5", batch.Passed, 200, 42),
		failed,
		result("if-add", "c-3", batch.Passed, 201, 120),
		result("if-pets", "c-1", batch.Passed, 200, 7),
	}
	return reports.Input{Submitted: sub, Results: results,
		Completed: &batch.Completed{AppID: "app-1", BatchID: "b-1", DurationMS: 6100,
			Totals:  batch.Totals{Total: 6, Passed: 3, Failed: 1, Errored: 1, Canceled: 1},
			Latency: batch.Latency{P50: 120, P95: 5000, P99: 5000}, At: at},
		Analysis: json.RawMessage(`{"narrative":"One interface ` + injected + ` fails.","coverage":{"interfaces":{"covered":3,"total":4},"status_codes":["200","404"]},"other":[1,2]}`)}
}

func render(t *testing.T, in reports.Input, format string) []byte {
	t.Helper()
	a, ct, err := reports.Render(in, format)
	if err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	if ct == "" || len(a) == 0 {
		t.Fatalf("%s: empty rendering or content type", format)
	}
	return a
}

func TestDeterministic(t *testing.T) {
	for _, f := range reports.Formats {
		a := render(t, input(), f)
		b := render(t, input(), f)
		// Results in another order render the same.
		in := input()
		for i, j := 0, len(in.Results)-1; i < j; i, j = i+1, j-1 {
			in.Results[i], in.Results[j] = in.Results[j], in.Results[i]
		}
		c := render(t, in, f)
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Errorf("%s: renderings differ", f)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, _, err := reports.Render(input(), "pdf"); err == nil {
		t.Fatal("want an error for an unknown format")
	}
}

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	out := string(render(t, input(), reports.HTML))
	low := strings.ToLower(out)
	if strings.Contains(low, "<script") {
		t.Error("HTML contains a <script element")
	}
	for _, bad := range []string{"src=", "href=", "@import", "url(", "<link", "<iframe", "<img", "<object", "<embed"} {
		if strings.Contains(low, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	// URLs may appear only as escaped user data (the request URLs and the base URL).
	rest := regexp.MustCompile(`http://api\.test[^\s<"]*`).ReplaceAllString(out, "")
	if strings.Contains(rest, "http://") || strings.Contains(rest, "https://") {
		t.Error("HTML references a URL outside user data")
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("injected script not shown escaped")
	}
	if strings.Contains(out, "<b>bold</b>") || !strings.Contains(out, "&lt;b&gt;bold&lt;/b&gt;") {
		t.Error("error text not escaped")
	}
	if strings.Contains(out, "s3cr3t") {
		t.Error("Authorization header not redacted")
	}
	for _, want := range []string{"<svg", "<style>", "limit too large", "rejects missing name", "status is 200, want 400",
		"Coverage", "interfaces.covered", "One interface", "list pets", "add pet", "get pet"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(out, "lists pets</h3>") {
		t.Error("a passed case is listed as a failure")
	}
}

type junit struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Time    string    `xml:"time,attr"`
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	var j junit
	if err := xml.Unmarshal(render(t, input(), reports.JUnit), &j); err != nil {
		t.Fatal(err)
	}
	if j.Tests != 6 || j.Failures != 1 || j.Errors != 1 || j.Skipped != 1 || len(j.Suites) != 3 {
		t.Fatalf("counts %+v", j)
	}
	var cases, failures, errs, skipped int
	times := map[string]string{}
	for _, s := range j.Suites {
		if s.Tests != len(s.Cases) {
			t.Errorf("suite %s: tests=%d, %d testcases", s.Name, s.Tests, len(s.Cases))
		}
		for _, c := range s.Cases {
			cases++
			times[c.Name] = c.Time
			if c.Failure != nil {
				failures++
			}
			if c.Error != nil {
				errs++
			}
			if c.Skipped != nil {
				skipped++
			}
		}
	}
	if cases != 6 || failures != 1 || errs != 1 || skipped != 1 {
		t.Errorf("testcases %d failures %d errors %d skipped %d", cases, failures, errs, skipped)
	}
	if got := times["limit too large [c-2]"]; got != "0.812" {
		t.Errorf("time in seconds = %q", got)
	}
}

func TestJSON(t *testing.T) {
	var d struct {
		Totals     batch.Totals `json:"totals"`
		Status     string       `json:"status"`
		Interfaces []struct {
			ID     string       `json:"id"`
			Totals batch.Totals `json:"totals"`
		} `json:"interfaces"`
		Failures []struct {
			CaseID   string `json:"case_id"`
			Response struct {
				Body string `json:"body"`
			} `json:"response"`
		} `json:"failures"`
		Narrative string `json:"narrative"`
	}
	if err := json.Unmarshal(render(t, input(), reports.JSON), &d); err != nil {
		t.Fatal(err)
	}
	want := batch.Totals{Total: 6, Passed: 3, Failed: 1, Errored: 1, Canceled: 1}
	if d.Totals != want || d.Status != "completed" || len(d.Interfaces) != 3 {
		t.Fatalf("doc %+v", d)
	}
	// Interfaces sorted by name; failures follow that order.
	if d.Interfaces[0].ID != "if-add" || d.Interfaces[2].ID != "if-pets" {
		t.Errorf("interface order %+v", d.Interfaces)
	}
	if len(d.Failures) != 2 || d.Failures[0].CaseID != "c-4" || d.Failures[1].CaseID != "c-2" {
		t.Fatalf("failures %+v", d.Failures)
	}
	if !strings.Contains(d.Failures[1].Response.Body, injected) {
		t.Error("JSON should carry the response body as data")
	}
}

func TestMarkdown(t *testing.T) {
	out := string(render(t, input(), reports.Markdown))
	for _, want := range []string{"limit too large", "rejects missing name", "| Failed | 1 |", "status is 200, want 400"} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// Outside code blocks, user text cannot inject raw HTML.
	if strings.Contains(out, "One interface "+injected) || strings.Contains(out, "<b>bold</b>") {
		t.Error("Markdown passes raw HTML through")
	}
}

func TestAnalysisShapeNeverFails(t *testing.T) {
	for _, raw := range []string{``, `null`, `[]`, `"x"`, `{`, `{"narrative":5,"coverage":[1]}`, `{"coverage":{"a":{"b":{"c":{"d":{"e":1}}}}}}`} {
		in := input()
		in.Analysis = json.RawMessage(raw)
		for _, f := range reports.Formats {
			render(t, in, f)
		}
	}
}

func TestEmptyAndRunningBatch(t *testing.T) {
	in := input()
	in.Results, in.Completed, in.Analysis = nil, nil, nil
	for _, f := range reports.Formats {
		render(t, in, f)
	}
	var d struct {
		Status string `json:"status"`
		NotRun int    `json:"not_run"`
	}
	if err := json.Unmarshal(render(t, in, reports.JSON), &d); err != nil || d.Status != "running" || d.NotRun != 6 {
		t.Fatalf("%v %+v", err, d)
	}
}

func TestFromEvents(t *testing.T) {
	in := input()
	env := func(e domain.Event) domain.Envelope { return domain.Envelope{Type: e.EventType(), Data: e} }
	evs := []domain.Envelope{env(in.Submitted)}
	for _, r := range in.Results {
		evs = append(evs, env(r))
	}
	other := in.Results[0]
	other.BatchID = "b-2"
	other.CaseID = "c-other"
	evs = append(evs, env(other), env(batch.CaseExecutionRequested{AppID: "app-1", BatchID: "b-1", CaseID: "c-1"}),
		env(*in.Completed),
		env(batch.Analyzed{AppID: "app-1", BatchID: "b-1", Revision: 2, Analysis: in.Analysis}),
		env(&batch.Analyzed{AppID: "app-1", BatchID: "b-1", Revision: 1, Analysis: json.RawMessage(`{"narrative":"stale"}`)}),
		env(batch.ReportGenerated{AppID: "app-1", BatchID: "b-1"}))
	got, err := reports.FromEvents(evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 6 || got.Completed == nil || string(got.Analysis) != string(in.Analysis) {
		t.Fatalf("input %+v", got)
	}
	for _, f := range reports.Formats {
		if !bytes.Equal(render(t, got, f), render(t, in, f)) {
			t.Errorf("%s: FromEvents rendering differs from the hand-built input", f)
		}
	}
	if _, err := reports.FromEvents(evs[1:]); err == nil {
		t.Error("want an error without batch.submitted")
	}
}

// TestHTMLInChromium loads the report in headless Chromium with the network unreachable,
// when Chromium is installed.
func TestHTMLInChromium(t *testing.T) {
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no /usr/bin/chromium")
	}
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, render(t, input(), reports.HTML), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--proxy-server=127.0.0.1:9", "--dump-dom", "file://"+file)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("chromium did not run: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, "limit too large") || !strings.Contains(dom, "<svg") {
		t.Errorf("rendered DOM lacks the report")
	}
	if strings.Contains(dom, "<script>alert(1)") {
		t.Error("injected script became an element")
	}
}
