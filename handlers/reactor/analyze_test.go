package reactor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/reactor"
)

func (e *env) analyzer() {
	e.t.Helper()
	r, err := reactor.NewAnalyzer(e.cmd, reactor.AnalyzerConfig{}).Reactor(reactor.Config{MaxWait: 100 * time.Millisecond}, quietLog(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.run(r)
}

// finish runs a batch of n cases whose outcome is given by failed(i), and completes it.
func (e *env) finish(batchID string, n int, failed func(int) bool) {
	e.t.Helper()
	e.submit(submitted(batchID, plainCases(n)))
	for i := range n {
		o := batch.Passed
		if failed(i) {
			o = batch.Failed
		}
		e.result(batchID, fmt.Sprintf("c-%05d", i), o, nil)
	}
	meta := domain.Metadata{CommandID: "complete-" + batchID, UserID: domain.System}
	if _, err := e.cmd.Batch(e.ctx, meta, batchID, batch.Complete{BatchID: batchID, ActorID: domain.System, At: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) analyses(batchID string) []analysis.Analysis {
	e.t.Helper()
	var out []analysis.Analysis
	for _, env := range e.load(domain.BatchSubject(appID, batchID)) {
		if a, ok := env.Data.(batch.Analyzed); ok {
			var an analysis.Analysis
			if err := json.Unmarshal(a.Analysis, &an); err != nil {
				e.t.Fatal(err)
			}
			if a.Narrator != an.Narrator || a.Model != an.NarratorModel || a.Fallback != an.NarratorFallback || an.Narrative == "" {
				e.t.Errorf("analysis by %q/%q, narrative %q", a.Narrator, an.Narrator, an.Narrative)
			}
			out = append(out, an)
		}
	}
	return out
}

func TestAnalyzeOnceWithTwoReplicas(t *testing.T) {
	e := setup(t)
	e.finish("b-0", 10, func(int) bool { return false })
	e.analyzer()
	e.analyzer()
	e.finish("b-1", 10, func(i int) bool { return i < 3 })
	e.eventually("analyses", func() bool { return len(e.analyses("b-0")) > 0 && len(e.analyses("b-1")) > 0 })
	settle()
	if a := e.analyses("b-0"); len(a) != 1 || a[0].Totals.Passed != 10 || len(a[0].PreviousBatches) != 0 {
		t.Fatalf("b-0 analyses %+v", a)
	}
	a := e.analyses("b-1")
	want := analysis.Totals{Total: 10, Passed: 7, Failed: 3, PassRate: 0.7, FailRate: 0.3}
	if len(a) != 1 || a[0].Totals != want {
		t.Fatalf("b-1 analyses %+v, want one with %+v", a, want)
	}
	if got := a[0]; len(got.PreviousBatches) != 1 || got.PreviousBatches[0] != "b-0" || len(got.Regressions) != 3 ||
		got.Regressions[0] != (analysis.Regression{CaseID: "c-00000", InterfaceID: "if-1", PreviousBatchID: "b-0"}) {
		t.Fatalf("b-1 against b-0: previous %v, regressions %+v", got.PreviousBatches, got.Regressions)
	}
}

// A redelivered completion records once; an analysis request records a second revision.
func TestAnalyzeRedeliveryAndRequest(t *testing.T) {
	e := setup(t)
	e.finish("b-r", 4, func(i int) bool { return i == 0 })
	var completed domain.Envelope
	for _, env := range e.load(domain.BatchSubject(appID, "b-r")) {
		if _, ok := env.Data.(batch.Completed); ok {
			completed = env
		}
	}
	a := reactor.NewAnalyzer(e.cmd, reactor.AnalyzerConfig{})
	for range 2 {
		if err := a.Handle(e.ctx, completed); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.analyses("b-r"); len(got) != 1 {
		t.Fatalf("%d analyses after a redelivery", len(got))
	}
	meta := domain.Metadata{CommandID: "again", UserID: "user-1"}
	if _, err := e.cmd.Batch(e.ctx, meta, "b-r", batch.RequestAnalysis{BatchID: "b-r", ActorID: "user-1", At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	var req domain.Envelope
	for _, env := range e.load(domain.BatchSubject(appID, "b-r")) {
		if _, ok := env.Data.(batch.AnalysisRequested); ok {
			req = env
		}
	}
	if err := a.Handle(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	got := e.analyses("b-r")
	if len(got) != 2 || got[1].Totals != got[0].Totals || got[1].Totals.Failed != 1 {
		t.Fatalf("analyses %+v", got)
	}
}

// completedEnv is the batch.completed of a batch.
func (e *env) completedEnv(batchID string) domain.Envelope {
	e.t.Helper()
	for _, env := range e.load(domain.BatchSubject(appID, batchID)) {
		if _, ok := env.Data.(batch.Completed); ok {
			return env
		}
	}
	e.t.Fatalf("batch %s did not complete", batchID)
	return domain.Envelope{}
}

type fakeNarrator struct {
	n   analysis.Narration
	err error
}

func (f fakeNarrator) Narrate(context.Context, analysis.Analysis) (analysis.Narration, error) {
	return f.n, f.err
}

// The narrator's words and name are recorded (the numbers stay the analysis's), its
// fallback reason too; coverage is measured against the interface's definition at the
// version the batch froze.
func TestAnalyzeNarratorAndDefinition(t *testing.T) {
	e := setup(t)
	def := iface.Definition{Name: "pets", Method: "GET", Path: "/pets",
		Query: json.RawMessage(`{"type":"object","properties":{"limit":{"type":"integer","minimum":1,"maximum":10}}}`)}
	for v, d := range []iface.Definition{{Name: "pets", Method: "GET", Path: "/pets"}, def} {
		var ev domain.Event = iface.Defined{AppID: appID, InterfaceID: "if-1", OwnerID: "user-1", Interface: d, Version: 0, At: time.Now().UTC()}
		if v == 1 {
			ev = iface.Updated{AppID: appID, InterfaceID: "if-1", Interface: d, Changed: []string{"query"}, Version: 1, At: time.Now().UTC()}
		}
		if _, err := e.store.Append(e.ctx, eventstore.Expect{}, newEnv(ev)); err != nil {
			t.Fatal(err)
		}
	}
	e.finish("b-l", 4, func(i int) bool { return i == 0 })
	llm := analysis.Narration{Narrator: "llm", Model: "m-1", Narrative: "Told by a model.",
		Hypotheses: []analysis.Hypothesis{{Label: analysis.WrongStatusCode, Text: "the service answers 200 where 201 is documented"}}}
	if err := reactor.NewAnalyzer(e.cmd, reactor.AnalyzerConfig{Narrator: fakeNarrator{n: llm}}).Handle(e.ctx, e.completedEnv("b-l")); err != nil {
		t.Fatal(err)
	}
	got := e.analyses("b-l")
	if len(got) != 1 || got[0].Narrator != "llm" || got[0].NarratorModel != "m-1" || got[0].Narrative != "Told by a model." ||
		got[0].Totals.Failed != 1 || got[0].Clusters[0].Hypothesis.By != "llm" || got[0].Clusters[0].Hypothesis.Label != analysis.WrongStatusCode {
		t.Fatalf("analysis %+v", got)
	}
	cov := got[0].Coverage.Interfaces[0]
	want := []analysis.ParameterCoverage{{Name: "query.limit", In: "query", Possible: []string{"valid", "boundary", "out_of_range", "wrong_type"}, Exercised: []string{}, CellsPossible: 4}}
	if !cov.DefinitionKnown || !reflect.DeepEqual(cov.Parameters, want) || cov.CellsPossible != 4 || got[0].Coverage.Totals.CellsPossible != 4 {
		t.Fatalf("coverage %+v", cov)
	}

	e.finish("b-f", 2, func(int) bool { return true })
	fb := analysis.Narration{Narrator: "rules", Fallback: "timeout: no answer within 20s"}
	a := reactor.NewAnalyzer(e.cmd, reactor.AnalyzerConfig{Narrator: fakeNarrator{n: fb}})
	if err := a.Handle(e.ctx, e.completedEnv("b-f")); err != nil {
		t.Fatal(err)
	}
	got = e.analyses("b-f")
	if len(got) != 1 || got[0].Narrator != "rules" || got[0].NarratorFallback != fb.Fallback || got[0].Clusters[0].Hypothesis.By != "rules" {
		t.Fatalf("fallback analysis %+v", got)
	}
	// A narrator failing because the handler is stopping records nothing.
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	a = reactor.NewAnalyzer(e.cmd, reactor.AnalyzerConfig{Narrator: fakeNarrator{err: context.Canceled}})
	if err := a.Handle(ctx, e.completedEnv("b-l")); err == nil {
		t.Fatal("a stopped narration was recorded")
	}
}

// The previous batches are the latest MaxPrevious completed before, newest first.
func TestAnalyzePreviousNewestFirst(t *testing.T) {
	e := setup(t)
	for i := range analysis.MaxPrevious + 2 {
		e.finish(fmt.Sprintf("b-%d", i), 2, func(int) bool { return false })
	}
	last := fmt.Sprintf("b-%d", analysis.MaxPrevious+1)
	want := []string{"b-5", "b-4", "b-3", "b-2", "b-1"}
	// A window of 2 sequences widens (2, 16, 128) until it holds 5 earlier batches.
	for n, window := range []uint64{0, 2} {
		completed := e.completedEnv(last)
		completed.ID += strconv.Itoa(n) // another trigger: another revision
		if err := reactor.NewAnalyzer(e.cmd, reactor.AnalyzerConfig{PreviousWindow: window}).Handle(e.ctx, completed); err != nil {
			t.Fatal(err)
		}
		got := e.analyses(last)
		if len(got) != n+1 || !slices.Equal(got[n].PreviousBatches, want) {
			t.Fatalf("window %d: previous %+v, want %v", window, got, want)
		}
	}
}
