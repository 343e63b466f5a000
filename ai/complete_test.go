package ai_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/testcase"
)

// oneOutOfRange tests one field out of range (body.name too long) and nothing else of
// that class: the rules must still test the other bounded fields out of range.
const oneOutOfRange = `{"cases":[
{"name":"valid","class":"valid","reason":"all valid","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"Rex","kind":"dog"}},"expected_status":201},
{"name":"name too long","class":"out_of_range","reason":"body.name over maxLength 20","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"abcdefghijabcdefghijk","kind":"dog"}},"expected_status":400}
]}`

// cellsOf is the set of parameter × class cells the cases exercise, as coverage counts them.
func cellsOf(cases []testcase.Case) map[analysis.Cell]bool {
	params := analysis.Params(petDef)
	out := map[analysis.Cell]bool{}
	for _, c := range cases {
		for _, cell := range analysis.CaseCells(params, c) {
			out[cell] = true
		}
	}
	return out
}

func TestCompletionFillsCells(t *testing.T) {
	t.Parallel()
	f := newFakeLLM(t, answer{content: oneOutOfRange})
	cases, info := generate(t, newGen(t, f.client(t, time.Second, 1)), 0)
	checkLLM(t, cases, info, 2, 0)
	params := analysis.Params(petDef)
	var outOfRange []string
	for _, c := range cases {
		if c.Class == testcase.OutOfRange {
			outOfRange = append(outOfRange, c.Source+" "+c.Name)
		}
	}
	// body.name is the model's: no rule case for that cell; owner and age get theirs, both
	// bounds of age.
	want := []string{"llm name too long", "rules path.owner: 0, below minimum 1",
		"rules body.age: -1, below minimum 0", "rules body.age: 31, above maximum 30"}
	if !reflect.DeepEqual(outOfRange, want) {
		t.Errorf("out_of_range cases %q, want %q", outOfRange, want)
	}
	for _, c := range cases {
		if cell, ok := analysis.Target(params, c); ok && c.Source == "rules" && cell.Param == "body.name" && cell.Class == testcase.OutOfRange {
			t.Errorf("rule case %q for a cell the model covers", c.Name)
		}
	}

	rules := casegen.Generate(petDef, casegen.Options{Seed: 42})
	got, alone := cellsOf(cases), cellsOf(rules)
	for cell := range alone {
		if !got[cell] {
			t.Errorf("cell %+v exercised by the rules alone, not by the completed answer", cell)
		}
	}
	var llm []testcase.Case
	for _, c := range cases {
		if c.Source == "llm" {
			llm = append(llm, c)
		}
	}
	for cell := range cellsOf(llm) {
		alone[cell] = true
	}
	if len(got) != len(alone) {
		t.Errorf("%d cells exercised, want %d (the rules' and the model's)", len(got), len(alone))
	}
	if len(cases) >= len(rules)+len(llm) {
		t.Errorf("%d cases for %d rule and %d model cases: the covered cells' rule cases should go", len(cases), len(rules), len(llm))
	}

	again, _ := generate(t, newGen(t, newFakeLLM(t, answer{content: oneOutOfRange}).client(t, time.Second, 1)), 0)
	if !reflect.DeepEqual(names(cases), names(again)) {
		t.Errorf("not deterministic:\n%q\n%q", names(cases), names(again))
	}
}

func TestCompletionCapped(t *testing.T) {
	t.Parallel()
	f := newFakeLLM(t, answer{content: oneOutOfRange})
	cases, info := generate(t, newGen(t, f.client(t, time.Second, 1)), 6)
	checkLLM(t, cases, info, 2, 0)
	if len(cases) != 6 {
		t.Fatalf("%d cases, want the cap 6", len(cases))
	}
	classes := map[string]int{}
	for i, c := range cases {
		classes[c.Class]++
		if (c.Class == testcase.Valid || c.Class == testcase.OutOfRange) != (c.Source == "llm") {
			t.Errorf("case %q of %s from %s: the model's cases come first in their class", c.Name, c.Class, c.Source)
		}
		if want := "g-1-" + string(rune('a'+i)); c.ID != want {
			t.Errorf("case %d id %s, want %s", i, c.ID, want)
		}
	}
	if classes[testcase.Valid] != 1 || classes[testcase.OutOfRange] != 1 {
		t.Errorf("classes %v: one of each class in turn, the model's first", classes)
	}
}

func names(cases []testcase.Case) []string {
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.ID + " " + c.Name
	}
	return slices.Clip(out)
}
