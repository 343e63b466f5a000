package analysis_test

import (
	"cmp"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// cellsDef has a bounded optional string, a required integer and an optional enum.
func cellsDef() iface.Definition {
	return iface.Definition{Method: "POST", Path: "/pets",
		Body: json.RawMessage(`{"type":"object","required":["id"],"properties":{
			"name":{"type":"string","minLength":1,"maxLength":10},
			"id":{"type":"integer"},
			"kind":{"type":"string","enum":["cat","dog"]}}}`),
		Responses: map[string]iface.Response{"201": {}, "400": {}}}
}

func sortCells(cs []analysis.Cell) []analysis.Cell {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b analysis.Cell) int {
		return cmp.Or(cmp.Compare(a.Param, b.Param), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Value, b.Value))
	})
	return cs
}

// Each case casegen generates maps to the cells it exercises and to the one it aims at: a
// case sending valid input exercises valid (and the enumeration value) of every field it
// carries, a case sending refused input only its own cell.
func TestCaseCellsAndTargetOfCasegenCases(t *testing.T) {
	t.Parallel()
	type cell = analysis.Cell
	// valid is what a request carrying every field, kind "cat", exercises.
	valid := []cell{{"body.id", "valid", ""}, {"body.kind", "valid", ""}, {"body.kind", "enum", `"cat"`}, {"body.name", "valid", ""}}
	validWith := func(extra cell) []cell { return append(slices.Clone(valid), extra) }
	tests := []struct {
		name   string
		cells  []cell
		target *cell // nil: no target
	}{
		{"valid request", valid, nil},
		{"body.id: string instead of integer", []cell{{"body.id", "wrong_type", ""}}, &cell{"body.id", "wrong_type", ""}},
		{"body.id: null", []cell{{"body.id", "null", ""}}, &cell{"body.id", "null", ""}},
		{"body.id: required field missing", []cell{{"body.id", "missing_required", ""}}, &cell{"body.id", "missing_required", ""}},
		{"body.kind: integer instead of string", []cell{{"body.kind", "wrong_type", ""}}, &cell{"body.kind", "wrong_type", ""}},
		{"body.kind: null", []cell{{"body.kind", "null", ""}}, &cell{"body.kind", "null", ""}},
		{`body.kind: enum value "dog"`, []cell{{"body.id", "valid", ""}, {"body.kind", "valid", ""}, {"body.kind", "enum", `"dog"`}, {"body.name", "valid", ""}}, &cell{"body.kind", "enum", `"dog"`}},
		{`body.kind: value outside the enum "not-in-enum"`, []cell{{"body.kind", "enum", analysis.Outside}}, &cell{"body.kind", "enum", analysis.Outside}},
		{"body.name: integer instead of string", []cell{{"body.name", "wrong_type", ""}}, &cell{"body.name", "wrong_type", ""}},
		{"body.name: null", []cell{{"body.name", "null", ""}}, &cell{"body.name", "null", ""}},
		{"body.name: at minLength 1", validWith(cell{"body.name", "boundary", ""}), &cell{"body.name", "boundary", ""}},
		{"body.name: at maxLength 10", validWith(cell{"body.name", "boundary", ""}), &cell{"body.name", "boundary", ""}},
		{"body.name: 1 character under minLength 1", []cell{{"body.name", "out_of_range", ""}}, &cell{"body.name", "out_of_range", ""}},
		{"body.name: 1 character over maxLength 10", []cell{{"body.name", "out_of_range", ""}}, &cell{"body.name", "out_of_range", ""}},
	}
	def := cellsDef()
	params := analysis.Params(def)
	byName := map[string]testcase.Case{}
	for _, c := range casegen.Generate(def, casegen.Options{Seed: 1}) {
		byName[c.Name] = c
	}
	if len(byName) != len(tests) {
		t.Fatalf("casegen generated %d cases, the table has %d: %q", len(byName), len(tests), slices.Sorted(maps.Keys(byName)))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ok := byName[tt.name]
			if !ok {
				t.Fatalf("casegen generated no case %q", tt.name)
			}
			if got := sortCells(analysis.CaseCells(params, c)); !reflect.DeepEqual(got, sortCells(tt.cells)) {
				t.Errorf("CaseCells\n%v\nwant\n%v", got, sortCells(tt.cells))
			}
			got, ok := analysis.Target(params, c)
			switch {
			case tt.target == nil && ok:
				t.Errorf("Target = %v, want none", got)
			case tt.target != nil && (!ok || got != *tt.target):
				t.Errorf("Target = %v, %v; want %v", got, ok, *tt.target)
			}
		})
	}
}

// Cases written by hand (an LLM's, a person's) are attributed by the field they name; one
// naming no field, or aiming at a class its field cannot have, has no target.
func TestTargetOfHandWrittenCases(t *testing.T) {
	t.Parallel()
	params := analysis.Params(cellsDef())
	body := func(s string) testcase.Request {
		return testcase.Request{Method: "POST", Path: "/pets", Body: json.RawMessage(s)}
	}
	tests := []struct {
		name string
		c    testcase.Case
		want analysis.Cell
		ok   bool
	}{
		{"by leaf name", testcase.Case{Name: "the kind is a number", Class: testcase.WrongType, Request: body(`{"id":1,"kind":3}`)},
			analysis.Cell{Param: "body.kind", Class: testcase.WrongType}, true},
		{"missing required by request", testcase.Case{Name: "leave it out", Class: testcase.MissingRequired, Request: body(`{"name":"x"}`)},
			analysis.Cell{Param: "body.id", Class: testcase.MissingRequired}, true},
		{"names no field", testcase.Case{Name: "something odd", Class: testcase.WrongType, Request: body(`{"id":1}`)},
			analysis.Cell{}, false},
		{"class not applicable", testcase.Case{Name: "body.id: at its maximum", Class: testcase.Boundary, Request: body(`{"id":1}`)},
			analysis.Cell{}, false},
		{"custom", testcase.Case{Name: "body.id: custom check", Class: testcase.Custom, Request: body(`{"id":1}`)},
			analysis.Cell{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := analysis.Target(params, tt.c)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("Target = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
