package runner

import (
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/batch"
)

// A runner killed mid-batch without acking what it holds: the messages it had are
// redelivered (after AckWait) to the other runner on the same durable, and each case
// still ends with exactly one result and the batch completes once.
func TestE2ERunnerKilledMidBatch(t *testing.T) {
	t.Parallel()
	const n = 400
	e := newE2E(t, 0)
	rec := newRecorder(t, 50*time.Millisecond, "")
	// Opened before any consumer exists: nats-server races a stream update (which
	// opening a store does) with a consumer's creation.
	doomedStore, doomedConn := e.connect()
	e.reactors()
	js := JetStreamConfig{Name: "runners", Prefetch: 16, AckWait: time.Second, MaxWait: 200 * time.Millisecond}

	// The doomed runner has a connection of its own: closing it cuts the process off
	// from the log at once, as a crash would (no ack, no nak, no result appended).
	// Its failures to append and ack after that are expected: not logged.
	doomedJS := js
	doomedJS.Logger = silent()
	doomed, stopDoomed := e.runner(doomedStore, "doomed", Config{Concurrency: 16, Logger: silent()}, e.jsSource(doomedStore, doomedJS))
	other, _ := e.runner(e.store, "other", Config{Concurrency: 16}, e.jsSource(e.store, js))
	e.submit(submittedTo(rec, "app-1", "b-kill", okCases(n), batch.Settings{Concurrency: 32}))

	eventually(t, 20*time.Second, "the doomed runner at work", func() bool { return doomed.Stats().Executed >= 40 })
	doomedConn.Close()
	stopDoomed()
	killedAt := doomed.Stats()

	eventually(t, 45*time.Second, "completion", func() bool { return e.completed("app-1", "b-kill") })
	time.Sleep(300 * time.Millisecond) // let a second completion show, if there were one
	res := e.results("app-1", "b-kill")
	if len(res) != n {
		t.Fatalf("%d results, want %d", len(res), n)
	}
	passed := 0
	for _, r := range res {
		if r.Outcome == batch.Passed {
			passed++
		}
	}
	c := e.completions("app-1", "b-kill")
	if len(c) != 1 || c[0].Totals.Total != n || passed != n || c[0].Totals.Passed != n {
		t.Fatalf("%d passed; completions %+v", passed, c)
	}
	// The doomed runner held requests when it was killed (executing, or executed and
	// never recorded or never acked): the other runner executed them again.
	st := other.Stats()
	_, arrivals, _ := rec.stats()
	if len(arrivals) <= n {
		t.Fatalf("%d requests reached the target: nothing was redelivered (doomed %+v, other %+v)", len(arrivals), killedAt, st)
	}
	// An append cut off by the kill may still have reached the log: so the two runners'
	// counts add up to at most n, the rest being results the doomed one never knew it wrote.
	if got := killedAt.Recorded + st.Recorded; got > n || got+killedAt.Retried < n {
		t.Errorf("recorded %d + %d (doomed retried %d), want %d", killedAt.Recorded, st.Recorded, killedAt.Retried, n)
	}
	t.Logf("doomed runner %+v; other runner %+v; %d requests for %d cases", killedAt, st, len(arrivals), n)
}
