package ai_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/assay-dev/assay/ai"
	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
)

// narrServer is a fake OpenAI-compatible endpoint answering every chat completion with
// status and content (stall: it answers only when the request is abandoned).
func narrServer(t *testing.T, status int, content string, stall bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 ||
			!strings.Contains(req.Messages[1].Content, `"rule_hypothesis"`) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if stall {
			<-r.Context().Done()
			return
		}
		if status != http.StatusOK {
			http.Error(w, `{"error":{"message":"overloaded"}}`, status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "m-1",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content}}},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// narrAnalysis has 10 cases, 3 of them failing in two clusters.
func narrAnalysis() analysis.Analysis {
	k := func(id, class string) testcase.Case {
		return testcase.Case{ID: id, InterfaceID: "if-1", Name: id, Class: class, Priority: "P2", Enabled: true, Source: "rules"}
	}
	h := analysis.BatchHistory{Submitted: batch.Submitted{AppID: "app-1", BatchID: "b-1",
		Interfaces: []batch.InterfaceRef{{ID: "if-1", Method: "POST", Path: "/users", Version: 1}}}}
	for i := range 10 {
		id := string(rune('a' + i))
		class, o, st := testcase.Valid, batch.Passed, 201
		switch i {
		case 0, 1:
			class, o, st = testcase.MissingRequired, batch.Failed, 201
		case 2:
			o, st = batch.Failed, 500
		}
		h.Submitted.Cases = append(h.Submitted.Cases, k(id, class))
		h.Results = append(h.Results, batch.CaseExecuted{CaseID: id, InterfaceID: "if-1", Outcome: o, StatusCode: st, DurationMS: 10,
			Assertions: []assert.Evaluated{{Target: "status", Op: "eq"}}})
	}
	return analysis.Analyze(h, nil)
}

const narrGood = `{"narrative":"7 of the 10 cases passed (70%). POST /users accepts requests missing a required field and fails once with 500.",
"hypotheses":[{"cluster":1,"label":"validation_missing","text":"POST /users does not check required fields."},
{"cluster":2,"label":"Server error","text":"The handler crashes on a valid user."}]}`

func narrate(t *testing.T, url string, timeout time.Duration, reg *prometheus.Registry) analysis.Analysis {
	t.Helper()
	model, err := openai.New(openai.WithBaseURL(url+"/v1"), openai.WithToken("k"), openai.WithModel("m-1"))
	if err != nil {
		t.Fatal(err)
	}
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_llm_calls_total"}, []string{"purpose", "outcome"})
	fallbacks := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_llm_fallbacks_total"}, []string{"purpose", "reason"})
	reg.MustRegister(calls, fallbacks)
	n, err := ai.NewNarrator(model, ai.NarratorConfig{Model: "m-1", Timeout: timeout,
		Metrics: ai.NarratorMetrics{Calls: calls, Fallbacks: fallbacks}})
	if err != nil {
		t.Fatal(err)
	}
	a := narrAnalysis()
	got, err := n.Narrate(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return a.WithNarration(got)
}

func TestNarrate(t *testing.T) {
	t.Parallel()
	rules := narrAnalysis()
	for _, tc := range []struct {
		name     string
		status   int
		content  string
		stall    bool
		narrator string
		fallback string // prefix
		labels   []analysis.Label
		by       []string
	}{
		{"good", 200, narrGood, false, "llm", "", []analysis.Label{analysis.ValidationMissing, analysis.ServerError}, []string{"llm", "llm"}},
		{"fenced with prose", 200, "Here is my analysis:\n```json\n" + narrGood + "\n```\nHope it helps {not json}.", false, "llm", "",
			[]analysis.Label{analysis.ValidationMissing, analysis.ServerError}, []string{"llm", "llm"}},
		{"unknown label", 200, strings.Replace(narrGood, "Server error", "cosmic rays", 1), false, "llm",
			"rules' hypothesis kept for 1 of 2 clusters", []analysis.Label{analysis.ValidationMissing, analysis.ServerError}, []string{"llm", "rules"}},
		{"invented number", 200, strings.Replace(narrGood, "7 of the 10", "42 of the 10", 1), false, "rules", "garbage: the narrative states 42",
			nil, []string{"rules", "rules"}},
		{"garbage", 200, "I cannot help with that.", false, "rules", "garbage: no JSON object", nil, []string{"rules", "rules"}},
		{"http 500", 500, "", false, "rules", "error: ", nil, []string{"rules", "rules"}},
		{"stall", 200, "", true, "rules", "timeout: ", nil, []string{"rules", "rules"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			a := narrate(t, narrServer(t, tc.status, tc.content, tc.stall), 300*time.Millisecond, reg)
			if a.Narrator != tc.narrator || !strings.HasPrefix(a.NarratorFallback, tc.fallback) || (tc.fallback == "") != (a.NarratorFallback == "") {
				t.Fatalf("narrator %q, fallback %q", a.Narrator, a.NarratorFallback)
			}
			if a.Totals != rules.Totals || len(a.Clusters) != 2 || a.Clusters[0].Count != rules.Clusters[0].Count {
				t.Fatalf("numbers changed: %+v", a)
			}
			for i, c := range a.Clusters {
				if c.Hypothesis.By != tc.by[i] || (tc.labels != nil && c.Hypothesis.Label != tc.labels[i]) {
					t.Errorf("cluster %d: %+v", i, c.Hypothesis)
				}
			}
			if tc.narrator == "llm" {
				if a.NarratorModel != "m-1" || !strings.HasPrefix(a.Narrative, "7 of the 10 cases passed") {
					t.Errorf("model %q, narrative %q", a.NarratorModel, a.Narrative)
				}
			} else if a.Narrative != rules.Narrative || a.NarratorModel != "" {
				t.Errorf("fallback narrative %q (model %q)", a.Narrative, a.NarratorModel)
			}
			if tc.narrator == "rules" {
				reason := strings.SplitN(tc.fallback, ":", 2)[0]
				if n := testutil.ToFloat64(fallbackCounter(t, reg, reason)); n != 1 {
					t.Errorf("%v fallbacks counted for %s", n, reason)
				}
			}
		})
	}
}

func fallbackCounter(t *testing.T, reg *prometheus.Registry, reason string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "n"})
	for _, mf := range mfs {
		if mf.GetName() != "assay_llm_fallbacks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["purpose"] == "narrate" && labels["reason"] == reason {
				c.Add(m.GetCounter().GetValue())
			}
		}
	}
	return c
}

// Without a model the rules narrate, and say why; a caller that stops gets an error.
func TestNarrateWithoutModelAndStopped(t *testing.T) {
	t.Parallel()
	n, err := ai.NewNarrator(nil, ai.NarratorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := n.Narrate(context.Background(), narrAnalysis())
	if err != nil || got.Narrator != "rules" || !strings.HasPrefix(got.Fallback, "no_model") {
		t.Fatalf("%+v, %v", got, err)
	}
	var none *ai.Narrator
	if got, err := none.Narrate(context.Background(), narrAnalysis()); err != nil || !strings.HasPrefix(got.Fallback, "no_model") {
		t.Fatalf("nil narrator: %+v, %v", got, err)
	}
	model, err := openai.New(openai.WithBaseURL(narrServer(t, 200, "", true)+"/v1"), openai.WithToken("k"), openai.WithModel("m"))
	if err != nil {
		t.Fatal(err)
	}
	n, err = ai.NewNarrator(model, ai.NarratorConfig{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := n.Narrate(ctx, narrAnalysis()); err == nil {
		t.Fatal("a stopped caller got a narration")
	}
	if _, err := ai.NewNarrator(nil, ai.NarratorConfig{Timeout: -1, Temperature: 3}); err == nil {
		t.Fatal("a bad config was accepted")
	}
}
