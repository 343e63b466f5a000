package analysis_test

import (
	"testing"

	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/testcase"
)

func TestRuleHypothesis(t *testing.T) {
	t.Parallel()
	valid, invalid := kase("v", "if-a", testcase.Valid), kase("i", "if-a", testcase.WrongType)
	outside := kase("e", "if-a", testcase.Enum)
	outside.Name = "body.kind: value outside the enum \"zz\""
	cases := []testcase.Case{valid, invalid, outside}
	for _, tc := range []struct {
		check  string
		status int
		ids    []string
		want   analysis.Label
	}{
		{"error", 0, []string{"v"}, analysis.EnvironmentNetwork},
		{"status", 503, []string{"v"}, analysis.ServerError},
		{"check.not_a_server_error", 500, []string{"i"}, analysis.ServerError},
		{"status", 401, []string{"v"}, analysis.Auth},
		{"status", 403, []string{"i"}, analysis.Auth},
		{"latency_ms", 200, []string{"v"}, analysis.Performance},
		{"check.content_type_conformance", 200, []string{"v"}, analysis.ContentType},
		{"check.response_schema_conformance", 200, []string{"v"}, analysis.SchemaMismatch},
		{"status", 200, []string{"i", "e"}, analysis.ValidationMissing},
		{"status", 422, []string{"v"}, analysis.ValidationTooStrict},
		{"status", 404, []string{"v"}, analysis.TestCaseWrong},
		{"status", 400, []string{"i"}, analysis.WrongStatusCode},
		{"check.status_code_conformance", 418, []string{"i"}, analysis.WrongStatusCode},
		{"body.id", 200, []string{"v"}, analysis.TestCaseWrong},
	} {
		cl := analysis.Cluster{InterfaceID: "if-a", Check: tc.check, Status: tc.status, Count: len(tc.ids), CaseIDs: tc.ids}
		if h := analysis.RuleHypothesis(cl, cases); h.Label != tc.want || h.By != "rules" || h.Text == "" {
			t.Errorf("%s %d %v: %+v, want %s", tc.check, tc.status, tc.ids, h, tc.want)
		}
	}
}

func TestParseLabel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]analysis.Label{"Server error": analysis.ServerError,
		"environment/network": analysis.EnvironmentNetwork, "validation-too-strict": analysis.ValidationTooStrict,
		" AUTH ": analysis.Auth} {
		if got, ok := analysis.ParseLabel(in); !ok || got != want {
			t.Errorf("%q: %q %v", in, got, ok)
		}
	}
	if _, ok := analysis.ParseLabel("cosmic rays"); ok {
		t.Error("an unknown label parsed")
	}
}

// The LLM's words replace the rules'; its numbers cannot, and a hypothesis with an unknown
// label keeps the rules' one.
func TestWithNarration(t *testing.T) {
	t.Parallel()
	a := analysis.Analyze(handBatch(), nil)
	rules := a.Clusters[1].Hypothesis
	got := a.WithNarration(analysis.Narration{Narrator: "llm", Model: "m-1", Narrative: " Told well. ",
		Hypotheses: []analysis.Hypothesis{{Label: analysis.ServerError, Text: "the handler panics"}, {Label: "cosmic", Text: "x"}}})
	if got.Narrative != "Told well." || got.Narrator != "llm" || got.NarratorModel != "m-1" || got.Totals != a.Totals {
		t.Fatalf("narrated %+v", got)
	}
	if h := got.Clusters[0].Hypothesis; h != (analysis.Hypothesis{Label: analysis.ServerError, Text: "the handler panics", By: "llm"}) {
		t.Errorf("first hypothesis %+v", h)
	}
	if got.Clusters[1].Hypothesis != rules || a.Clusters[0].Hypothesis.By != "rules" {
		t.Errorf("second hypothesis %+v, the original's first %+v", got.Clusters[1].Hypothesis, a.Clusters[0].Hypothesis)
	}
	fb := a.WithNarration(analysis.Narration{Narrator: "rules", Fallback: "timeout"})
	if fb.Narrative != a.Narrative || fb.Narrator != "rules" || fb.NarratorFallback != "timeout" {
		t.Errorf("fallback %+v", fb)
	}
}
