package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/projections/reports"
)

var reportT0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

// seedBatch writes a finished batch of three cases (one failing) into the embedded log
// under dataDir, one event a second from reportT0, and answers the envelopes appended.
func seedBatch(t *testing.T, dataDir, appID, batchID string) []domain.Envelope {
	t.Helper()
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: filepath.Join(dataDir, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store, err := eventstore.Open(t.Context(), nc, catalog.New(), eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sub := batch.Submitted{AppID: appID, BatchID: batchID, OwnerID: "u-1", At: reportT0,
		Environment: app.Environment{Name: "local", BaseURL: "http://api.test"},
		Interfaces:  []batch.InterfaceRef{{ID: "if-1", Name: "get pet", Method: "GET", Path: "/pets/{id}"}}}
	evs := []domain.Event{&sub}
	for i, outcome := range []string{batch.Passed, batch.Passed, batch.Failed} {
		id := "c-" + string(rune('1'+i))
		sub.Cases = append(sub.Cases, testcase.Case{ID: id, InterfaceID: "if-1", Name: "pet " + id, Enabled: true})
		r := batch.CaseExecuted{AppID: appID, BatchID: batchID, CaseID: id, InterfaceID: "if-1", Outcome: outcome,
			StatusCode: 200, DurationMS: float64(10 * (i + 1)), At: reportT0,
			Request:  batch.HTTPRequest{Method: "GET", URL: "http://api.test/pets/" + id},
			Response: batch.HTTPResponse{Status: 200, Body: `{"id":1}`}}
		if outcome == batch.Failed {
			r.Assertions = []assert.Evaluated{{Target: "status", Op: "eq", Expected: 404, Actual: 200, Message: "status is 200, want 404"}}
		}
		evs = append(evs, &r)
	}
	evs = append(evs, &batch.Completed{AppID: appID, BatchID: batchID, DurationMS: 3000, At: reportT0,
		Totals: batch.Totals{Total: 3, Passed: 2, Failed: 1}, Latency: batch.Latency{P50: 20, P95: 30, P99: 30}})
	var envs []domain.Envelope
	for i, ev := range evs {
		out, err := store.Append(t.Context(), nil, domain.Envelope{ID: uuid.NewString(), Data: ev,
			Time: reportT0.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, out...)
	}
	return envs
}

func runReports(t *testing.T, dataDir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	all := append([]string{"reports"}, args...)
	all = append(all, "--data-dir", dataDir, "--nats-listen=", "--log-file=")
	code := run(context.Background(), all, &out, &errOut)
	return code, out.String(), errOut.String()
}

// digests parses the `sha256  path` lines the command prints.
func digests(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for line := range strings.Lines(strings.TrimSpace(out)) {
		sum, path, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("line %q is not `sha256  path`", line)
		}
		m[filepath.Base(path)] = sum
	}
	return m
}

func TestReportsRebuild(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	envs := seedBatch(t, data, "app-1", "b-1")
	first := envs[1].Seq

	outA, outB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	code, a, errs := runReports(t, data, "rebuild", "b-1", "--out", outA)
	if code != 0 {
		t.Fatalf("rebuild = %d: %s", code, errs)
	}
	code, b, errs := runReports(t, data, "rebuild", "b-1", "--out", outB)
	if code != 0 {
		t.Fatalf("second rebuild = %d: %s", code, errs)
	}
	da, db := digests(t, a), digests(t, b)
	for _, name := range []string{"report-b-1.html", "report-b-1.json", "report-b-1.junit.xml", "report-b-1.md"} {
		fa, err := os.ReadFile(filepath.Join(outA, name))
		if err != nil {
			t.Fatal(err)
		}
		fb, err := os.ReadFile(filepath.Join(outB, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fa, fb) || da[name] == "" || da[name] != db[name] {
			t.Errorf("%s: two renderings from the same events differ (digests %s, %s)", name, da[name], db[name])
		}
	}
	html, _ := os.ReadFile(filepath.Join(outA, "report-b-1.html"))
	if !strings.Contains(string(html), "b-1") || !strings.Contains(string(html), "status is 200, want 404") {
		t.Errorf("the HTML report lacks the batch or its failure")
	}

	// As of the first result: one result, no completion; by sequence and by time alike.
	bySeq, byTime := t.TempDir(), t.TempDir()
	if code, _, errs := runReports(t, data, "rebuild", "b-1", "--format", "json", "--as-of", itoa(first), "--out", bySeq); code != 0 {
		t.Fatalf("rebuild --as-of %d = %d: %s", first, code, errs)
	}
	at := reportT0.Add(time.Second).Format(time.RFC3339)
	if code, _, errs := runReports(t, data, "rebuild", "b-1", "--format", "json", "--as-of", at, "--out", byTime); code != 0 {
		t.Fatalf("rebuild --as-of %s = %d: %s", at, code, errs)
	}
	js, _ := os.ReadFile(filepath.Join(bySeq, "report-b-1.json"))
	jt, _ := os.ReadFile(filepath.Join(byTime, "report-b-1.json"))
	full, _ := os.ReadFile(filepath.Join(outA, "report-b-1.json"))
	if !bytes.Equal(js, jt) || bytes.Equal(js, full) {
		t.Errorf("as of the first result: by sequence and by time must agree and differ from the whole batch")
	}
	in, err := reports.FromEvents(envs[:2])
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := reports.Render(in, reports.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js, want) {
		t.Errorf("as of the first result, the report is not the one of the submission and the first result:\n%s\nwant\n%s", js, want)
	}
}

func TestReportsRebuildErrors(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	seedBatch(t, data, "app-2", "b-2")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rebuild", "nope"}, "no batch nope"},
		{[]string{"rebuild", "b-2", "--as-of", "0"}, "sequences start at 1"},
		{[]string{"rebuild", "b-2", "--as-of", reportT0.Add(-time.Hour).Format(time.RFC3339)}, "had not been submitted"},
		{[]string{"rebuild", "b-2", "--as-of", "yesterday"}, "RFC 3339"},
		{[]string{"rebuild", "b-2", "--format", "pdf"}, "--format"},
		{[]string{"rebuild"}, "usage"},
	} {
		code, out, errs := runReports(t, data, append(c.args, "--out", t.TempDir())...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("reports %v = %d, want 2 and %q\n%s%s", c.args, code, c.want, out, errs)
		}
	}
	code, _, errs := runReports(t, data, "--help")
	if code != 0 || !strings.Contains(errs, "Example:") || !strings.Contains(errs, "assay reports rebuild") {
		t.Errorf("reports --help = %d:\n%s", code, errs)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
