package iface_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

var (
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
	t2 = t0.Add(2 * time.Minute)
)

const (
	owner = "user-1"
	other = "user-2"
)

func ptr[T any](v T) *T { return &v }

// theApp is app-1 of owner, folded from its own Decide.
func theApp(t *testing.T, archived bool) app.State {
	t.Helper()
	def := app.Definition{Name: "shop", Environments: []app.Environment{{Name: "staging", BaseURL: "http://127.0.0.1:9"}}}
	evs, err := app.Decide(app.State{}, app.Create{AppID: "app-1", ActorID: owner, App: def, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	s := app.Decider.Fold(evs)
	if archived {
		evs, err := app.Decide(s, app.Archive{AppID: "app-1", ActorID: owner, At: t0})
		if err != nil {
			t.Fatal(err)
		}
		s = app.Evolve(s, evs[0])
	}
	return s
}

func petDef() iface.Definition {
	return iface.Definition{
		Name:        "get pet",
		Method:      "GET",
		Path:        "/stores/{store}/pets/{id}",
		PathParams:  json.RawMessage(`{"type":"object","properties":{"store":{"type":"string"},"id":{"type":"integer"}},"required":["store","id"]}`),
		Query:       json.RawMessage(`{"type":"object","properties":{"fields":{"type":"string"}}}`),
		ContentType: "application/json",
		Responses: map[string]iface.Response{
			"200": {Description: "the pet", ContentType: "application/json", Schema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"}}}`)},
			"404": {Description: "no such pet"},
		},
	}
}

// defined is interface if-1 of app-1, defined by owner.
func defined(t *testing.T) iface.State {
	t.Helper()
	s, _ := step(t, iface.State{}, iface.Define{InterfaceID: "if-1", ActorID: owner, App: theApp(t, false), Def: petDef(), At: t0})
	return s
}

// step decides a command that must succeed and folds its events.
func step(t *testing.T, s iface.State, c iface.Command) (iface.State, []domain.Event) {
	t.Helper()
	evs, err := iface.Decide(s, c)
	if err != nil {
		t.Fatalf("%T: %v", c, err)
	}
	for _, e := range evs {
		s = iface.Evolve(s, e)
	}
	return s, evs
}

func kase(id string) testcase.Case {
	return testcase.Case{ID: id, Name: "case " + id, Class: testcase.Valid, Enabled: true,
		Request:    testcase.Request{Method: "GET", Path: "/stores/{store}/pets/{id}", PathParams: map[string]any{"store": "s1", "id": 1.0}},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}}
}

// checkInvariants holds for every state a fold of accepted events can reach.
func checkInvariants(t *testing.T, s iface.State) {
	t.Helper()
	if s.ID == "" {
		return
	}
	if len(s.Order) != len(s.Cases) {
		t.Fatalf("order %v, %d cases", s.Order, len(s.Cases))
	}
	seen := map[string]bool{}
	for _, id := range s.Order {
		if seen[id] {
			t.Fatalf("case %q twice in order %v", id, s.Order)
		}
		seen[id] = true
		c, ok := s.Cases[id]
		if !ok {
			t.Fatalf("ordered case %q missing", id)
		}
		if c.ID != id || c.InterfaceID != s.ID {
			t.Fatalf("case %q: id %q interface %q", id, c.ID, c.InterfaceID)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("case %q invalid: %v", id, err)
		}
		if c.Source == "manual" && c.GenerationID != "" {
			t.Fatalf("manual case %q has generation %q", id, c.GenerationID)
		}
	}
	if err := s.Def.Validate(); err != nil {
		t.Fatalf("definition invalid: %v", err)
	}
	for id, g := range s.Generations {
		if g.ID != id || !slices.Contains([]string{iface.Pending, iface.Done, iface.Failed}, g.Status) {
			t.Fatalf("generation %q: %+v", id, g)
		}
	}
}
