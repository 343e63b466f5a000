// Package casegen generates test cases for an interface from its JSON Schemas, without
// an LLM: a valid request, then for every parameter and body field the classes its
// keywords allow (boundaries, out of range, missing, wrong type, null, enum values, bad
// formats). It is deterministic: the same definition and seed give the same cases.
package casegen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

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
