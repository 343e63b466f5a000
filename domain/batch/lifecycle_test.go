package batch_test

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/domaintest"
	"github.com/assay-dev/assay/domain/testcase"
)

// Every command but Submit on a missing or someone else's batch is not found.
func TestCommandsOnABatchNotTheActorsAreNotFound(t *testing.T) {
	t.Parallel()
	cmds := func(actor string) []batch.Command {
		req, res := request("a"), result("a", batch.Errored, 0)
		req.ActorID, res.ActorID = actor, actor
		return []batch.Command{
			req, res,
			batch.Cancel{BatchID: "b-1", ActorID: actor},
			batch.Complete{BatchID: "b-1", ActorID: actor},
			batch.RequestAnalysis{BatchID: "b-1", ActorID: actor},
			batch.RecordAnalysis{BatchID: "b-1", ActorID: actor, Analysis: json.RawMessage(`{}`), Narrator: "rules"},
			batch.RecordReport{BatchID: "b-1", ActorID: actor, Formats: []string{"html"}},
			batch.RequestNotification{BatchID: "b-1", ActorID: actor},
			batch.RecordNotification{BatchID: "b-1", ActorID: actor, Outcome: batch.NotificationOutcomeSent},
		}
	}
	for name, st := range map[string]struct {
		state func(*testing.T) batch.State
		actor string
	}{
		"missing":         {func(*testing.T) batch.State { return batch.State{} }, owner},
		"missing, system": {func(*testing.T) batch.State { return batch.State{} }, domain.System},
		"another user's":  {func(t *testing.T) batch.State { return submitted(t, kase("a")) }, other},
		"no actor":        {func(t *testing.T) batch.State { return submitted(t, kase("a")) }, ""},
	} {
		for _, c := range cmds(st.actor) {
			t.Run(name+"/"+strings.TrimPrefix(reflect.TypeOf(c).String(), "batch."), func(t *testing.T) {
				t.Parallel()
				evs, err := batch.Decide(st.state(t), c)
				domaintest.MustFail(t, evs, err, domain.ErrNotFound)
			})
		}
	}
}

type otherCommand struct{ batch.Command }

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	for _, c := range []batch.Command{nil, otherCommand{}} {
		evs, err := batch.Decide(submitted(t, kase("a")), c)
		domaintest.MustFail(t, evs, err, domain.ErrNotFound)
	}
}

func TestRequestExecution(t *testing.T) {
	t.Parallel()
	s := submitted(t, kase("a"), kase("b"))
	req := request("a")
	req.Request.Assertions = []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}
	req.Request.Checks = []string{"status_code_conformance"}
	evs, err := batch.Decide(s, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evs, []domain.Event{req.Request}) {
		t.Fatalf("events = %+v", evs)
	}
	if got := evs[0].Subject(); got != "events.app.app-1.batch.b-1.exec.a" {
		t.Errorf("subject = %q", got)
	}
	s = batch.Evolve(s, evs[0])
	if !s.Requested["a"] || s.Requested["b"] {
		t.Errorf("requested = %v", s.Requested)
	}
	// The owner may request too.
	own := request("b")
	own.ActorID = owner
	if _, err := batch.Decide(s, own); err != nil {
		t.Errorf("owner: %v", err)
	}
}

func TestRequestExecutionRefusals(t *testing.T) {
	t.Parallel()
	with := func(caseID string, edit func(*batch.CaseExecutionRequested)) batch.RequestExecution {
		r := request(caseID)
		edit(&r.Request)
		return r
	}
	cases := []struct {
		name   string
		prep   []batch.Command
		cmd    batch.RequestExecution
		want   error
		fields []string
	}{
		{"a case not in the batch", nil, request("zz"), domain.ErrInvalid, []string{"case_id"}},
		{"another batch", nil, with("a", func(r *batch.CaseExecutionRequested) { r.BatchID = "b-2" }), domain.ErrInvalid, []string{"request"}},
		{"another app", nil, with("a", func(r *batch.CaseExecutionRequested) { r.AppID = "app-2" }), domain.ErrInvalid, []string{"request"}},
		{"another interface", nil, with("a", func(r *batch.CaseExecutionRequested) { r.InterfaceID = "if-2" }), domain.ErrInvalid, []string{"request"}},
		{"requested twice", []batch.Command{request("a")}, request("a"), domain.ErrConflict, nil},
		{"after cancel", []batch.Command{batch.Cancel{BatchID: "b-1", ActorID: owner, At: t1}}, request("a"), domain.ErrConflict, nil},
		{"after completion", []batch.Command{request("b"), result("a", batch.Errored, 0), result("b", batch.Passed, 5),
			batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t1}}, request("a"), domain.ErrConflict, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := submitted(t, kase("a"), kase("b"))
			for _, p := range c.prep {
				s, _ = step(t, s, p)
			}
			evs, err := batch.Decide(s, c.cmd)
			domaintest.MustFail(t, evs, err, c.want, c.fields...)
		})
	}
}

func TestRecordResult(t *testing.T) {
	t.Parallel()
	s := submitted(t, kase("a"), kase("b"), kase("c"))
	s, _ = step(t, s, request("a"))
	res := result("a", batch.Failed, 123.5)
	res.Result.Extracted = map[string]string{"pet": "7"}
	res.Result.Assertions = []assert.Evaluated{{Target: "status", Op: "eq", Expected: 200.0, Actual: 500.0, Message: "500 is not 200"}}
	evs, err := batch.Decide(s, res)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evs, []domain.Event{res.Result}) {
		t.Fatalf("events = %+v", evs)
	}
	if got := evs[0].Subject(); got != "events.app.app-1.batch.b-1.result.a" {
		t.Errorf("subject = %q", got)
	}
	s = batch.Evolve(s, evs[0])
	if got := s.Results["a"]; got.Outcome != batch.Failed || got.DurationMS != 123.5 || got.Extracted["pet"] != "7" {
		t.Errorf("result = %+v", got)
	}
	// A case never requested may still end errored or canceled (its dependency failed).
	for _, o := range []string{batch.Errored, batch.Canceled} {
		id := map[string]string{batch.Errored: "b", batch.Canceled: "c"}[o]
		if _, err := batch.Decide(s, result(id, o, 0)); err != nil {
			t.Errorf("%s without a request: %v", o, err)
		}
	}
}

func TestRecordResultRefusals(t *testing.T) {
	t.Parallel()
	with := func(caseID, outcome string, edit func(*batch.CaseExecuted)) batch.RecordResult {
		r := result(caseID, outcome, 10)
		edit(&r.Result)
		return r
	}
	cases := []struct {
		name   string
		prep   []batch.Command
		cmd    batch.RecordResult
		want   error
		fields []string
	}{
		{"a case not in the batch", nil, result("zz", batch.Errored, 1), domain.ErrInvalid, []string{"case_id"}},
		{"passed without a request", nil, result("a", batch.Passed, 1), domain.ErrInvalid, []string{"case_id"}},
		{"failed without a request", nil, result("a", batch.Failed, 1), domain.ErrInvalid, []string{"case_id"}},
		{"unknown outcome", []batch.Command{request("a")}, result("a", "skipped", 1), domain.ErrInvalid, []string{"outcome"}},
		{"no outcome", []batch.Command{request("a")}, result("a", "", 1), domain.ErrInvalid, []string{"outcome"}},
		{"another batch", []batch.Command{request("a")}, with("a", batch.Passed, func(r *batch.CaseExecuted) { r.BatchID = "b-2" }), domain.ErrInvalid, []string{"result"}},
		{"another app", []batch.Command{request("a")}, with("a", batch.Passed, func(r *batch.CaseExecuted) { r.AppID = "app-2" }), domain.ErrInvalid, []string{"result"}},
		{"another interface", []batch.Command{request("a")}, with("a", batch.Passed, func(r *batch.CaseExecuted) { r.InterfaceID = "if-2" }), domain.ErrInvalid, []string{"result"}},
		{"negative duration", []batch.Command{request("a")}, result("a", batch.Passed, -1), domain.ErrInvalid, []string{"duration_ms"}},
		{"infinite duration", []batch.Command{request("a")}, result("a", batch.Passed, math.Inf(1)), domain.ErrInvalid, []string{"duration_ms"}},
		{"NaN duration", []batch.Command{request("a")}, result("a", batch.Passed, math.NaN()), domain.ErrInvalid, []string{"duration_ms"}},
		{"a second result", []batch.Command{request("a"), result("a", batch.Passed, 5)}, result("a", batch.Failed, 5), domain.ErrConflict, nil},
		{"a second errored result", []batch.Command{result("a", batch.Errored, 0)}, result("a", batch.Errored, 0), domain.ErrConflict, nil},
		{"after completion", []batch.Command{request("a"), batch.Cancel{BatchID: "b-1", ActorID: owner, At: t1},
			batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t1}}, result("a", batch.Passed, 5), domain.ErrConflict, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := submitted(t, kase("a"), kase("b"))
			for _, p := range c.prep {
				s, _ = step(t, s, p)
			}
			evs, err := batch.Decide(s, c.cmd)
			domaintest.MustFail(t, evs, err, c.want, c.fields...)
		})
	}
}

// TestCompletedTotalsAndLatency checks a hand-computed example: 20 cases answered in
// 10, 20, …, 200 ms (12 passed, 8 failed, fed in a scrambled order), one errored after
// 9,999 ms and one canceled. Latency counts only cases that got a response.
func TestCompletedTotalsAndLatency(t *testing.T) {
	t.Parallel()
	var ks []testcase.Case
	for i := 1; i <= 22; i++ {
		ks = append(ks, kase("k"+domain.Itoa(i)))
	}
	s := submitted(t, ks...)
	for i := range 20 {
		ms := float64((i*7%20 + 1) * 10) // a permutation of 10…200
		outcome := batch.Passed
		if i >= 12 {
			outcome = batch.Failed
		}
		s, _ = step(t, s, request(ks[i].ID))
		s, _ = step(t, s, result(ks[i].ID, outcome, ms))
	}
	s, _ = step(t, s, request(ks[20].ID))
	s, _ = step(t, s, result(ks[20].ID, batch.Errored, 9999))
	s, _ = step(t, s, result(ks[21].ID, batch.Canceled, 0))
	if s.Status() != batch.StatusRunning {
		t.Errorf("status = %s", s.Status())
	}
	evs, err := batch.Decide(s, batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t1})
	if err != nil {
		t.Fatal(err)
	}
	want := batch.Completed{AppID: "app-1", BatchID: "b-1",
		Totals:     batch.Totals{Total: 22, Passed: 12, Failed: 8, Errored: 1, Canceled: 1},
		DurationMS: 90_000,
		// nearest rank of 20 values: p50 → 10th (100), p95 → 19th (190), p99 → 20th (200)
		Latency: batch.Latency{P50: 100, P95: 190, P99: 200},
		At:      t1}
	if !reflect.DeepEqual(evs, []domain.Event{want}) {
		t.Fatalf("events = %+v\nwant %+v", evs, want)
	}
	s = batch.Evolve(s, evs[0])
	if s.Completed == nil || !reflect.DeepEqual(*s.Completed, want) || s.Status() != batch.StatusCompleted {
		t.Errorf("state = %+v, status %s", s.Completed, s.Status())
	}
	checkInvariants(t, s)
	evs, err = batch.Decide(s, batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t2})
	domaintest.MustFail(t, evs, err, domain.ErrConflict)
}

func TestCompleteWaitsForEveryResult(t *testing.T) {
	t.Parallel()
	s := submitted(t, kase("a"), kase("b"))
	evs, err := batch.Decide(s, batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t1})
	domaintest.MustFail(t, evs, err, domain.ErrConflict)
	s, _ = step(t, s, request("a"))
	s, _ = step(t, s, result("a", batch.Passed, 10))
	evs, err = batch.Decide(s, batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t1})
	domaintest.MustFail(t, evs, err, domain.ErrConflict)
	s, _ = step(t, s, result("b", batch.Errored, 0))
	if _, err := batch.Decide(s, batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t1}); err != nil {
		t.Errorf("every case has a result: %v", err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	s := submitted(t, kase("a"), kase("b"), kase("c"), kase("d"))
	s, _ = step(t, s, request("a"))
	s, _ = step(t, s, request("b"))
	s, _ = step(t, s, request("c"))
	s, _ = step(t, s, result("a", batch.Passed, 100))
	evs, err := batch.Decide(s, batch.Cancel{BatchID: "b-1", ActorID: owner, At: t1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evs, []domain.Event{batch.CanceledEvent{AppID: "app-1", BatchID: "b-1", At: t1}}) {
		t.Fatalf("events = %+v", evs)
	}
	s = batch.Evolve(s, evs[0])
	if !s.CancelRequested || s.Status() != batch.StatusRunning {
		t.Errorf("state: cancel %v, status %s", s.CancelRequested, s.Status())
	}
	again, err := batch.Decide(s, batch.Cancel{BatchID: "b-1", ActorID: owner, At: t1})
	if err != nil || len(again) != 0 {
		t.Errorf("cancel twice: %+v, %v; want nothing", again, err)
	}
	// A runner in flight still records its result.
	s, _ = step(t, s, result("b", batch.Failed, 300))

	// Completion no longer waits: c and d have no result and count as canceled.
	evs, err = batch.Decide(s, batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t2})
	if err != nil {
		t.Fatal(err)
	}
	want := batch.Completed{AppID: "app-1", BatchID: "b-1", Totals: batch.Totals{Total: 4, Passed: 1, Failed: 1, Canceled: 2},
		DurationMS: 180_000, Latency: batch.Latency{P50: 100, P95: 300, P99: 300}, Canceled: true, At: t2}
	if !reflect.DeepEqual(evs, []domain.Event{want}) {
		t.Fatalf("events = %+v\nwant %+v", evs, want)
	}
	s = batch.Evolve(s, evs[0])
	if s.Status() != batch.StatusCanceled {
		t.Errorf("status = %s", s.Status())
	}
	checkInvariants(t, s)
	evs, err = batch.Decide(s, batch.Cancel{BatchID: "b-1", ActorID: owner, At: t2})
	domaintest.MustFail(t, evs, err, domain.ErrConflict)
	evs, err = batch.Decide(s, result("c", batch.Passed, 1))
	domaintest.MustFail(t, evs, err, domain.ErrConflict)

	// A canceled batch can still be analysed, reported and sent.
	s, _ = step(t, s, batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System, Analysis: json.RawMessage(`{}`), Narrator: "rules", At: t2})
	if s.Status() != batch.StatusAnalyzed {
		t.Errorf("status = %s", s.Status())
	}
}

func TestCompletedDurationIsNeverNegative(t *testing.T) {
	t.Parallel()
	s := submitted(t, kase("a"))
	s, _ = step(t, s, result("a", batch.Errored, 0))
	_, evs := step(t, s, batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t0.Add(-time.Second)})
	if c := evs[0].(batch.Completed); c.DurationMS != 0 || c.Latency != (batch.Latency{}) || c.Totals.Errored != 1 {
		t.Errorf("completed = %+v", c)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	seq := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i + 1)
		}
		return out
	}
	cases := []struct {
		values []float64
		p      float64
		want   float64
	}{
		{nil, 50, 0},
		{[]float64{}, 99, 0},
		{[]float64{7}, 0, 7},
		{[]float64{7}, 50, 7},
		{[]float64{7}, 100, 7},
		{[]float64{1, 2}, 50, 1},
		{[]float64{1, 2}, 51, 2},
		{seq(10), 0, 1},
		{seq(10), 10, 1},
		{seq(10), 11, 2},
		{seq(10), 50, 5},
		{seq(10), 95, 10},
		{seq(10), 100, 10},
		{seq(10), 150, 10},
		{seq(10), -5, 1},
		{seq(20), 50, 10},
		{seq(20), 95, 19},
		{seq(20), 99, 20},
		{seq(100), 1, 1},
		{seq(100), 50, 50},
		{seq(100), 95, 95},
		{seq(100), 99, 99},
		{seq(1000), 99, 990},
		{seq(1000), 99.9, 999},
		{seq(3), 33.3, 1},
		{seq(3), 66.7, 3},
		{[]float64{1.5, 2.5, 40}, 50, 2.5},
	}
	for _, c := range cases {
		if got := batch.Percentile(c.values, c.p); got != c.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(c.values), c.p, got, c.want)
		}
	}
	// The exact rank k·n/100 is the k-th percentile for every n: no rounding past it.
	for n := 1; n <= 2000; n++ {
		vs := seq(n)
		for _, p := range []float64{50, 90, 95, 99, 99.9} {
			rank := int(math.Ceil(p * float64(n) / 100))
			if got := batch.Percentile(vs, p); got != float64(max(rank, 1)) {
				t.Fatalf("Percentile(1..%d, %v) = %v, want %d", n, p, got, rank)
			}
		}
	}
}

// completed is a batch of one passed case, completed.
func completed(t *testing.T) batch.State {
	t.Helper()
	s := submitted(t, kase("a"))
	s, _ = step(t, s, request("a"))
	s, _ = step(t, s, result("a", batch.Passed, 42))
	s, _ = step(t, s, batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t1})
	return s
}

func analysed(t *testing.T) batch.State {
	t.Helper()
	s, _ := step(t, completed(t), batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System, Analysis: json.RawMessage(`{"pass_rate":1}`), Narrator: "rules", At: t1})
	return s
}

func reported(t *testing.T) batch.State {
	t.Helper()
	s, _ := step(t, analysed(t), batch.RecordReport{BatchID: "b-1", ActorID: domain.System, Formats: []string{"html"}, At: t1})
	return s
}

func TestAnalysisReportNotificationHappyPath(t *testing.T) {
	t.Parallel()
	s := completed(t)
	if s.Status() != batch.StatusCompleted {
		t.Errorf("status = %s", s.Status())
	}

	s, evs := step(t, s, batch.RequestAnalysis{BatchID: "b-1", ActorID: owner, At: t1})
	if !reflect.DeepEqual(evs, []domain.Event{batch.AnalysisRequested{AppID: "app-1", BatchID: "b-1", At: t1}}) {
		t.Errorf("events = %+v", evs)
	}
	if s.Analyses != 0 {
		t.Errorf("a request is not an analysis")
	}

	doc := json.RawMessage(`{"pass_rate":1,"clusters":[]}`)
	s, evs = step(t, s, batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System, Analysis: doc, Narrator: "llm", Model: "deepseek-chat", At: t1})
	want := batch.Analyzed{AppID: "app-1", BatchID: "b-1", Analysis: doc, Narrator: "llm", Model: "deepseek-chat", Revision: 1, At: t1}
	if !reflect.DeepEqual(evs, []domain.Event{want}) {
		t.Errorf("events = %+v", evs)
	}
	s, evs = step(t, s, batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System, Analysis: doc, Narrator: "rules", Fallback: "no key", At: t2})
	if a := evs[0].(batch.Analyzed); a.Revision != 2 || a.Fallback != "no key" {
		t.Errorf("second analysis = %+v", a)
	}
	if s.Analyses != 2 || s.Status() != batch.StatusAnalyzed {
		t.Errorf("analyses %d status %s", s.Analyses, s.Status())
	}

	s, evs = step(t, s, batch.RecordReport{BatchID: "b-1", ActorID: domain.System, Formats: []string{"html", "json", "junit"},
		Digests: map[string]string{"html": "abc"}, AsOfSeq: 42, At: t2})
	wantRep := batch.ReportGenerated{AppID: "app-1", BatchID: "b-1", Formats: []string{"html", "json", "junit"},
		Digests: map[string]string{"html": "abc"}, AsOfSeq: 42, Revision: 1, At: t2}
	if !reflect.DeepEqual(evs, []domain.Event{wantRep}) {
		t.Errorf("events = %+v", evs)
	}
	if s.Reports != 1 || s.Status() != batch.StatusReported {
		t.Errorf("reports %d status %s", s.Reports, s.Status())
	}
	_, evs = step(t, s, batch.RecordReport{BatchID: "b-1", ActorID: domain.System, Formats: []string{"md"}, At: t2})
	if evs[0].(batch.ReportGenerated).Revision != 2 {
		t.Errorf("second report = %+v", evs[0])
	}

	_, evs = step(t, s, batch.RequestNotification{BatchID: "b-1", ActorID: owner, Emails: []string{"boss@shop.test"}, At: t2})
	if !reflect.DeepEqual(evs, []domain.Event{batch.NotificationRequested{AppID: "app-1", BatchID: "b-1", Emails: []string{"boss@shop.test"}, At: t2}}) {
		t.Errorf("events = %+v", evs)
	}
	_, evs = step(t, s, batch.RequestNotification{BatchID: "b-1", ActorID: owner, At: t2})
	if len(evs) != 1 || len(evs[0].(batch.NotificationRequested).Emails) != 0 {
		t.Errorf("no emails: %+v", evs)
	}

	rcpt := []string{"qa@shop.test"}
	for _, c := range []struct {
		outcome string
		want    domain.Event
	}{
		{batch.NotificationOutcomeSent, batch.NotificationSent{AppID: "app-1", BatchID: "b-1", Recipients: rcpt, Attempts: 2, At: t2}},
		{batch.NotificationOutcomeFailed, batch.NotificationFailed{AppID: "app-1", BatchID: "b-1", Recipients: rcpt, Reason: "550", Attempts: 2, At: t2}},
		{batch.NotificationOutcomeSkipped, batch.NotificationSkipped{AppID: "app-1", BatchID: "b-1", Reason: "550", At: t2}},
	} {
		evs, err := batch.Decide(s, batch.RecordNotification{BatchID: "b-1", ActorID: domain.System, Outcome: c.outcome, Recipients: rcpt, Reason: "550", Attempts: 2, At: t2})
		if err != nil || !reflect.DeepEqual(evs, []domain.Event{c.want}) {
			t.Errorf("%s: %+v, %v", c.outcome, evs, err)
		}
		if evs[0].Subject() != "events.app.app-1.batch.b-1" {
			t.Errorf("subject = %q", evs[0].Subject())
		}
	}
}

func TestPipelineOrderIsEnforced(t *testing.T) {
	t.Parallel()
	running := func(t *testing.T) batch.State { return submitted(t, kase("a")) }
	canceledOnly := func(t *testing.T) batch.State {
		s, _ := step(t, submitted(t, kase("a")), batch.Cancel{BatchID: "b-1", ActorID: owner, At: t1})
		return s
	}
	doc := json.RawMessage(`{}`)
	cases := []struct {
		name   string
		state  func(*testing.T) batch.State
		cmd    batch.Command
		want   error
		fields []string
	}{
		{"analysis requested while running", running, batch.RequestAnalysis{BatchID: "b-1", ActorID: owner}, domain.ErrConflict, nil},
		{"analysis requested when canceled but not completed", canceledOnly, batch.RequestAnalysis{BatchID: "b-1", ActorID: owner}, domain.ErrConflict, nil},
		{"analysis recorded while running", running, batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System, Analysis: doc, Narrator: "rules"}, domain.ErrConflict, nil},
		{"analysis without a document", completed, batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System, Narrator: "rules"}, domain.ErrInvalid, []string{"analysis"}},
		{"analysis not JSON", completed, batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System, Analysis: json.RawMessage(`{"a":`), Narrator: "rules"}, domain.ErrInvalid, []string{"analysis"}},
		{"unknown narrator", completed, batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System, Analysis: doc, Narrator: "gpt"}, domain.ErrInvalid, []string{"narrator"}},
		{"no narrator, no document", completed, batch.RecordAnalysis{BatchID: "b-1", ActorID: domain.System}, domain.ErrInvalid, []string{"analysis", "narrator"}},
		{"report while running", running, batch.RecordReport{BatchID: "b-1", ActorID: domain.System, Formats: []string{"html"}}, domain.ErrConflict, nil},
		{"report before analysis", completed, batch.RecordReport{BatchID: "b-1", ActorID: domain.System, Formats: []string{"html"}}, domain.ErrConflict, nil},
		{"report without formats", analysed, batch.RecordReport{BatchID: "b-1", ActorID: domain.System}, domain.ErrInvalid, []string{"formats"}},
		{"notification requested while running", running, batch.RequestNotification{BatchID: "b-1", ActorID: owner}, domain.ErrConflict, nil},
		{"notification requested before a report", analysed, batch.RequestNotification{BatchID: "b-1", ActorID: owner}, domain.ErrConflict, nil},
		{"notification to a bad address", reported, batch.RequestNotification{BatchID: "b-1", ActorID: owner, Emails: []string{"ok@x.io", "x"}}, domain.ErrInvalid, []string{"emails[1]"}},
		{"notification to 101 addresses", reported, batch.RequestNotification{BatchID: "b-1", ActorID: owner, Emails: slices.Repeat([]string{"a@x.io"}, 101)}, domain.ErrInvalid, []string{"emails"}},
		{"notification recorded before a report", analysed, batch.RecordNotification{BatchID: "b-1", ActorID: domain.System, Outcome: batch.NotificationOutcomeSent}, domain.ErrConflict, nil},
		{"notification recorded while running", running, batch.RecordNotification{BatchID: "b-1", ActorID: domain.System, Outcome: batch.NotificationOutcomeSkipped}, domain.ErrConflict, nil},
		{"unknown notification outcome", reported, batch.RecordNotification{BatchID: "b-1", ActorID: domain.System, Outcome: "bounced"}, domain.ErrInvalid, []string{"outcome"}},
		{"cancel after completion", completed, batch.Cancel{BatchID: "b-1", ActorID: owner}, domain.ErrConflict, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := batch.Decide(c.state(t), c.cmd)
			domaintest.MustFail(t, evs, err, c.want, c.fields...)
		})
	}
}

type foreign struct{}

func (foreign) EventType() string { return "x.y" }
func (foreign) Subject() string   { return "events.x" }

func TestEvolveIgnoresOtherEvents(t *testing.T) {
	t.Parallel()
	s := completed(t)
	before, _ := json.Marshal(s)
	s = batch.Evolve(s, foreign{})
	s = batch.Evolve(s, batch.AnalysisRequested{AppID: "app-1", BatchID: "b-1"})
	s = batch.Evolve(s, batch.NotificationSent{AppID: "app-1", BatchID: "b-1"})
	if after, _ := json.Marshal(s); string(after) != string(before) {
		t.Errorf("state changed:\n%s\n%s", before, after)
	}
}
