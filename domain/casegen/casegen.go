// Package casegen generates test cases for an interface from its JSON Schemas, without
// an LLM: a valid request, then for every parameter and body field the classes its
// keywords allow (boundaries, out of range, missing, wrong type, null, enum values, bad
// formats). It is deterministic: the same definition and seed give the same cases.
package casegen

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// Options of a generation.
type Options struct {
	Seed     uint64
	MaxCases int                // at most this many cases; 0 = no limit
	IDs      func(i int) string // the id of the i-th case; nil = "case-<i>"
	Classes  []string           // classes to generate; empty = all
}

// Priorities by class.
var priorities = map[string]string{
	testcase.Valid: "P0", testcase.MissingRequired: "P1", testcase.WrongType: "P1",
	testcase.Boundary: "P2", testcase.OutOfRange: "P2", testcase.Format: "P2", testcase.Enum: "P2",
	testcase.Null: "P3",
}

// Sections of a request, in generation order.
const (
	secPath   = "path"
	secQuery  = "query"
	secHeader = "header"
	secBody   = "body"
)

// request is a request under construction: each section's values.
type request struct {
	path, query, header map[string]any
	body                any
	hasBody             bool
}

// draft is a generated case before ids and assertions.
type draft struct {
	name, class, reason string
	invalid             bool
	req                 request
}

type generator struct {
	gen
	def    iface.Definition
	base   request
	drafts []draft
	want   func(class string) bool
	// bodySize is the length of the valid body, to size the others' buffers.
	bodySize int
	// enc encodes the bodies; every draft is alive while it is used, so no address of a
	// map or slice it remembers is reused.
	enc encoder
}

// Generate returns the cases of an interface.
func Generate(def iface.Definition, opt Options) []testcase.Case {
	g := &generator{gen: gen{rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))}, def: def}
	g.want = func(c string) bool { return len(opt.Classes) == 0 || slices.Contains(opt.Classes, c) }
	sections := []struct {
		name string
		s    *schema
	}{
		{secPath, parse(def.PathParams)}, {secQuery, parse(def.Query)}, {secHeader, parse(def.Headers)}, {secBody, parse(def.Body)},
	}
	// The valid base request: every path parameter, the required query parameters and
	// headers, the whole body.
	g.base = request{path: map[string]any{}, query: map[string]any{}, header: map[string]any{}}
	for _, sec := range sections[:3] {
		if sec.s == nil {
			continue
		}
		for _, k := range sec.s.propNames {
			if sec.name != secPath && !slices.Contains(sec.s.required, k) {
				continue
			}
			v, ok := g.valid(sec.s.props[k], 1)
			if !ok {
				g.skip = append(g.skip, fmt.Sprintf("%s.%s: no valid value found", sec.name, k))
				continue
			}
			g.section(&g.base, sec.name)[k] = v
		}
	}
	for _, n := range iface.PathParamNames(def.Path) {
		if _, ok := g.base.path[n]; !ok {
			g.base.path[n] = g.letters(8)
		}
	}
	if b := sections[3].s; b != nil {
		v, ok := g.valid(b, 0)
		if ok {
			g.base.body, g.base.hasBody = v, true
			g.bodySize = len(appendJSON(nil, v, nil)) + 64
		} else {
			g.skip = append(g.skip, "body: no valid value found")
		}
	}
	for _, sec := range sections {
		if sec.s == nil {
			continue
		}
		if sec.name == secBody {
			if g.base.hasBody {
				g.field(sec.name, nil, sec.s, true, g.base.body, 0)
			}
			continue
		}
		for _, k := range sec.s.propNames {
			v, present := g.section(&g.base, sec.name)[k]
			g.field(sec.name, []string{k}, sec.s.props[k], present, v, 1)
		}
		if sec.name != secPath {
			g.missing(sec.name, nil, sec.s)
		}
	}
	reason := "a valid request built from the schemas"
	if len(g.skip) > 0 {
		reason += "; not generated: " + strings.Join(g.skip, "; ")
	}
	all := append([]draft{{name: "valid request", class: testcase.Valid, reason: reason, req: g.base}}, g.drafts...)
	return g.finish(all, opt)
}

func (g *generator) section(r *request, sec string) map[string]any {
	switch sec {
	case secPath:
		return r.path
	case secQuery:
		return r.query
	}
	return r.header
}

// name is the field's display name: body.items[0].name, query.limit.
func name(sec string, path []string) string {
	var b strings.Builder
	b.WriteString(sec)
	for _, p := range path {
		if p == "[]" {
			b.WriteString("[0]")
			continue
		}
		b.WriteString(".")
		b.WriteString(p)
	}
	return b.String()
}

// add records a case that sets the field at path to v (or removes it when del).
func (g *generator) add(class, sec string, path []string, v any, del, invalid bool, what, reason string) {
	if !g.want(class) {
		return
	}
	r := g.base
	if sec == secBody {
		r.body = setAt(r.body, path, v, del)
	} else {
		m := map[string]any{}
		for k, x := range g.section(&r, sec) {
			m[k] = x
		}
		m[path[0]] = setAt(m[path[0]], path[1:], v, del)
		if del && len(path) == 1 {
			delete(m, path[0])
		}
		switch sec {
		case secPath:
			r.path = m
		case secQuery:
			r.query = m
		default:
			r.header = m
		}
	}
	n := name(sec, path)
	if reason == "" {
		reason = n + " " + what
	}
	g.drafts = append(g.drafts, draft{name: n + ": " + what, class: class, reason: reason, invalid: invalid, req: r})
}

// setAt returns root with the value at path replaced (or removed), copying what it changes.
func setAt(root any, path []string, v any, del bool) any {
	if len(path) == 0 {
		return v
	}
	switch x := root.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		if del && len(path) == 1 {
			delete(m, path[0])
		} else {
			m[path[0]] = setAt(x[path[0]], path[1:], v, del)
		}
		return m
	case []any:
		if len(x) == 0 {
			return x
		}
		s := slices.Clone(x)
		s[0] = setAt(x[0], path[1:], v, del)
		return s
	}
	return root
}

// field emits the cases of one field (and recurses into objects and arrays). cur is the
// field's value in the base request, present false when the base leaves it out.
func (g *generator) field(sec string, path []string, s *schema, present bool, cur any, depth int) {
	if s == nil || depth > maxDepth {
		return
	}
	wire := sec != secBody // a parameter: every value travels as text
	typ := s.primary()
	n := name(sec, path)
	root := len(path) == 0

	// wrong_type and null
	if typ != "" && !root {
		if wt, ok := wrongType(s, wire); ok {
			g.add(testcase.WrongType, sec, path, wt, false, true, fmt.Sprintf("%s instead of %s", jsonType(wt), typ), "")
		}
		if !s.nullable && !wire {
			g.add(testcase.Null, sec, path, nil, false, true, "null", n+" is null though not nullable")
		}
	}
	// enum
	if len(s.enum) > 0 {
		for i, e := range s.enum {
			if i == 0 && present {
				continue // the valid request has it
			}
			g.add(testcase.Enum, sec, path, e, false, false, "enum value "+short(e), "")
		}
		if out, ok := outsideEnum(s); ok {
			g.add(testcase.Enum, sec, path, out, false, true, "value outside the enum "+short(out), "")
		}
		return
	}
	switch typ {
	case "string":
		g.stringCases(sec, path, s)
	case "integer", "number":
		g.numberCases(sec, path, s)
	case "array":
		g.arrayCases(sec, path, s, depth)
		if arr, ok := cur.([]any); ok && len(arr) > 0 && s.items != nil {
			g.field(sec, append(slices.Clone(path), "[]"), s.items, true, arr[0], depth+1)
		}
	case "object":
		obj, _ := cur.(map[string]any)
		if obj == nil {
			return
		}
		for _, k := range s.propNames {
			v, ok := obj[k]
			g.field(sec, append(slices.Clone(path), k), s.props[k], ok, v, depth+1)
		}
		g.missing(sec, path, s)
	}
}

// missing emits one missing_required case per required property of the object at path.
func (g *generator) missing(sec string, path []string, s *schema) {
	for _, k := range s.required {
		if _, ok := s.props[k]; !ok && s.props != nil {
			continue
		}
		p := append(slices.Clone(path), k)
		g.add(testcase.MissingRequired, sec, p, nil, true, true, "required field missing", name(sec, p)+" is required and left out")
	}
}

func (g *generator) stringCases(sec string, path []string, s *schema) {
	n := name(sec, path)
	if s.minLen > 0 {
		if v, ok := g.exactLen(s, s.minLen); ok {
			g.add(testcase.Boundary, sec, path, v, false, false, fmt.Sprintf("at minLength %d", s.minLen), "")
		} else {
			g.skip = append(g.skip, n+": no value of minLength to fit its pattern or format")
		}
		v, ok := g.exactLen(s, s.minLen-1)
		if !ok {
			v = g.letters(s.minLen - 1)
		}
		g.add(testcase.OutOfRange, sec, path, v, false, true, fmt.Sprintf("1 character under minLength %d", s.minLen), "")
	}
	if s.maxLen >= 0 && s.maxLen <= 100_000 {
		if v, ok := g.exactLen(s, s.maxLen); ok {
			g.add(testcase.Boundary, sec, path, v, false, false, fmt.Sprintf("at maxLength %d", s.maxLen), "")
		} else {
			g.skip = append(g.skip, n+": no value of maxLength to fit its pattern or format")
		}
		v, ok := g.exactLen(s, s.maxLen+1)
		if !ok {
			v = g.letters(s.maxLen + 1)
		}
		g.add(testcase.OutOfRange, sec, path, v, false, true, fmt.Sprintf("1 character over maxLength %d", s.maxLen), "")
	}
	if bad, ok := badFormat[s.format]; ok {
		g.add(testcase.Format, sec, path, bad, false, true, "invalid "+s.format+" "+strconv.Quote(bad), "")
	} else if s.format != "" {
		g.skip = append(g.skip, n+": format "+s.format+" unknown")
	}
	if s.pattern != "" {
		if s.re == nil {
			g.skip = append(g.skip, n+": pattern not supported")
		} else if v, ok := nonMatching(s); ok {
			g.add(testcase.Format, sec, path, v, false, true, "does not match pattern "+s.pattern, "")
		} else {
			g.skip = append(g.skip, n+": no string found that misses the pattern")
		}
	}
}

// nonMatching is a string within the lengths that the pattern rejects.
func nonMatching(s *schema) (string, bool) {
	lo, hi := s.minLen, s.maxLen
	if hi < 0 {
		hi = 1 << 20
	}
	for _, c := range []string{"!", "#", " ", "0", "a", "Z", "-", "_", "~"} {
		v := strings.Repeat(c, max(lo, 1))
		if len(v) <= hi && !s.re.MatchString(v) {
			return v, true
		}
	}
	return "", false
}

func (g *generator) numberCases(sec string, path []string, s *schema) {
	st := s.step()
	kw := func(excl bool, incl, ex string) string {
		if excl {
			return ex
		}
		return incl
	}
	if lo, ok := s.lowest(); ok && s.inRange(lo) {
		k := kw(s.exclMin, "minimum", "exclusiveMinimum")
		g.add(testcase.Boundary, sec, path, lo, false, false, fmt.Sprintf("at the lowest value %s %s allows", short(lo), k), "")
		out := s.align(lo - st)
		if s.exclMin {
			out = s.min
		}
		g.add(testcase.OutOfRange, sec, path, out, false, true, fmt.Sprintf("%s, below %s %s", short(out), k, short(s.min)), "")
	}
	if hi, ok := s.highest(); ok && s.inRange(hi) {
		k := kw(s.exclMax, "maximum", "exclusiveMaximum")
		g.add(testcase.Boundary, sec, path, hi, false, false, fmt.Sprintf("at the highest value %s %s allows", short(hi), k), "")
		out := s.align(hi + st)
		if s.exclMax {
			out = s.max
		}
		g.add(testcase.OutOfRange, sec, path, out, false, true, fmt.Sprintf("%s, above %s %s", short(out), k, short(s.max)), "")
	}
	if s.multipleOf > 0 {
		if v, ok := g.number(s); ok {
			off := v + s.multipleOf/2
			if s.hasMax && off > s.max {
				off = v - s.multipleOf/2
			}
			if !s.inRange(off) && (!s.hasMin || off > s.min) && (!s.hasMax || off < s.max) {
				g.add(testcase.OutOfRange, sec, path, off, false, true, fmt.Sprintf("%s, not a multiple of %s", short(off), short(s.multipleOf)), "")
			}
		}
	}
}

func (g *generator) arrayCases(sec string, path []string, s *schema, depth int) {
	n := name(sec, path)
	if s.minItems > 0 {
		if v, ok := g.array(s, s.minItems, depth); ok {
			g.add(testcase.Boundary, sec, path, v, false, false, fmt.Sprintf("at minItems %d", s.minItems), "")
			g.add(testcase.OutOfRange, sec, path, v[:s.minItems-1], false, true, fmt.Sprintf("1 item under minItems %d", s.minItems), "")
		}
	}
	if s.maxItems >= 0 && s.maxItems <= 1000 {
		if v, ok := g.array(s, s.maxItems+1, depth); ok {
			g.add(testcase.Boundary, sec, path, v[:s.maxItems], false, false, fmt.Sprintf("at maxItems %d", s.maxItems), "")
			g.add(testcase.OutOfRange, sec, path, v, false, true, fmt.Sprintf("1 item over maxItems %d", s.maxItems), "")
		} else if v, ok := g.array(s, s.maxItems, depth); ok {
			g.add(testcase.Boundary, sec, path, v, false, false, fmt.Sprintf("at maxItems %d", s.maxItems), "")
			g.skip = append(g.skip, n+": no distinct item for maxItems+1")
		}
	}
	if s.unique {
		c := max(s.minItems, 2)
		if s.maxItems < 0 || c <= s.maxItems {
			if v, ok := g.valid(s.items, depth+1); ok {
				dup := make([]any, c)
				for i := range dup {
					dup[i] = v
				}
				g.add(testcase.OutOfRange, sec, path, dup, false, true, "duplicate items though uniqueItems", "")
			}
		}
	}
}

// wrongType is a value of a JSON type the schema does not allow. A parameter travels as
// text, so its only wrong type is a string that does not read as its type.
func wrongType(s *schema, wire bool) (any, bool) {
	if wire {
		switch s.primary() {
		case "integer", "number":
			return "not-a-number", true
		case "boolean":
			return "not-a-boolean", true
		}
		return nil, false
	}
	var cands []any
	switch s.primary() {
	case "string":
		cands = []any{12345.0, true}
	case "integer", "number":
		cands = []any{"not-a-number", true}
	case "boolean":
		cands = []any{"not-a-boolean", 1.0}
	case "array":
		cands = []any{"not-an-array", 1.0}
	case "object":
		cands = []any{"not-an-object", 1.0}
	}
	cands = append(cands, "text", 1.0, true, []any{}, map[string]any{})
	for _, c := range cands {
		if !s.allows(jsonType(c)) {
			return c, true
		}
	}
	return nil, false
}

// outsideEnum is a value of the enum's type that is not one of its values.
func outsideEnum(s *schema) (any, bool) {
	in := map[string]bool{}
	for _, e := range s.enum {
		in[key(e)] = true
	}
	var cands []any
	switch s.primary() {
	case "integer", "number":
		hi := 0.0
		for _, e := range s.enum {
			if f, ok := e.(float64); ok && f > hi {
				hi = f
			}
		}
		cands = []any{hi + 1, -1.0}
	case "boolean":
		cands = []any{true, false, "not-in-enum"}
	default:
		cands = []any{"not-in-enum", "zzz-not-in-enum", 99999.0}
	}
	for _, c := range cands {
		if !in[key(c)] {
			return c, true
		}
	}
	return nil, false
}

func short(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := key(v)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

var (
	twoXX  = regexp.MustCompile(`^2[0-9][0-9]$`)
	fourXX = regexp.MustCompile(`^4[0-9][0-9]$`)
)

// Expectations are the assertions of a valid and of an invalid request to def: the
// status class from its documented responses, and the response schema when a 2xx
// documents one. Every generator's cases check the same things.
func Expectations(def iface.Definition) (ok, bad []assert.Assertion) {
	var two, four []any
	schema, four2 := false, false
	for _, k := range def.DocumentedStatuses() {
		code, _ := strconv.Atoi(k)
		switch {
		case twoXX.MatchString(k):
			two = append(two, float64(code))
		case k == "2XX":
		case fourXX.MatchString(k):
			four = append(four, float64(code))
		case k == "4XX":
			four2 = true
		default:
			continue
		}
		if k[0] == '2' && len(def.Responses[k].Schema) > 0 {
			schema = true
		}
	}
	switch {
	case len(two) > 0:
		ok = []assert.Assertion{{Target: "status", Op: "in", Value: two}}
	default:
		ok = []assert.Assertion{{Target: "status", Op: "gte", Value: 200.0}, {Target: "status", Op: "lt", Value: 300.0}}
	}
	if schema {
		ok = append(ok, assert.Assertion{Target: "schema", Op: "conforms"})
	}
	switch {
	case len(four) > 0:
		bad = []assert.Assertion{{Target: "status", Op: "in", Value: four}}
	case four2:
		bad = []assert.Assertion{{Target: "status", Op: "gte", Value: 400.0}, {Target: "status", Op: "lt", Value: 500.0}}
	default:
		bad = []assert.Assertion{{Target: "status", Op: "in", Value: []any{400.0, 422.0}}}
	}
	return ok, bad
}

// finish drops duplicates, caps the count round-robin over classes and builds the cases.
func (g *generator) finish(all []draft, opt Options) []testcase.Case {
	type built struct {
		d   draft
		req testcase.Request
	}
	seen := map[string]bool{}
	g.enc = encoder{}
	defer func() { g.enc = nil }()
	var uniq []built
	for _, d := range all {
		if !g.want(d.class) {
			continue
		}
		req := g.request(d.req)
		k := string(appendJSON(appendJSON(appendJSON(append(slices.Clip(req.Body), 0), d.req.path, nil), d.req.query, nil), d.req.header, nil))
		if seen[k] {
			continue
		}
		seen[k] = true
		uniq = append(uniq, built{d, req})
	}
	keep := make([]int, 0, len(uniq))
	if opt.MaxCases <= 0 || len(uniq) <= opt.MaxCases {
		for i := range uniq {
			keep = append(keep, i)
		}
	} else {
		queues := map[string][]int{}
		for i, b := range uniq {
			queues[b.d.class] = append(queues[b.d.class], i)
		}
		for len(keep) < opt.MaxCases {
			took := false
			for _, c := range testcase.Classes {
				if len(queues[c]) == 0 || len(keep) == opt.MaxCases {
					continue
				}
				keep = append(keep, queues[c][0])
				queues[c] = queues[c][1:]
				took = true
			}
			if !took {
				break
			}
		}
		sort.Ints(keep)
	}
	ok, bad := Expectations(g.def)
	out := make([]testcase.Case, 0, len(keep))
	for i, idx := range keep {
		b := uniq[idx]
		id := fmt.Sprintf("case-%d", i)
		if opt.IDs != nil {
			id = opt.IDs(i)
		}
		as := ok
		if b.d.invalid {
			as = bad
		}
		nm := b.d.name
		if len(nm) > 300 {
			nm = nm[:297] + "..."
		}
		out = append(out, testcase.Case{ID: id, Name: nm, Class: b.d.class, Priority: priorities[b.d.class],
			Request: b.req, Assertions: slices.Clone(as), Enabled: true, Source: "rules", Reason: b.d.reason})
	}
	return out
}

// request turns a draft's sections into a case's request.
func (g *generator) request(r request) testcase.Request {
	out := testcase.Request{Method: g.def.Method, Path: g.def.Path}
	if len(r.path) > 0 {
		out.PathParams = r.path
	}
	if len(r.query) > 0 {
		out.Query = r.query
	}
	if len(r.header) > 0 {
		out.Headers = make(map[string]string, len(r.header))
		for k, v := range r.header {
			if s, ok := v.(string); ok {
				out.Headers[k] = s
			} else {
				out.Headers[k] = string(appendJSON(nil, v, nil))
			}
		}
	}
	if r.hasBody {
		out.Body = g.enc.append(make([]byte, 0, g.bodySize), r.body)
	}
	return out
}
