package runner

import (
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
)

// A 5,000-case batch from batch.submitted to batch.completed: the dispatcher requests
// every case, a runner on the JetStream source executes them against a local target,
// the completer completes the batch once.
func TestE2EBatchOf5000(t *testing.T) {
	t.Parallel()
	const n = 5000
	// 5,000 cases make a batch.submitted of about 1.1 MB: above NATS's default largest
	// message (1 MB), so this server allows 8 MB (see the report: a real deployment needs
	// max_payload raised, or larger batches cannot be submitted).
	e := newE2E(t, 8<<20)
	rec := newRecorder(t, 0, "")
	e.reactors()
	r, _ := e.runner(e.store, "r-5000", Config{Concurrency: 64}, e.jsSource(e.store, JetStreamConfig{Prefetch: 64}))
	start := time.Now()
	e.submit(submittedTo(rec, "app-1", "b-5000", okCases(n), batch.Settings{Concurrency: 100}))
	// About 3s; under the race detector about 35s, nearly all of it the completer's: for
	// each result it asks the log for the batch's latest result (LastSubjectSeq on
	// result.*), which the server answers by walking every result subject so far.
	eventuallyEvery(t, 90*time.Second, 200*time.Millisecond, "completion", func() bool { return e.completed("app-1", "b-5000") })
	took := time.Since(start)
	time.Sleep(300 * time.Millisecond) // let a second completion show, if there were one

	res := e.results("app-1", "b-5000")
	if len(res) != n {
		t.Fatalf("%d results, want %d", len(res), n)
	}
	for id, x := range res {
		if x.Outcome != batch.Passed {
			t.Fatalf("case %s %s: %s %+v", id, x.Outcome, x.Error, x.Assertions)
		}
	}
	c := e.completions("app-1", "b-5000")
	if len(c) != 1 || c[0].Totals != (batch.Totals{Total: n, Passed: n}) {
		t.Fatalf("completions %+v, want one with %d passed", c, n)
	}
	_, arrivals, _ := rec.stats()
	if len(arrivals) != n {
		t.Fatalf("%d requests reached the target, want %d", len(arrivals), n)
	}
	t.Logf("first request after %v, last after %v", arrivals[0].Sub(start), arrivals[n-1].Sub(start))
	if st := r.Stats(); st.Executed != n || st.Recorded != n {
		t.Errorf("runner stats %+v", st)
	}
	t.Logf("%d cases: submitted to completed in %v", n, took)
}

// Chaining end to end: login extracts a token from its body, profile sends it in a
// header (${token}); the target accepts only that token, so both pass only if the
// value travelled from one result to the next request.
func TestE2EChaining(t *testing.T) {
	t.Parallel()
	e := newE2E(t, 0)
	rec := newRecorder(t, 0, "tok-8f2")
	e.reactors()
	e.runner(e.store, "r-chain", Config{}, e.jsSource(e.store, JetStreamConfig{}))

	login := okCase(0)
	login.ID, login.Request.Method, login.Request.Path = "login", "POST", "/login"
	login.Request.Body = []byte(`{"user":"u","password":"p"}`)
	login.Extract = map[string]string{"token": "body.token"}
	profile := okCase(1)
	profile.ID, profile.Request.Path = "profile", "/profile"
	profile.Request.Headers = map[string]string{"Authorization": "Bearer ${token}"}
	profile.Assertions = append(profile.Assertions, assert.Assertion{Target: "body.name", Op: "eq", Value: "rex"})
	e.submit(submittedTo(rec, "app-1", "b-chain", []testcase.Case{profile, login}, batch.Settings{Concurrency: 2}))
	eventually(t, 30*time.Second, "completion", func() bool { return e.completed("app-1", "b-chain") })

	res := e.results("app-1", "b-chain")
	l, p := res["login"], res["profile"]
	if l.Outcome != batch.Passed || l.Extracted["token"] != "tok-8f2" {
		t.Fatalf("login %s %q extracted %v", l.Outcome, l.Error, l.Extracted)
	}
	if p.Outcome != batch.Passed || p.StatusCode != 200 || p.Request.Headers["Authorization"] != "Bearer tok-8f2" {
		t.Fatalf("profile %s %d %q, sent %v, assertions %+v", p.Outcome, p.StatusCode, p.Error, p.Request.Headers, p.Assertions)
	}
	c := e.completions("app-1", "b-chain")
	if len(c) != 1 || c[0].Totals != (batch.Totals{Total: 2, Passed: 2}) {
		t.Fatalf("completions %+v", c)
	}
	if _, _, byPath := rec.stats(); byPath["/login"] != 1 || byPath["/profile"] != 1 {
		t.Fatalf("target saw %v", byPath)
	}
}
