package analysis_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// petDef has a path parameter, an optional bounded query parameter, a required header and a
// body with a bounded string, an enum, a formatted string, a nullable integer and an array
// of objects.
func petDef() iface.Definition {
	return iface.Definition{Name: "add pet", Method: "POST", Path: "/owners/{owner}/pets",
		PathParams: json.RawMessage(`{"type":"object","properties":{"owner":{"type":"string"}}}`),
		Query:      json.RawMessage(`{"type":"object","properties":{"limit":{"type":"integer","minimum":1,"maximum":10}}}`),
		Headers:    json.RawMessage(`{"type":"object","required":["X-Trace"],"properties":{"X-Trace":{"type":"string"}}}`),
		Body: json.RawMessage(`{"type":"object","required":["name","kind"],"properties":{
			"name":{"type":"string","minLength":1,"maxLength":20},
			"kind":{"type":"string","enum":["cat","dog"]},
			"email":{"type":"string","format":"email"},
			"age":{"type":["integer","null"]},
			"tags":{"type":"array","items":{"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}}}}}`),
		Responses: map[string]iface.Response{"201": {}, "400": {}},
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
	got := map[string][]string{}
	req := map[string]bool{}
	for _, p := range analysis.Params(petDef()) {
		got[p.Name], req[p.Name] = p.Classes, p.Required
	}
	want := map[string][]string{
		"path.owner":      {"valid"},
		"query.limit":     {"valid", "boundary", "out_of_range", "wrong_type"},
		"header.X-Trace":  {"valid", "missing_required"},
		"body.name":       {"valid", "boundary", "out_of_range", "missing_required", "wrong_type", "null"},
		"body.kind":       {"valid", "missing_required", "wrong_type", "null", "enum"},
		"body.email":      {"valid", "wrong_type", "null", "format"},
		"body.age":        {"valid", "wrong_type"}, // nullable: no null case
		"body.tags":       {"valid", "wrong_type", "null"},
		"body.tags[0]":    {"valid", "wrong_type", "null"},
		"body.tags[0].id": {"valid", "missing_required", "wrong_type", "null"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("params\n%v\nwant\n%v", got, want)
	}
	if !req["path.owner"] || req["query.limit"] || !req["header.X-Trace"] || !req["body.name"] || req["body.email"] {
		t.Fatalf("required %v", req)
	}
}

// Every case casegen generates is attributed to its field, and exercises exactly cells the
// definition makes possible.
func TestCoverageOfCasegenCases(t *testing.T) {
	t.Parallel()
	def := petDef()
	cases := casegen.Generate(def, casegen.Options{Seed: 1})
	h := analysis.BatchHistory{
		Submitted: batch.Submitted{AppID: "app-1", BatchID: "b-1",
			Interfaces: []batch.InterfaceRef{{ID: "if-p", Method: def.Method, Path: def.Path, Version: 1, Responses: def.Responses}}},
		Definitions: map[string]iface.Definition{"if-p": def},
	}
	for i, c := range cases {
		c.InterfaceID = "if-p"
		h.Submitted.Cases = append(h.Submitted.Cases, c)
		if i != 1 { // the second case is canceled: it exercised nothing
			h.Results = append(h.Results, res(c.ID, "if-p", batch.Passed, 201, 1))
		}
	}
	cov := analysis.Analyze(h, nil).Coverage
	ic := cov.Interfaces[0]
	if !ic.DefinitionKnown || len(ic.UnattributedCases) != 0 {
		t.Fatalf("coverage %+v", ic)
	}
	missed := map[string][]string{}
	for _, p := range ic.Parameters {
		for _, c := range p.Possible {
			if !contains(p.Exercised, c) {
				missed[p.Name] = append(missed[p.Name], c)
			}
		}
	}
	// Only the canceled case's cell is missed.
	if want := map[string][]string{"query.limit": {"wrong_type"}}; cases[1].Name != "query.limit: string instead of integer" ||
		!reflect.DeepEqual(missed, want) || ic.CellsExercised != ic.CellsPossible-1 {
		t.Fatalf("cells %d/%d, missed %v", ic.CellsExercised, ic.CellsPossible, missed)
	}
	for _, p := range ic.Parameters {
		if p.Name == "body.kind" && (!reflect.DeepEqual(p.EnumValues, []string{`"cat"`, `"dog"`}) ||
			!reflect.DeepEqual(p.EnumExercised, []string{`"cat"`, `"dog"`, "outside"}) || p.CellsPossible != 7 || p.CellsExercised != 7) {
			t.Errorf("body.kind %+v", p)
		}
	}
	if cov.Totals.Parameters != len(ic.Parameters) || cov.Totals.CellsPossible != ic.CellsPossible || cov.Totals.CellCoverage == nil {
		t.Fatalf("totals %+v", cov.Totals)
	}
}

// Hand-named cases (an LLM's or a person's) are attributed by the field names they mention;
// cells are counted by hand.
func TestCoverageHandCounted(t *testing.T) {
	t.Parallel()
	def := petDef()
	c := func(id, class, name, body string) testcase.Case {
		k := kase(id, "if-p", class)
		k.Name, k.Request = name, testcase.Request{Method: "POST", Path: def.Path,
			PathParams: map[string]any{"owner": "o"}, Headers: map[string]string{"x-trace": "t"}, Body: json.RawMessage(body)}
		return k
	}
	h := analysis.BatchHistory{
		Submitted: batch.Submitted{AppID: "app-1", BatchID: "b-1",
			Interfaces: []batch.InterfaceRef{{ID: "if-p", Version: 1}},
			Cases: []testcase.Case{
				c("k1", testcase.Valid, "create a pet", `{"name":"a","kind":"cat","tags":[{"id":1}]}`),
				c("k2", testcase.Boundary, "name at its longest", `{"name":"aaaaaaaaaaaaaaaaaaaa","kind":"cat"}`),
				c("k3", testcase.Format, "email without an at sign (body.email)", `{"name":"a","kind":"cat","email":"x"}`),
				c("k4", testcase.MissingRequired, "leave out a required field", `{"name":"a"}`),
				c("k5", testcase.WrongType, "something odd", `{"name":"a","kind":"cat"}`),
				c("k6", testcase.Custom, "anything", `{}`),
				c("k7", testcase.Null, "body.tags[0].id: null", `{"name":"a","kind":"cat","tags":[{"id":null}]}`),
			}},
		Definitions: map[string]iface.Definition{"if-p": def},
	}
	for _, k := range h.Submitted.Cases {
		h.Results = append(h.Results, res(k.ID, "if-p", batch.Failed, 400, 1))
	}
	ic := analysis.Analyze(h, nil).Coverage.Interfaces[0]
	got := map[string][]string{}
	for _, p := range ic.Parameters {
		if len(p.Exercised) > 0 {
			got[p.Name] = p.Exercised
		}
	}
	want := map[string][]string{
		"path.owner": {"valid"}, "header.X-Trace": {"valid"}, "body.name": {"valid", "boundary"},
		"body.kind": {"valid", "missing_required", "enum"}, "body.tags": {"valid"}, "body.tags[0]": {"valid"},
		"body.tags[0].id": {"valid", "null"}, "body.email": {"format"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("exercised\n%v\nwant\n%v", got, want)
	}
	// possible: 1+4+2+6+(4+3)+4+2+3+3+4 = 36, body.kind's enum counting cat, dog and outside;
	// exercised: 12 (cat sent by the valid cases); k5 names no field.
	if ic.CellsPossible != 36 || ic.CellsExercised != 12 || *ic.CellCoverage != 0.3333 ||
		!reflect.DeepEqual(ic.UnattributedCases, []string{"k5"}) {
		t.Fatalf("cells %d/%d (%v), unattributed %v", ic.CellsExercised, ic.CellsPossible, ic.CellCoverage, ic.UnattributedCases)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A parameter's enumeration value travels as text: "2" sent counts as 2; a value outside
// counts once, for the case that targets the parameter.
func TestCoverageEnumValuesOfAParameter(t *testing.T) {
	t.Parallel()
	def := iface.Definition{Method: "GET", Path: "/pets",
		Query: json.RawMessage(`{"type":"object","properties":{"level":{"type":"integer","enum":[1,2,3]}}}`)}
	c := func(id, class, name, level string) testcase.Case {
		k := kase(id, "if-q", class)
		k.Name, k.Request = name, testcase.Request{Method: "GET", Path: "/pets", Query: map[string]any{"level": level}}
		return k
	}
	h := analysis.BatchHistory{
		Submitted: batch.Submitted{AppID: "app-1", BatchID: "b-1", Interfaces: []batch.InterfaceRef{{ID: "if-q"}},
			Cases: []testcase.Case{c("q1", testcase.Valid, "valid", "2"), c("q2", testcase.Enum, "query.level: value outside the enum 9", "9")}},
		Definitions: map[string]iface.Definition{"if-q": def},
	}
	for _, k := range h.Submitted.Cases {
		h.Results = append(h.Results, res(k.ID, "if-q", batch.Passed, 200, 1))
	}
	p := analysis.Analyze(h, nil).Coverage.Interfaces[0].Parameters[0]
	if !reflect.DeepEqual(p.EnumExercised, []string{"2", "outside"}) || p.CellsPossible != 6 || p.CellsExercised != 3 {
		t.Fatalf("query.level %+v", p)
	}
}
