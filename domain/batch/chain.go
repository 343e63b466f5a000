package batch

import (
	"sort"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/testcase"
)

// Dependencies maps each case to the cases whose extracted variables it uses. A variable is
// taken from the environment first, then from the one case of the batch that extracts it.
// A variable nobody provides, one extracted by several cases, or a cycle is invalid.
func Dependencies(cases []testcase.Case, envVars map[string]string) (map[string][]string, error) {
	extractor := map[string]string{}
	var p domain.Problems
	for _, c := range cases {
		for v := range c.Extract {
			if other, dup := extractor[v]; dup && other != c.ID {
				p.Add("cases."+c.ID+".extract."+v, "variable %q is also extracted by case %q", v, other)
			}
			extractor[v] = c.ID
		}
	}
	deps := map[string][]string{}
	for _, c := range cases {
		for _, v := range c.Variables() {
			if _, ok := envVars[v]; ok {
				continue
			}
			src, ok := extractor[v]
			switch {
			case !ok:
				p.Add("cases."+c.ID, "uses ${%s}, which neither the environment nor any case of the batch provides", v)
			case src == c.ID:
				p.Add("cases."+c.ID, "uses ${%s}, which only it extracts", v)
			default:
				deps[c.ID] = appendOnce(deps[c.ID], src)
			}
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if cyc := findCycle(deps); cyc != nil {
		return nil, domain.Invalid("cases", "cases depend on each other in a cycle: %v", cyc)
	}
	return deps, nil
}

func appendOnce(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// findCycle returns one cycle of the dependency graph, or nil.
func findCycle(deps map[string][]string) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		color[n] = grey
		stack = append(stack, n)
		for _, m := range deps[n] {
			switch color[m] {
			case grey:
				for i, s := range stack {
					if s == m {
						return append(append([]string(nil), stack[i:]...), m)
					}
				}
			case white:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return nil
	}
	keys := make([]string, 0, len(deps))
	for k := range deps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if color[k] == white {
			if c := visit(k); c != nil {
				return c
			}
		}
	}
	return nil
}
