package iface_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// TestDecideNeverPanics folds the events of 2,000 random commands, mostly valid and some
// garbage, over an evolving interface. Decide must never panic nor change its state; a
// refusal is a typed error without events; every event survives the catalog's JSON round
// trip; and the folded state keeps its invariants.
func TestDecideNeverPanics(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	r := rand.New(rand.NewPCG(2025, 3))
	var garbage bool
	pick := func(valid []string, bad ...string) string {
		if garbage && len(bad) > 0 && r.IntN(3) == 0 {
			return bad[r.IntN(len(bad))]
		}
		return valid[r.IntN(len(valid))]
	}
	raw := func(valid []string, bad ...string) json.RawMessage { return json.RawMessage(pick(valid, bad...)) }
	maybe := func(s string) *string {
		if r.IntN(3) != 0 {
			return nil
		}
		return &s
	}
	caseIDs := []string{"k-1", "k-2", "k-3", "k-4", "k-5", "k-6"}
	genIDs := []string{"g-1", "g-2", "g-3", "g-4"}
	apps := []app.State{
		{ID: "app-1", OwnerID: owner},
		{ID: "app-1", OwnerID: owner, Archived: r.IntN(2) == 0},
		{ID: "app-1", OwnerID: other},
		{},
	}
	randomDef := func() iface.Definition {
		d := iface.Definition{
			Name:   pick([]string{"get pet", "list pets"}, "", strings.Repeat("x", 301)),
			Method: pick([]string{"GET", "POST", "DELETE"}, "get", "", "BREW"),
			Query:  raw([]string{``, `{"type":"object"}`, ` { "type" : "object" } `}, `[]`, `{`, `"s"`),
			Body:   raw([]string{``, `true`, `{"properties":{"a":{}}}`}, `nul`, `1`),
		}
		switch r.IntN(3) {
		case 0:
			d.Path = pick([]string{"/pets"}, "pets", "", "/a b", "/x?y")
		case 1:
			d.Path, d.PathParams = "/pets/{id}", raw([]string{`{"properties":{"id":{}}}`}, `{}`, `{"properties":{"x":{}}}`)
		default:
			d.Path, d.PathParams = pick([]string{"/p/{a}/{b}"}, "/p/{a}"), raw([]string{`{"properties":{"b":{},"a":{}}}`})
		}
		if r.IntN(3) == 0 {
			d.Responses = map[string]iface.Response{pick([]string{"200", "4XX", "default"}, "20", "6XX"): {Schema: raw([]string{``, `{}`}, `[1]`)}}
		}
		d.ContentType = pick([]string{"", "application/json"}, "/", "a b")
		d.Source = pick([]string{"", "openapi"}, "wsdl")
		return d
	}
	randomCase := func(id string) testcase.Case {
		k := testcase.Case{ID: id, Name: pick([]string{"a case"}, "", "\xff"),
			Class:    pick([]string{"", testcase.Valid, testcase.Boundary}, "weird"),
			Priority: pick([]string{"", "P0", "P3"}, "P7"),
			Source:   pick([]string{"", "llm", "rules"}, "manual", "??"),
			Enabled:  r.IntN(4) != 0,
			Request: testcase.Request{Method: pick([]string{"GET", "POST"}, "", "get"), Path: pick([]string{"/pets", "/pets/${id}"}, "pets"),
				Body: raw([]string{``, `{"a":1}`}, `{`)},
			Assertions: []assert.Assertion{{Target: pick([]string{"status", "body.id"}, "nope"), Op: pick([]string{"eq", "exists"}, "zz"), Value: 200.0}},
		}
		if r.IntN(4) == 0 {
			k.Extract = map[string]string{pick([]string{"id"}, "1d"): pick([]string{"body.id"}, "cookie")}
		}
		if garbage && r.IntN(10) == 0 {
			k.Assertions = []assert.Assertion{{Target: "body", Op: "match", Value: "("}}
		}
		return k
	}
	randomCases := func() []testcase.Case {
		var out []testcase.Case
		for range r.IntN(4) {
			out = append(out, randomCase(pick(caseIDs, "", "a.b", "g-dup")))
		}
		return out
	}
	randomCommand := func() iface.Command {
		garbage = r.IntN(4) == 0
		id := pick([]string{"if-1"}, "", "if.1")
		actor := pick([]string{owner, owner, domain.System}, other, "")
		at := t0.Add(time.Duration(r.IntN(1e6)) * time.Second)
		switch r.IntN(11) {
		case 0:
			a := apps[0]
			if garbage {
				a = apps[r.IntN(len(apps))]
			}
			return iface.Define{InterfaceID: id, ActorID: actor, App: a, Def: randomDef(), At: at}
		case 1:
			p := iface.Patch{Name: maybe(pick([]string{"renamed", "get pet"}, "")), Method: maybe(pick([]string{"GET", "PUT"}, "x")),
				Description: maybe("d"), ContentType: maybe(pick([]string{"text/plain"}, "/"))}
			if r.IntN(3) == 0 {
				q := raw([]string{`{"type":"object"}`, `{}`}, `[`)
				p.Query = &q
			}
			if r.IntN(5) == 0 {
				p.Path = maybe(pick([]string{"/pets"}, "/pets/{zz}"))
			}
			return iface.Update{InterfaceID: id, ActorID: actor, Patch: p, At: at}
		case 2:
			return iface.Redefine{InterfaceID: id, ActorID: actor, Def: randomDef(), At: at}
		case 3:
			if r.IntN(4) != 0 {
				return iface.AddCase{InterfaceID: id, ActorID: actor, Case: randomCase(pick(caseIDs, "")), At: at}
			}
			return iface.Delete{InterfaceID: id, ActorID: actor, At: at}
		case 4:
			return iface.RequestGeneration{InterfaceID: id, ActorID: actor, GenerationID: pick(genIDs, "", "g>"),
				Options: iface.GenerationOptions{Generator: pick([]string{"", "llm", "rules"}, "gpt"), MaxCases: r.IntN(3) * 100, Hints: pick([]string{"", "h"})}, At: at}
		case 5, 6:
			return iface.RecordGeneration{InterfaceID: id, ActorID: actor, GenerationID: pick(genIDs, ""),
				Info: iface.GenerationInfo{Generator: pick([]string{"llm", "rules"}, "auto", ""), DurationMS: r.Int64N(1000)}, Cases: randomCases(), At: at}
		case 7:
			return iface.FailGeneration{InterfaceID: id, ActorID: actor, GenerationID: pick(genIDs, ""), Reason: pick([]string{"", "timeout"}), At: at}
		case 8:
			return iface.AddCase{InterfaceID: id, ActorID: actor, Case: randomCase(pick(caseIDs, "", "x y")), At: at}
		case 9:
			p := iface.CasePatch{Name: maybe(pick([]string{"edited"}, "")), Priority: maybe(pick([]string{"P1"}, "P5")),
				Class: maybe(pick([]string{"enum"}, "?"))}
			if r.IntN(2) == 0 {
				e := r.IntN(2) == 0
				p.Enabled = &e
			}
			if r.IntN(5) == 0 {
				req := randomCase("x").Request
				p.Request = &req
			}
			return iface.UpdateCase{InterfaceID: id, ActorID: actor, CaseID: pick(caseIDs, "", "nope"), Patch: p, At: at}
		}
		if r.IntN(10) == 0 {
			return nil
		}
		return iface.DeleteCase{InterfaceID: id, ActorID: actor, CaseID: pick(caseIDs, "nope"), At: at}
	}

	st := iface.Decider.Initial()
	accepted := map[string]int{}
	for i := range 2000 {
		if r.IntN(150) == 0 {
			st = iface.Decider.Initial()
		}
		cmd := randomCommand()
		before, _ := json.Marshal(st)
		var evs []domain.Event
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("step %d: Decide(%#v) panicked: %v", i, cmd, p)
				}
			}()
			evs, err = iface.Decide(st, cmd)
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
			if st.ID != "" && e.Subject() != domain.InterfaceSubject(st.AppID, st.ID) {
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
			st = iface.Evolve(st, back)
			accepted[e.EventType()]++
		}
		checkInvariants(t, st)
	}
	t.Logf("accepted: %v", accepted)
	for _, typ := range []string{"interface.defined", "interface.updated", "interface.cases_generated", "interface.case_added",
		"interface.case_updated", "interface.case_deleted", "interface.cases_generation_failed"} {
		if accepted[typ] == 0 {
			t.Errorf("no %s accepted: the generator never reaches that state", typ)
		}
	}
}
