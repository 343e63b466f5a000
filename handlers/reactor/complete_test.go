package reactor_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/reactor"
)

func TestCompleteOnceWithTwoReplicas(t *testing.T) {
	e := setup(t)
	const n = 300
	e.submit(submitted("b-done", plainCases(n)))
	e.completer()
	e.completer()
	var wg sync.WaitGroup
	for w := range 4 { // four runners appending results at once
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				outcome := batch.Passed
				if i%10 == 0 {
					outcome = batch.Failed
				}
				e.result("b-done", fmt.Sprintf("c-%05d", i), outcome, nil)
			}
		})
	}
	wg.Wait()
	e.eventually("completion", func() bool { return len(e.completions("b-done")) > 0 })
	settle()
	c := e.completions("b-done")
	want := batch.Totals{Total: n, Passed: 270, Failed: 30}
	if len(c) != 1 || c[0].Totals != want || c[0].Canceled {
		t.Fatalf("completions %+v, want one with %+v", c, want)
	}
}

// A completion reactor started after most results (a restart) initialises its count from
// the log once and completes on the last result.
func TestCompleteAfterARestart(t *testing.T) {
	e := setup(t)
	e.submit(submitted("b-late", plainCases(50)))
	for i := range 49 {
		e.result("b-late", fmt.Sprintf("c-%05d", i), batch.Passed, nil)
	}
	e.completer()
	settle()
	if c := e.completions("b-late"); len(c) != 0 {
		t.Fatalf("completed early: %+v", c)
	}
	e.result("b-late", "c-00049", batch.Errored, nil)
	e.eventually("completion", func() bool { return len(e.completions("b-late")) > 0 })
	if c := e.completions("b-late"); len(c) != 1 || c[0].Totals != (batch.Totals{Total: 50, Passed: 49, Errored: 1}) {
		t.Fatalf("completions %+v", c)
	}
}

// Two replicas each see every other result: neither count reaches the total, so the one
// holding the latest result asks the log, and exactly one Complete is appended.
func TestCompleteCountsWhatOtherReplicasSaw(t *testing.T) {
	e := setup(t)
	const n = 40
	sub := e.submit(submitted("b-split", plainCases(n)))
	a := reactor.NewCompleter(e.cmd, reactor.CompleterConfig{})
	b := reactor.NewCompleter(e.cmd, reactor.CompleterConfig{})
	if err := a.Handle(e.ctx, sub); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := batch.CaseExecuted{AppID: appID, BatchID: "b-split", CaseID: fmt.Sprintf("c-%05d", i), InterfaceID: "if-1",
			Outcome: batch.Passed, At: time.Now().UTC()}
		out, err := e.store.Append(e.ctx, eventstore.Expect{r.Subject(): 0}, newEnv(r))
		if err != nil {
			t.Fatal(err)
		}
		if err := []*reactor.Completer{a, b}[i%2].Handle(e.ctx, out[0]); err != nil {
			t.Fatal(err)
		}
		if got := len(e.completions("b-split")); (i < n-1 && got != 0) || (i == n-1 && got != 1) {
			t.Fatalf("after result %d: %d completions", i, got)
		}
	}
}

// A 5,000-result batch spread at random over three replicas completes on its last result
// with a few log lookups, not one (or one scan) per result.
func TestCompleteLargeBatchWithFewLookups(t *testing.T) {
	e := setup(t)
	const n = 5000
	cases := make([]testcase.Case, n) // bare cases: a submission must fit in one message
	for i := range cases {
		cases[i] = testcase.Case{ID: fmt.Sprintf("c-%05d", i), InterfaceID: "if-1"}
	}
	sub := e.submit(submitted("b-large", cases))
	reps := []*reactor.Completer{
		reactor.NewCompleter(e.cmd, reactor.CompleterConfig{}),
		reactor.NewCompleter(e.cmd, reactor.CompleterConfig{}),
		reactor.NewCompleter(e.cmd, reactor.CompleterConfig{}),
	}
	if err := reps[0].Handle(e.ctx, sub); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		r := batch.CaseExecuted{AppID: appID, BatchID: "b-large", CaseID: fmt.Sprintf("c-%05d", i), InterfaceID: "if-1",
			Outcome: batch.Passed, At: time.Now().UTC()}
		out, err := e.store.Append(e.ctx, eventstore.Expect{r.Subject(): 0}, newEnv(r))
		if err != nil {
			t.Fatal(err)
		}
		rep := reps[rng.IntN(len(reps))]
		if i == n-1 {
			rep = reps[1] // one that did not see the submission and saw about a third
		}
		if err := rep.Handle(e.ctx, out[0]); err != nil {
			t.Fatal(err)
		}
		if i == n-2 {
			if got := len(e.completions("b-large")); got != 0 {
				t.Fatalf("completed before the last result: %d completions", got)
			}
		}
	}
	if c := e.completions("b-large"); len(c) != 1 || c[0].Totals != (batch.Totals{Total: n, Passed: n}) {
		t.Fatalf("completions %+v, want one with %d passed", c, n)
	}
	var lookups int64
	for _, r := range reps {
		lookups += r.LogLookups()
	}
	// Each replica loads the batch once (but the first) and counts at most once: after a
	// count, no result can be the last until the stream has grown by the missing results.
	if lookups > 2*int64(len(reps)) {
		t.Fatalf("%d log lookups for %d results", lookups, n)
	}
	t.Logf("%d log lookups for %d results over %d replicas", lookups, n, len(reps))
}
