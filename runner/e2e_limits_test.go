package runner

import (
	"context"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/batch"
)

// A batch's concurrency bounds how many of its requests the runner has in flight, far
// below the runner's own concurrency.
func TestE2EBatchConcurrencyLimit(t *testing.T) {
	t.Parallel()
	const n = 200
	e := newE2E(t, 0)
	rec := newRecorder(t, 5*time.Millisecond, "")
	e.reactors()
	e.runner(e.store, "r-conc", Config{Concurrency: 64}, e.jsSource(e.store, JetStreamConfig{Prefetch: 64}))
	e.submit(submittedTo(rec, "app-1", "b-conc", okCases(n), batch.Settings{Concurrency: 3}))
	eventually(t, 45*time.Second, "completion", func() bool { return e.completed("app-1", "b-conc") })

	maxIn, arrivals, _ := rec.stats()
	if len(arrivals) != n {
		t.Fatalf("%d requests reached the target, want %d", len(arrivals), n)
	}
	if maxIn > 3 || maxIn < 2 {
		t.Fatalf("the target had up to %d requests in flight, want at most the batch's 3 (and more than 1)", maxIn)
	}
	if c := e.completions("app-1", "b-conc"); len(c) != 1 || c[0].Totals.Passed != n {
		t.Fatalf("completions %+v", c)
	}
	t.Logf("max in flight %d over %v", maxIn, arrivals[n-1].Sub(arrivals[0]))
}

// A batch's rate bounds how fast its requests reach the target: 100 requests at 50/s
// span at least 99 intervals of 20ms.
func TestE2EBatchRateLimit(t *testing.T) {
	t.Parallel()
	const n = 100
	e := newE2E(t, 0)
	rec := newRecorder(t, 0, "")
	e.reactors()
	e.runner(e.store, "r-rate", Config{Concurrency: 64}, e.jsSource(e.store, JetStreamConfig{Prefetch: 64}))
	e.submit(submittedTo(rec, "app-1", "b-rate", okCases(n), batch.Settings{Concurrency: 50, RatePerSecond: 50}))
	eventually(t, 45*time.Second, "completion", func() bool { return e.completed("app-1", "b-rate") })

	_, arrivals, _ := rec.stats()
	if len(arrivals) != n {
		t.Fatalf("%d requests reached the target, want %d", len(arrivals), n)
	}
	span := arrivals[n-1].Sub(arrivals[0])
	// 99 intervals of 20ms make 1.98s; the first request reaching the target late (a
	// loaded machine) shortens the span a little, a missing limiter makes it ~10ms.
	if span < 1700*time.Millisecond {
		t.Fatalf("%d requests within %v: faster than 50/s", n, span)
	}
	// Nor a burst anywhere: any 26 consecutive requests span about 25 intervals (500ms).
	// A request may reach the target late and the next ones on time (once 117ms late on a
	// loaded machine); a burst of 26 would arrive within a few milliseconds.
	for i := 25; i < n; i++ {
		if d := arrivals[i].Sub(arrivals[i-25]); d < 250*time.Millisecond {
			t.Fatalf("requests %d..%d within %v", i-25, i, d)
		}
	}
	if c := e.completions("app-1", "b-rate"); len(c) != 1 || c[0].Totals.Passed != n {
		t.Fatalf("completions %+v", c)
	}
	t.Logf("%d requests over %v", n, span)
}

// The limiters are kept per batch in a bounded map: unused ones are dropped when idle or
// when the map is full; those in use are kept.
func TestE2ELimitsMapBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := newLimits()
	l.max, l.now = 2, func() time.Time { return now }
	req := func(b string) batch.CaseExecutionRequested {
		return batch.CaseExecutionRequested{AppID: "a", BatchID: b, Concurrency: 1}
	}
	ctx := context.Background()
	acquire := func(b string) func() {
		t.Helper()
		rel, err := l.acquire(ctx, req(b), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rel
	}
	acquire("b1")()
	hold := acquire("b2")
	if l.size() != 2 {
		t.Fatalf("size %d, want 2", l.size())
	}
	acquire("b3")() // full: b1 (unused) dropped, b2 (in use) kept
	l.mu.Lock()
	_, has1 := l.m[batchKey{"a", "b1"}]
	_, has2 := l.m[batchKey{"a", "b2"}]
	l.mu.Unlock()
	if has1 || !has2 {
		t.Fatalf("after filling: b1 kept %v, b2 kept %v", has1, has2)
	}
	hold()
	now = now.Add(2 * batchLimitsIdle)
	acquire("b4")() // b2, b3 idle for long: dropped
	if l.size() != 1 {
		t.Fatalf("size %d after the idle ones went, want 1", l.size())
	}

	// A request without limits never waits nor adds an entry.
	rel, err := l.acquire(ctx, batch.CaseExecutionRequested{AppID: "a", BatchID: "free"}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if l.size() != 1 {
		t.Fatalf("size %d, an unlimited batch was tracked", l.size())
	}

	// Waiting for a slot ends with ctx, and the slot held is not lost.
	hold = acquire("b5")
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	beats := 0
	if _, err := l.acquire(cctx, req("b5"), 10*time.Millisecond, func() { beats++ }); err == nil {
		t.Fatal("acquired a second slot of a batch of concurrency 1")
	}
	cancel()
	if beats == 0 {
		t.Error("no heartbeat while waiting")
	}
	hold()
	acquire("b5")()
}
