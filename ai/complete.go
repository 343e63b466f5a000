package ai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// priorities by class, as domain/casegen gives them.
var priorities = map[string]string{
	testcase.Valid: "P0", testcase.MissingRequired: "P1", testcase.WrongType: "P1",
	testcase.Boundary: "P2", testcase.OutOfRange: "P2", testcase.Format: "P2", testcase.Enum: "P2",
	testcase.Null: "P3", testcase.Custom: "P2",
}

// generatedClasses are the classes asked of the model and completed by the rules.
var generatedClasses = []string{testcase.Valid, testcase.Boundary, testcase.OutOfRange, testcase.MissingRequired,
	testcase.WrongType, testcase.Null, testcase.Enum, testcase.Format}

// builder turns the model's cases into the interface's cases.
type builder struct {
	def      iface.Definition
	rs       *requestSchema
	pathRe   *regexp.Regexp
	base     testcase.Request // the rules' valid request: the values the model left out
	ok, bad  []assert.Assertion
	dropped  []string
	accepted []testcase.Case
}

func newBuilder(def iface.Definition, base testcase.Request) (*builder, error) {
	rs, err := newRequestSchema(def)
	if err != nil {
		return nil, err
	}
	pat := regexp.QuoteMeta(def.Path)
	for _, n := range iface.PathParamNames(def.Path) {
		pat = strings.Replace(pat, regexp.QuoteMeta("{"+n+"}"), "(?P<"+safeGroup(n)+">[^/]+)", 1)
	}
	b := &builder{def: def, rs: rs, base: base, pathRe: regexp.MustCompile("^" + pat + "$")}
	b.ok, b.bad = casegen.Expectations(def)
	return b, nil
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]`)

func safeGroup(n string) string { return "p_" + nonWord.ReplaceAllString(n, "_") }

// add validates one model case; it keeps it or records why it was dropped.
func (b *builder) add(i int, rc rawCase) {
	drop := func(why string) {
		b.dropped = append(b.dropped, fmt.Sprintf("case %d %q: %s", i, clip(rc.Name, 80), clip(why, 300)))
	}
	if !slices.Contains(generatedClasses, rc.Class) {
		drop(fmt.Sprintf("class %q is not one of %s", rc.Class, strings.Join(generatedClasses, ", ")))
		return
	}
	if rc.Method != "" && rc.Method != b.def.Method {
		drop(fmt.Sprintf("method %s is not the interface's %s", rc.Method, b.def.Method))
		return
	}
	params := map[string]any{}
	for k, v := range rc.PathParams {
		params[k] = v
	}
	if rc.Path != "" && rc.Path != b.def.Path {
		m := b.pathRe.FindStringSubmatch(strings.SplitN(rc.Path, "?", 2)[0])
		if m == nil {
			drop(fmt.Sprintf("path %s does not match %s", rc.Path, b.def.Path))
			return
		}
		for _, n := range iface.PathParamNames(b.def.Path) {
			if _, ok := params[n]; !ok {
				params[n] = m[b.pathRe.SubexpIndex(safeGroup(n))]
			}
		}
	}
	for _, n := range iface.PathParamNames(b.def.Path) { // complete: a path needs every parameter
		if _, ok := params[n]; !ok && b.base.PathParams[n] != nil {
			params[n] = b.base.PathParams[n]
		}
	}
	headers := map[string]string{}
	for k, v := range rc.Headers {
		headers[k] = text(v)
	}
	body := compact(rc.Body)
	v, err := b.rs.check(params, rc.Query, headers, body)
	if err != nil {
		drop(err.Error())
		return
	}
	invalid, why := judge(rc.Class, v)
	if why != "" {
		drop(why)
		return
	}
	c := testcase.Case{Name: clip(rc.Name, 300), Class: rc.Class, Priority: rc.Priority, Enabled: true, Source: "llm",
		Reason: clip(rc.Reason, 2000), Request: testcase.Request{Method: b.def.Method, Path: b.def.Path, Body: body}}
	if c.Name == "" {
		c.Name = clip(rc.Class+": "+rc.Reason, 300)
	}
	if !slices.Contains(testcase.Priorities, c.Priority) {
		c.Priority = priorities[c.Class]
	}
	if len(params) > 0 {
		c.Request.PathParams = params
	}
	if len(rc.Query) > 0 {
		c.Request.Query = rc.Query
	}
	if len(headers) > 0 {
		c.Request.Headers = headers
	}
	c.Assertions = slices.Clone(b.ok)
	if invalid {
		c.Assertions = slices.Clone(b.bad)
	}
	b.accepted = append(b.accepted, c)
}

// finish completes the accepted cases with rule cases (see completion), drops duplicate
// requests, caps the count (round-robin over classes, the model's cases first within a
// class) and numbers them.
func (b *builder) finish(rules []testcase.Case, opt casegen.Options) []testcase.Case {
	llm := unique(slices.Clone(b.accepted))
	uniq := unique(append(llm, completion(b.def, llm, rules)...))
	keep := capRoundRobin(uniq, opt.MaxCases)
	out := make([]testcase.Case, len(keep))
	for i, idx := range keep {
		c := uniq[idx]
		c.ID = fmt.Sprintf("case-%d", i)
		if opt.IDs != nil {
			c.ID = opt.IDs(i)
		}
		out[i] = c
	}
	return out
}

// completion picks, in the rules' order, the rule cases that complete the model's cases,
// cell by cell of the parameter × class table as the coverage counts it: every rule case
// aimed at a cell no model case exercises (both bounds of a field the model left out), a
// rule case aimed at no cell when the model skipped its whole class, then one rule case for
// each cell still unexercised (the valid cell of an optional field only rule cases carry).
func completion(def iface.Definition, llm, rules []testcase.Case) []testcase.Case {
	params := analysis.Params(def)
	covered, classes := map[analysis.Cell]bool{}, map[string]bool{}
	for _, c := range llm {
		classes[c.Class] = true
		for _, cell := range analysis.CaseCells(params, c) {
			covered[cell] = true
		}
	}
	picked := make([]bool, len(rules))
	for i, c := range rules {
		cell, ok := analysis.Target(params, c)
		picked[i] = (ok && !covered[cell]) || (!ok && !classes[c.Class])
	}
	for i, c := range rules {
		if picked[i] {
			for _, cell := range analysis.CaseCells(params, c) {
				covered[cell] = true
			}
		}
	}
	for i, c := range rules {
		if picked[i] {
			continue
		}
		cells := analysis.CaseCells(params, c)
		picked[i] = slices.ContainsFunc(cells, func(cell analysis.Cell) bool { return !covered[cell] })
		for _, cell := range cells {
			covered[cell] = true // harmless when not picked: its cells were all covered
		}
	}
	var out []testcase.Case
	for i, c := range rules {
		if picked[i] {
			out = append(out, c)
		}
	}
	return out
}

// unique drops the cases whose request an earlier case sends, in place.
func unique(cases []testcase.Case) []testcase.Case {
	seen := map[string]bool{}
	out := cases[:0]
	for _, c := range cases {
		k := requestKey(c.Request)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	return out
}

// capRoundRobin picks at most max of cases, taking one of each class in turn, and
// returns their indexes in order.
func capRoundRobin(cases []testcase.Case, max int) []int {
	keep := make([]int, 0, len(cases))
	if max <= 0 || len(cases) <= max {
		for i := range cases {
			keep = append(keep, i)
		}
		return keep
	}
	queues := map[string][]int{}
	for i, c := range cases {
		queues[c.Class] = append(queues[c.Class], i)
	}
	for took := true; took && len(keep) < max; {
		took = false
		for _, cl := range testcase.Classes {
			if len(queues[cl]) == 0 || len(keep) == max {
				continue
			}
			keep = append(keep, queues[cl][0])
			queues[cl], took = queues[cl][1:], true
		}
	}
	sort.Ints(keep)
	return keep
}

// requestKey identifies what a request sends: parameters as the text they travel as,
// the body's JSON value (maps marshal with sorted keys).
func requestKey(r testcase.Request) string {
	var body any
	if len(r.Body) > 0 {
		_ = json.Unmarshal(r.Body, &body)
	}
	k, _ := json.Marshal([]any{wireText(r.PathParams), wireText(r.Query), r.Headers, body, len(r.Body) > 0})
	return string(k)
}

func wireText(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = text(v)
	}
	return out
}

func compact(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}
