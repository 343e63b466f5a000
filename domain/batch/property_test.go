package batch_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
)

// TestDecideNeverPanics folds the events of 2,000 random commands, mostly valid and some
// garbage, over an evolving batch (resubmitted now and then). Decide must never panic nor
// change its state; a refusal is a typed error without events; every event survives the
// catalog's JSON round trip; and the folded state keeps its invariants.
func TestDecideNeverPanics(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	r := rand.New(rand.NewPCG(42, 4242))
	ifs := append(world(t),
		anInterface(t, "app-1", "if-5", extracts(kase("login"), "session"), uses("order", "/orders/${session}"), uses("me", "/me/${token}")),
		anInterface(t, "app-1", "if-6", uses("orphan", "/x/${nobody}")),
	)
	apps := []app.State{theApp(t, false), theApp(t, true), appWith(t, "app-2", appDef(), false), {}}
	var garbage bool
	pick := func(valid []string, bad ...string) string {
		if garbage && len(bad) > 0 && r.IntN(5) == 0 {
			return bad[r.IntN(len(bad))]
		}
		return valid[r.IntN(len(valid))]
	}
	some := func(valid []string, bad ...string) []string {
		var out []string
		for range r.IntN(3) {
			out = append(out, pick(valid, bad...))
		}
		return out
	}
	caseIDs := []string{"a", "c", "d", "login", "order", "me"}
	ifaceOf := map[string]string{"a": "if-1", "c": "if-1", "d": "if-2", "login": "if-5", "order": "if-5", "me": "if-5"}
	duration := func() float64 {
		if garbage && r.IntN(2) == 0 {
			return []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}[r.IntN(5)]
		}
		return float64(r.IntN(5000)) / 4
	}
	randomCommand := func(s batch.State) batch.Command {
		garbage = r.IntN(3) == 0
		id := pick([]string{"b-1"}, "", "b.1")
		actor := pick([]string{domain.System, domain.System, owner}, other, "")
		at := t0.Add(time.Duration(r.IntN(1e6)) * time.Millisecond)
		caseID := pick(caseIDs, "zz", "")
		if len(s.Order) > 0 && r.IntN(4) != 0 {
			caseID = s.Order[r.IntN(len(s.Order))]
		}
		k := r.IntN(13)
		if !s.Exists() && r.IntN(2) == 0 {
			k = 0 // an empty state mostly waits for a submission
		}
		if k == 7 && r.IntN(4) != 0 {
			k = 1 // cancel rarely, so that batches live long enough to see results
		}
		switch k {
		case 0:
			a := apps[0]
			if garbage {
				a = apps[r.IntN(len(apps))]
			}
			sel := batch.Selection{Environment: pick([]string{"", "staging", "prod"}, "dev"),
				InterfaceIDs: some([]string{"if-1", "if-2", "if-5"}, "if-3", "if-6", "if-x", "nope"),
				CaseIDs:      some(caseIDs, "b", "x", "orphan")}
			if r.IntN(2) == 0 {
				sel.CaseIDs = nil
			}
			set := batch.Settings{Concurrency: r.IntN(3) * 7, TimeoutMS: r.IntN(3) * 1000, RatePerSecond: float64(r.IntN(3)),
				NotifyEmails: some([]string{"a@x.io", "qa@shop.test"}, "x", "")}
			if garbage {
				set.Concurrency, set.RatePerSecond = r.IntN(2000)-500, []float64{-1, math.NaN(), math.Inf(1), 1e9}[r.IntN(4)]
			}
			return batch.Submit{BatchID: id, ActorID: pick([]string{owner, domain.System}, other, ""), App: a, Interfaces: ifs, Selection: sel, Settings: set, At: at}
		case 1, 2, 3:
			req := batch.CaseExecutionRequested{AppID: pick([]string{"app-1"}, "app-2"), BatchID: id, CaseID: caseID,
				InterfaceID: pick([]string{ifaceOf[caseID]}, "if-9"), Request: batch.HTTPRequest{Method: "GET", URL: "http://127.0.0.1:9/pets"},
				TimeoutMS: 1000, At: at}
			return batch.RequestExecution{BatchID: id, ActorID: actor, Request: req}
		case 4, 5, 6:
			res := batch.CaseExecuted{AppID: pick([]string{"app-1"}, "app-2"), BatchID: id, CaseID: caseID,
				InterfaceID: pick([]string{ifaceOf[caseID]}, "if-9"), Outcome: pick([]string{batch.Passed, batch.Failed, batch.Errored, batch.Canceled}, "", "weird"),
				StatusCode: 200, DurationMS: duration(), At: at}
			if r.IntN(4) == 0 {
				res.Extracted = map[string]string{"session": "s"}
			}
			return batch.RecordResult{BatchID: id, ActorID: actor, Result: res}
		case 7:
			return batch.Cancel{BatchID: id, ActorID: actor, At: at}
		case 8:
			return batch.Complete{BatchID: id, ActorID: actor, At: at}
		case 9:
			if r.IntN(3) == 0 {
				return batch.RequestAnalysis{BatchID: id, ActorID: actor, At: at}
			}
			return batch.RecordAnalysis{BatchID: id, ActorID: actor, Analysis: json.RawMessage(pick([]string{`{}`, `{"a":[1]}`}, ``, `{`, `nul`)),
				Narrator: pick([]string{"llm", "rules"}, "", "x"), At: at}
		case 10:
			return batch.RecordReport{BatchID: id, ActorID: actor, Formats: some([]string{"html", "json"}), AsOfSeq: r.Uint64(), At: at}
		case 11:
			return batch.RequestNotification{BatchID: id, ActorID: actor, Emails: some([]string{"a@x.io"}, "bad"), At: at}
		}
		if garbage && r.IntN(5) == 0 {
			return nil
		}
		return batch.RecordNotification{BatchID: id, ActorID: actor, Outcome: pick([]string{batch.NotificationOutcomeSent, batch.NotificationOutcomeFailed, batch.NotificationOutcomeSkipped}, "", "lost"),
			Recipients: some([]string{"a@x.io"}), Attempts: r.IntN(4), At: at}
	}

	st := batch.Decider.Initial()
	accepted := map[string]int{}
	for i := range 2000 {
		if r.IntN(120) == 0 {
			st = batch.Decider.Initial()
		}
		cmd := randomCommand(st)
		before, _ := json.Marshal(st)
		var evs []domain.Event
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("step %d: Decide(%#v) panicked: %v", i, cmd, p)
				}
			}()
			evs, err = batch.Decide(st, cmd)
		}()
		if after, _ := json.Marshal(st); string(before) != string(after) {
			t.Fatalf("step %d: Decide(%T) changed its state", i, cmd)
		}
		if err != nil {
			if len(evs) != 0 {
				t.Fatalf("step %d: %v with events %+v", i, err, evs)
			}
			if !errors.Is(err, domain.ErrInvalid) && !errors.Is(err, domain.ErrNotFound) && !errors.Is(err, domain.ErrConflict) {
				t.Fatalf("step %d: untyped error %v", i, err)
			}
			continue
		}
		for _, e := range evs {
			if domain.AppOfSubject(e.Subject()) != "app-1" {
				t.Fatalf("step %d: %s on subject %q", i, e.EventType(), e.Subject())
			}
			data, v, err := cat.Encode(e)
			if err != nil {
				t.Fatalf("step %d: encode %T: %v", i, e, err)
			}
			back, err := cat.Decode(e.EventType(), v, data)
			if err != nil {
				t.Fatalf("step %d: decode %T: %v", i, e, err)
			}
			st = batch.Evolve(st, back)
			accepted[e.EventType()]++
		}
		checkInvariants(t, st)
	}
	t.Logf("accepted: %v", accepted)
	for _, typ := range []string{"batch.submitted", "batch.case_execution_requested", "batch.case_executed", "batch.canceled",
		"batch.completed", "batch.analyzed", "batch.report_generated", "batch.notification_sent"} {
		if accepted[typ] == 0 {
			t.Errorf("no %s accepted: the generator never reaches that state", typ)
		}
	}
}

// The interface states given to Submit are not changed by it.
func TestSubmitLeavesItsInputsAlone(t *testing.T) {
	t.Parallel()
	ifs := world(t)
	before, _ := json.Marshal(ifs)
	cmd := submit(ifs...)
	cmd.App = theApp(t, false)
	if _, err := batch.Decide(batch.State{}, cmd); err != nil {
		t.Fatal(err)
	}
	if after, _ := json.Marshal(ifs); string(before) != string(after) {
		t.Error("Submit changed the interfaces it was given")
	}
}
