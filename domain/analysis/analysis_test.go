package analysis_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func kase(id, ifaceID, class string) testcase.Case {
	return testcase.Case{ID: id, InterfaceID: ifaceID, Name: id, Class: class, Priority: "P2", Enabled: true, Source: "manual"}
}

func ev(target string, passed bool, msg string) assert.Evaluated {
	return assert.Evaluated{Target: target, Op: "check", Passed: passed, Message: msg}
}

func res(caseID, ifaceID, outcome string, status int, ms float64, evs ...assert.Evaluated) batch.CaseExecuted {
	return batch.CaseExecuted{AppID: "app-1", BatchID: "b-1", CaseID: caseID, InterfaceID: ifaceID, Outcome: outcome,
		StatusCode: status, DurationMS: ms, Assertions: evs, At: t0}
}

const schema = "check.response_schema_conformance"

// handBatch is a batch whose analysis is computed by hand in TestAnalyzeHandComputed.
func handBatch() analysis.BatchHistory {
	status := func(ok bool) assert.Evaluated { return assert.Evaluated{Target: "status", Op: "eq", Passed: ok} }
	return analysis.BatchHistory{
		Submitted: batch.Submitted{AppID: "app-1", BatchID: "b-1", At: t0,
			Interfaces: []batch.InterfaceRef{
				{ID: "if-a", Name: "list pets", Method: "GET", Path: "/pets", Version: 1,
					Responses: map[string]iface.Response{"200": {}, "404": {}, "default": {}}},
				{ID: "if-b", Name: "add pet", Method: "POST", Path: "/pets", Version: 2,
					Responses: map[string]iface.Response{"201": {}, "4XX": {}}},
			},
			Cases: []testcase.Case{
				kase("a1", "if-a", testcase.Valid), kase("a2", "if-a", testcase.Boundary),
				kase("a3", "if-a", testcase.OutOfRange), kase("a4", "if-a", testcase.OutOfRange),
				kase("a5", "if-a", testcase.Custom),
				kase("b1", "if-b", testcase.Valid), kase("b2", "if-b", testcase.MissingRequired),
				kase("b3", "if-b", testcase.WrongType),
			}},
		Results: []batch.CaseExecuted{
			res("a1", "if-a", batch.Passed, 200, 10, status(true), ev(schema, true, "conforms")),
			res("a2", "if-a", batch.Passed, 200, 20, status(true), ev(schema, true, "conforms")),
			res("a3", "if-a", batch.Failed, 500, 30, status(false), ev(schema, false, "does not conform")),
			res("a4", "if-a", batch.Failed, 500, 40, status(false), ev(schema, false, "does not conform")),
			res("a5", "if-a", batch.Errored, 0, 0),
			res("b1", "if-b", batch.Passed, 201, 5, status(true), ev(schema, true, "skipped: the body is empty")),
			res("b2", "if-b", batch.Failed, 201, 50, status(false), ev(schema, true, "conforms")),
			// b3 has no result: canceled
		},
		Completed: batch.Completed{AppID: "app-1", BatchID: "b-1", At: t0.Add(time.Minute)},
	}
}

func f(v float64) *float64 { return &v }

func TestAnalyzeHandComputed(t *testing.T) {
	got := analysis.Analyze(handBatch(), nil)
	want := analysis.Analysis{
		AppID: "app-1", BatchID: "b-1", PreviousBatches: []string{},
		Totals:  analysis.Totals{Total: 8, Passed: 3, Failed: 3, Errored: 1, Canceled: 1, PassRate: 0.375, FailRate: 0.375, ErrorRate: 0.125},
		Latency: analysis.Latency{P50: 20, P95: 50, P99: 50}, // of 5 10 20 30 40 50
		Interfaces: []analysis.Interface{
			{InterfaceID: "if-a", Name: "list pets", Method: "GET", Path: "/pets",
				Totals:  analysis.Totals{Total: 5, Passed: 2, Failed: 2, Errored: 1, PassRate: 0.4, FailRate: 0.4, ErrorRate: 0.2},
				Latency: analysis.Latency{P50: 20, P95: 40, P99: 40}},
			{InterfaceID: "if-b", Name: "add pet", Method: "POST", Path: "/pets",
				Totals:  analysis.Totals{Total: 3, Passed: 1, Failed: 1, Canceled: 1, PassRate: 0.3333, FailRate: 0.3333},
				Latency: analysis.Latency{P50: 5, P95: 50, P99: 50}},
		},
		Clusters: []analysis.Cluster{
			{InterfaceID: "if-a", Check: "status", Status: 500, Count: 2, CaseIDs: []string{"a3", "a4"}, Classes: map[string]int{"out_of_range": 2}},
			{InterfaceID: "if-a", Check: "error", Status: 0, Count: 1, CaseIDs: []string{"a5"}, Classes: map[string]int{"custom": 1}},
			{InterfaceID: "if-b", Check: "status", Status: 201, Count: 1, CaseIDs: []string{"b2"}, Classes: map[string]int{"missing_required": 1}},
		},
		Regressions: []analysis.Regression{},
		Flaky:       []analysis.Flaky{},
		Coverage: analysis.Coverage{
			Interfaces: []analysis.InterfaceCoverage{
				{InterfaceID: "if-a", ClassesExercised: 3, ClassesPossible: 8, StatusesObserved: []string{"200", "500"},
					StatusesDocumented: []string{"200", "404", "default"}, StatusesCovered: 2, StatusCoverage: f(0.6667),
					Parameters: []analysis.ParameterCoverage{}, UnattributedCases: []string{},
					SchemaChecked: 4, SchemaConforming: 2, SchemaConformingShare: f(0.5)},
				{InterfaceID: "if-b", ClassesExercised: 3, ClassesPossible: 8, StatusesObserved: []string{"201"},
					StatusesDocumented: []string{"201", "4XX"}, StatusesCovered: 1, StatusCoverage: f(0.5),
					Parameters: []analysis.ParameterCoverage{}, UnattributedCases: []string{},
					SchemaChecked: 1, SchemaConforming: 1, SchemaConformingShare: f(1)},
			},
			Totals: analysis.CoverageTotals{Interfaces: 2, ClassesExercised: 6, ClassesPossible: 16, ClassCoverage: f(0.375),
				StatusesCovered: 3, StatusesDocumented: 5, StatusCoverage: f(0.6),
				SchemaChecked: 5, SchemaConforming: 3, SchemaConformingShare: f(0.6)},
		},
		Narrator: "rules",
	}
	narrative := got.Narrative
	got.Narrative = ""
	var labels []analysis.Label
	for i := range got.Clusters {
		if h := got.Clusters[i].Hypothesis; h.By != "rules" || h.Text == "" {
			t.Errorf("cluster %d hypothesis %+v", i, h)
		}
		labels = append(labels, got.Clusters[i].Hypothesis.Label)
		got.Clusters[i].Hypothesis = analysis.Hypothesis{}
	}
	if want := []analysis.Label{analysis.ServerError, analysis.EnvironmentNetwork, analysis.ValidationMissing}; !slices.Equal(labels, want) {
		t.Errorf("hypothesis labels %v, want %v", labels, want)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("analysis\n%s\nwant\n%s", g, w)
	}
	wantNarrative := "Batch b-1 ran 8 cases: 3 passed (37.5%), 3 failed (37.5%), 1 errored (12.5%), 1 canceled." +
		" Latency was 20 ms at p50, 50 ms at p95 and 50 ms at p99." +
		" Failures fall into 3 clusters; the largest: 2 cases on GET /pets failing status with status 500 (likely server error);" +
		" 1 case on GET /pets failing error with no response (likely environment network);" +
		" 1 case on POST /pets failing status with status 201 (likely validation missing)." +
		" There is no previous batch to compare with." +
		" Coverage: 6 of 16 case classes exercised across 2 interfaces, 3 of 5 documented statuses observed," +
		" 60.0% of 5 schema-checked responses conforming."
	if narrative != wantNarrative {
		t.Fatalf("narrative\n%s\nwant\n%s", narrative, wantNarrative)
	}
}

// prior builds a previous batch of if-a at version v with the given outcomes by case.
func prior(id string, v int, at time.Time, outcomes map[string]string) analysis.BatchHistory {
	h := analysis.BatchHistory{Submitted: batch.Submitted{AppID: "app-1", BatchID: id, At: at,
		Interfaces: []batch.InterfaceRef{{ID: "if-a", Method: "GET", Path: "/pets", Version: v}}},
		Completed: batch.Completed{AppID: "app-1", BatchID: id, At: at}}
	for _, c := range []string{"x1", "x2", "x3", "x4", "x5"} {
		h.Submitted.Cases = append(h.Submitted.Cases, kase(c, "if-a", testcase.Valid))
		if o, ok := outcomes[c]; ok {
			r := res(c, "if-a", o, 200, 1)
			r.BatchID = id
			h.Results = append(h.Results, r)
		}
	}
	return h
}

func TestRegressionsAndFlaky(t *testing.T) {
	now := prior("b-now", 1, t0, map[string]string{"x1": batch.Failed, "x2": batch.Failed, "x3": batch.Passed,
		"x4": batch.Failed, "x5": batch.Errored})
	previous := []analysis.BatchHistory{
		prior("p1", 1, t0.Add(-1*time.Hour), map[string]string{"x1": batch.Passed, "x2": batch.Canceled, "x3": batch.Failed,
			"x4": batch.Failed, "x5": batch.Errored}), // x2 canceled: it did not run
		prior("p2", 1, t0.Add(-2*time.Hour), map[string]string{"x1": batch.Passed, "x2": batch.Passed, "x3": batch.Passed,
			"x4": batch.Failed}), // x5 has no result
		prior("p3", 0, t0.Add(-3*time.Hour), map[string]string{"x4": batch.Passed, "x5": batch.Passed}), // another version
	}
	a := analysis.Analyze(now, previous)
	wantRegs := []analysis.Regression{
		{CaseID: "x1", InterfaceID: "if-a", PreviousBatchID: "p1"},
		{CaseID: "x2", InterfaceID: "if-a", PreviousBatchID: "p2"},
	}
	if !reflect.DeepEqual(a.Regressions, wantRegs) {
		t.Errorf("regressions %+v, want %+v", a.Regressions, wantRegs)
	}
	wantFlaky := []analysis.Flaky{
		{CaseID: "x1", InterfaceID: "if-a", Outcomes: []string{"failed", "passed", "passed"}},
		{CaseID: "x2", InterfaceID: "if-a", Outcomes: []string{"failed", "passed"}},
		{CaseID: "x3", InterfaceID: "if-a", Outcomes: []string{"passed", "failed", "passed"}},
	}
	if !reflect.DeepEqual(a.Flaky, wantFlaky) {
		t.Errorf("flaky %+v, want %+v", a.Flaky, wantFlaky)
	}
	if !slices.Equal(a.PreviousBatches, []string{"p1", "p2", "p3"}) {
		t.Errorf("previous batches %v", a.PreviousBatches)
	}
	want := "Against the 3 batches before, 2 cases regressed (passed then, fails now) and 3 cases are flaky."
	if !bytes.Contains([]byte(a.Narrative), []byte(want)) {
		t.Errorf("narrative %q lacks %q", a.Narrative, want)
	}
	// Only MaxPrevious batches count: the sixth and later are ignored.
	many := slices.Repeat([]analysis.BatchHistory{previous[0]}, analysis.MaxPrevious)
	many = append(many, previous[1])
	if got := analysis.Analyze(now, many); len(got.PreviousBatches) != analysis.MaxPrevious || len(got.Regressions) != 1 {
		t.Errorf("with %d previous: %v, regressions %+v", len(many), got.PreviousBatches, got.Regressions)
	}
}

func TestSameInputSameJSON(t *testing.T) {
	cur := handBatch()
	prev := []analysis.BatchHistory{handBatch()}
	prev[0].Submitted.BatchID = "b-0"
	for i := range prev[0].Results {
		prev[0].Results[i].Outcome = batch.Passed
	}
	first, err := json.Marshal(analysis.Analyze(cur, prev))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		c := handBatch() // same facts, another order
		rng.Shuffle(len(c.Results), func(i, j int) { c.Results[i], c.Results[j] = c.Results[j], c.Results[i] })
		rng.Shuffle(len(c.Submitted.Cases), func(i, j int) {
			c.Submitted.Cases[i], c.Submitted.Cases[j] = c.Submitted.Cases[j], c.Submitted.Cases[i]
		})
		rng.Shuffle(len(c.Submitted.Interfaces), func(i, j int) {
			c.Submitted.Interfaces[i], c.Submitted.Interfaces[j] = c.Submitted.Interfaces[j], c.Submitted.Interfaces[i]
		})
		again, err := json.Marshal(analysis.Analyze(c, prev))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("JSON differs:\n%s\n%s", first, again)
		}
	}
}

// An empty batch has zero rates, no clusters, and null shares rather than NaN.
func TestEmptyBatch(t *testing.T) {
	a := analysis.Analyze(analysis.BatchHistory{Submitted: batch.Submitted{AppID: "app-1", BatchID: "b-e"}}, nil)
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if a.Totals != (analysis.Totals{}) || len(a.Clusters) != 0 || a.Coverage.Totals.StatusCoverage != nil {
		t.Fatalf("empty batch: %s", b)
	}
}
