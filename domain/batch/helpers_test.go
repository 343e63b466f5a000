package batch_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

var (
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(90 * time.Second)
	t2 = t0.Add(3 * time.Minute)
)

const (
	owner = "user-1"
	other = "user-2"
)

func appDef() app.Definition {
	return app.Definition{
		Name: "shop",
		Environments: []app.Environment{
			{Name: "staging", BaseURL: "http://127.0.0.1:9", Variables: map[string]string{"token": "t-staging"}},
			{Name: "prod", BaseURL: "https://shop.test", Headers: map[string]string{"X-Env": "prod"}},
		},
		NotifyEmails:   []string{"qa@shop.test", "dev@shop.test"},
		DisabledChecks: []string{"not_a_server_error"},
	}
}

// theApp is app-1 of owner, folded from its own Decide.
func theApp(t *testing.T, archived bool) app.State {
	t.Helper()
	return appWith(t, "app-1", appDef(), archived)
}

func appWith(t *testing.T, id string, def app.Definition, archived bool) app.State {
	t.Helper()
	evs, err := app.Decide(app.State{}, app.Create{AppID: id, ActorID: owner, App: def, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	s := app.Decider.Fold(evs)
	if archived {
		s = app.Evolve(s, app.Archived{AppID: id, OwnerID: owner, At: t0})
	}
	return s
}

func kase(id string) testcase.Case {
	return testcase.Case{ID: id, Name: "case " + id, Class: testcase.Valid, Enabled: true,
		Request:    testcase.Request{Method: "GET", Path: "/pets"},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}}
}

func disabled(id string) testcase.Case {
	k := kase(id)
	k.Enabled = false
	return k
}

func uses(id, path string) testcase.Case {
	k := kase(id)
	k.Request.Path = path
	return k
}

func extracts(k testcase.Case, vars ...string) testcase.Case {
	k.Extract = map[string]string{}
	for _, v := range vars {
		k.Extract[v] = "body." + v
	}
	return k
}

// anInterface is an interface of appID with these cases, folded from iface.Decide.
func anInterface(t *testing.T, appID, id string, cases ...testcase.Case) iface.State {
	t.Helper()
	a := app.State{ID: appID, OwnerID: owner, Def: appDef()}
	def := iface.Definition{Name: "op " + id, Method: "GET", Path: "/pets", ContentType: "application/json",
		Responses: map[string]iface.Response{"200": {Schema: json.RawMessage(`{"type":"array"}`)}}}
	s := iface.State{}
	run := func(c iface.Command) {
		evs, err := iface.Decide(s, c)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		for _, e := range evs {
			s = iface.Evolve(s, e)
		}
	}
	run(iface.Define{InterfaceID: id, ActorID: owner, App: a, Def: def, At: t0})
	for _, k := range cases {
		run(iface.AddCase{InterfaceID: id, ActorID: owner, Case: k, At: t0})
	}
	return s
}

func deleted(t *testing.T, s iface.State) iface.State {
	t.Helper()
	return iface.Evolve(s, iface.Deleted{AppID: s.AppID, InterfaceID: s.ID, At: t0})
}

func submit(interfaces ...iface.State) batch.Submit {
	return batch.Submit{BatchID: "b-1", ActorID: owner, Interfaces: interfaces, At: t0}
}

// submitted is batch b-1 over the given cases of one interface if-1.
func submitted(t *testing.T, cases ...testcase.Case) batch.State {
	t.Helper()
	c := submit(anInterface(t, "app-1", "if-1", cases...))
	c.App = theApp(t, false)
	s, _ := step(t, batch.State{}, c)
	return s
}

// step decides a command that must succeed and folds its events.
func step(t *testing.T, s batch.State, c batch.Command) (batch.State, []domain.Event) {
	t.Helper()
	evs, err := batch.Decide(s, c)
	if err != nil {
		t.Fatalf("%T: %v", c, err)
	}
	for _, e := range evs {
		s = batch.Evolve(s, e)
	}
	return s, evs
}

func request(caseID string) batch.RequestExecution {
	return batch.RequestExecution{BatchID: "b-1", ActorID: domain.System, Request: batch.CaseExecutionRequested{
		AppID: "app-1", BatchID: "b-1", CaseID: caseID, InterfaceID: "if-1",
		Request: batch.HTTPRequest{Method: "GET", URL: "http://127.0.0.1:9/pets"}, TimeoutMS: 1000, At: t0}}
}

func result(caseID, outcome string, ms float64) batch.RecordResult {
	return batch.RecordResult{BatchID: "b-1", ActorID: domain.System, Result: batch.CaseExecuted{
		AppID: "app-1", BatchID: "b-1", CaseID: caseID, InterfaceID: "if-1", Outcome: outcome, StatusCode: 200, DurationMS: ms, At: t1}}
}

func ids(cases []testcase.Case) []string {
	var out []string
	for _, c := range cases {
		out = append(out, c.ID)
	}
	return out
}

// checkInvariants holds for every state a fold of accepted events can reach.
func checkInvariants(t *testing.T, s batch.State) {
	t.Helper()
	if !s.Exists() {
		return
	}
	if len(s.Order) != len(s.Cases) || len(s.Cases) == 0 {
		t.Fatalf("order %v, %d cases", s.Order, len(s.Cases))
	}
	for id := range s.Requested {
		if _, ok := s.Cases[id]; !ok {
			t.Fatalf("requested %q is no case of the batch", id)
		}
	}
	for id, r := range s.Results {
		if _, ok := s.Cases[id]; !ok {
			t.Fatalf("result for %q, no case of the batch", id)
		}
		if !s.Requested[id] && r.Outcome != batch.Errored && r.Outcome != batch.Canceled {
			t.Fatalf("result %q %s without a request", id, r.Outcome)
		}
	}
	if c := s.Completed; c != nil {
		tt := c.Totals
		if tt.Total != len(s.Cases) || tt.Passed+tt.Failed+tt.Errored+tt.Canceled != tt.Total {
			t.Fatalf("totals %+v for %d cases", tt, len(s.Cases))
		}
		if !c.Canceled && len(s.Results) != len(s.Cases) {
			t.Fatalf("completed with %d of %d results", len(s.Results), len(s.Cases))
		}
		if c.Latency.P50 > c.Latency.P95 || c.Latency.P95 > c.Latency.P99 || c.DurationMS < 0 {
			t.Fatalf("completed %+v", c)
		}
	}
	if s.Analyses > 0 && s.Completed == nil {
		t.Fatal("analysed before completion")
	}
	if s.Reports > 0 && s.Analyses == 0 {
		t.Fatal("reported before analysis")
	}
}
