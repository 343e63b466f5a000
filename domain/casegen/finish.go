package casegen

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

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
