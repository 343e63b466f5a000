package analysis

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/assay-dev/assay/domain/testcase"
)

// markValid notes the valid values a case sends: valid for each parameter it carries, and
// each enumeration value it carries.
func markValid(c testcase.Case, params []Param, index map[string]int, hit, enums []map[string]bool) {
	for k := range present(c.Request) {
		i, ok := index[k]
		if !ok {
			continue
		}
		hit[i][testcase.Valid] = true
		if len(params[i].Enum) > 0 {
			if v, sent := valueAt(c.Request, params[i].Name); sent {
				if e, in := enumMatch(params[i].Enum, v); in {
					enums[i][e] = true
				}
			}
		}
	}
}

// enumMatch finds v among JSON-encoded enumeration values; a parameter's value travels as
// text, so "1" matches 1.
func enumMatch(enum []string, v any) (string, bool) {
	b, err := json.Marshal(v)
	if err == nil && slices.Contains(enum, string(b)) {
		return string(b), true
	}
	if s, ok := v.(string); ok {
		for _, e := range enum {
			var x any
			if json.Unmarshal([]byte(e), &x) == nil && x != nil {
				if _, isText := x.(string); !isText && strings.Trim(e, `"`) == s {
					return e, true
				}
			}
		}
	}
	return "", false
}

// valueAt is the value a request sends for a field named as Param names it.
func valueAt(r testcase.Request, name string) (any, bool) {
	sec, rest, _ := strings.Cut(name, ".")
	switch sec {
	case "path":
		v, ok := r.PathParams[rest]
		return v, ok
	case "query":
		v, ok := r.Query[rest]
		return v, ok
	case "header":
		for k, v := range r.Headers {
			if strings.EqualFold(k, rest) {
				return v, true
			}
		}
		return nil, false
	}
	var v any
	if !strings.HasPrefix(name, "body") || json.Unmarshal(r.Body, &v) != nil {
		return nil, false
	}
	path := name[len("body"):]
	for path != "" {
		switch {
		case strings.HasPrefix(path, "[0]"):
			a, ok := v.([]any)
			if !ok || len(a) == 0 {
				return nil, false
			}
			v, path = a[0], path[3:]
		case path[0] == '.':
			end := strings.IndexAny(path[1:], ".[")
			if end < 0 {
				end = len(path) - 1
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[path[1:end+1]]; !ok {
				return nil, false
			}
			path = path[end+1:]
		default:
			return nil, false
		}
	}
	return v, true
}

// key normalises a field name for matching: header names are case-insensitive.
func key(name string) string {
	if rest, ok := strings.CutPrefix(name, "header."); ok {
		return "header." + strings.ToLower(rest)
	}
	return name
}

var word = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_\-]*`)

// attribute finds the parameter a case targets. Cases do not record it: casegen starts
// their name (and reason) with the field's display name ("body.name: 1 character over
// maxLength 20"); other cases (an LLM's, a person's) are matched on the longest display
// name their name or reason contains, then on a field's last name when exactly one field
// has it; a missing_required case left unmatched targets the one required field its
// request lacks, if only one is.
func attribute(c testcase.Case, params []Param, index map[string]int) (int, bool) {
	texts := []string{c.Name, c.Reason}
	for _, t := range texts {
		if f := strings.FieldsFunc(t, func(r rune) bool { return r == ':' || r == ' ' }); len(f) > 0 {
			if i, ok := index[key(f[0])]; ok {
				return i, true
			}
		}
	}
	best, bestLen := -1, 0
	for _, t := range texts {
		lt := strings.ToLower(t)
		for i, p := range params {
			if n := strings.ToLower(p.Name); len(n) > bestLen && strings.Contains(lt, n) {
				best, bestLen = i, len(n)
			}
		}
	}
	if best >= 0 {
		return best, true
	}
	words := map[string]bool{}
	for _, t := range texts {
		for _, w := range word.FindAllString(t, -1) {
			words[strings.ToLower(w)] = true
		}
	}
	found := -1
	for i, p := range params {
		if words[strings.ToLower(leaf(p.Name))] {
			if found >= 0 {
				found = -2 // ambiguous
				break
			}
			found = i
		}
	}
	if found >= 0 {
		return found, true
	}
	if c.Class == testcase.MissingRequired {
		have := present(c.Request)
		lacking := -1
		for i, p := range params {
			if p.Required && p.In != "path" && !strings.Contains(p.Name, "[0]") && !have[key(p.Name)] && parentPresent(p.Name, have) {
				if lacking >= 0 {
					return 0, false
				}
				lacking = i
			}
		}
		return lacking, lacking >= 0
	}
	return 0, false
}

func leaf(name string) string {
	name = strings.TrimSuffix(name, "[0]")
	return name[strings.LastIndexByte(name, '.')+1:]
}

// parentPresent: a field whose parent object is absent is not what a case left out.
func parentPresent(name string, have map[string]bool) bool {
	i := strings.LastIndexByte(name, '.')
	parent := name[:i]
	return !strings.Contains(parent, ".") || have[key(parent)]
}

// present lists the display names (normalised by key) of what a request carries.
func present(r testcase.Request) map[string]bool {
	out := map[string]bool{}
	for k := range r.PathParams {
		out["path."+k] = true
	}
	for k := range r.Query {
		out["query."+k] = true
	}
	for k := range r.Headers {
		out[key("header."+k)] = true
	}
	var body any
	if len(r.Body) > 0 && json.Unmarshal(r.Body, &body) == nil {
		out["body"] = true
		fields("body", body, out, 0)
	}
	return out
}

func fields(prefix string, v any, out map[string]bool, depth int) {
	if depth > paramDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out[prefix+"."+k] = true
			fields(prefix+"."+k, e, out, depth+1)
		}
	case []any:
		for _, e := range x {
			out[prefix+"[0]"] = true
			fields(prefix+"[0]", e, out, depth+1)
		}
	}
}

// Cell is one cell of the parameter × class table: Value is, for the enum class of an
// enumeration, the value (JSON-encoded) or Outside; empty otherwise.
type Cell struct {
	Param, Class, Value string
}

// CaseCells lists the cells one case exercises, exactly as the coverage counts them (see
// cells): valid (and the enumeration values) of what a case not sending refused input
// carries, and its class for the parameter it targets. params is Params' answer.
func CaseCells(params []Param, c testcase.Case) []Cell {
	var cov InterfaceCoverage
	cells(&cov, params, []testcase.Case{c})
	var out []Cell
	for _, pc := range cov.Parameters {
		for _, cl := range pc.Exercised {
			if cl != testcase.Enum || len(pc.EnumValues) == 0 {
				out = append(out, Cell{Param: pc.Name, Class: cl})
				continue
			}
			for _, e := range pc.EnumExercised {
				out = append(out, Cell{Param: pc.Name, Class: cl, Value: e})
			}
		}
	}
	return out
}

// Target is the cell a case aims at: its class for the parameter it targets (see
// attribute), with the enumeration value it sends for an enum case. ok is false for a
// valid or custom case, an unattributed one, or a class the parameter's schema does not
// make applicable.
func Target(params []Param, c testcase.Case) (Cell, bool) {
	if c.Class == testcase.Valid || c.Class == testcase.Custom {
		return Cell{}, false
	}
	index := make(map[string]int, len(params))
	for i, p := range params {
		index[key(p.Name)] = i
	}
	i, ok := attribute(c, params, index)
	if !ok || !slices.Contains(params[i].Classes, c.Class) {
		return Cell{}, false
	}
	cell := Cell{Param: params[i].Name, Class: c.Class}
	if c.Class == testcase.Enum && len(params[i].Enum) > 0 {
		v, sent := valueAt(c.Request, params[i].Name)
		if !sent {
			return Cell{}, false
		}
		cell.Value = Outside
		if e, in := enumMatch(params[i].Enum, v); in {
			cell.Value = e
		}
	}
	return cell, true
}
