package reactor_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/batch"
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
			if a.Narrator != "rules" || an.Narrator != "rules" || an.Narrative == "" {
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
