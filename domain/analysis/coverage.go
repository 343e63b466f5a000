package analysis

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// ParameterCoverage is one parameter or body field: the classes its schema makes
// applicable and those the batch's cases that ran exercised.
type ParameterCoverage struct {
	Name      string   `json:"name"`
	In        string   `json:"in"`
	Required  bool     `json:"required"`
	Possible  []string `json:"possible"`
	Exercised []string `json:"exercised"`
	// EnumValues are an enumeration's values (JSON-encoded); EnumExercised those sent, and
	// "outside" once a value outside them was. Each value and the outside one is a cell.
	EnumValues    []string `json:"enum_values,omitempty"`
	EnumExercised []string `json:"enum_exercised,omitempty"`
	// Cells count this parameter's class cells (an enumeration counts a cell per value
	// and one for outside instead of one for enum).
	CellsPossible  int `json:"cells_possible"`
	CellsExercised int `json:"cells_exercised"`
}

// Outside is the EnumExercised entry of a value outside the enumeration.
const Outside = "outside"

// coverage measures one interface. def is its definition at the frozen version, when known.
func coverage(ref batch.InterfaceRef, def *iface.Definition, cases []testcase.Case, results map[string]batch.CaseExecuted) InterfaceCoverage {
	cov := InterfaceCoverage{InterfaceID: ref.ID, ClassesPossible: len(PossibleClasses),
		StatusesObserved: []string{}, StatusesDocumented: []string{}, Parameters: []ParameterCoverage{},
		UnattributedCases: []string{}, DefinitionKnown: def != nil}
	classes := map[string]bool{}
	observed := map[int]bool{}
	var ran []testcase.Case
	for _, c := range cases {
		if slices.Contains(PossibleClasses, c.Class) {
			classes[c.Class] = true
		}
		r, o := outcome(results, c.ID)
		if o == batch.Canceled {
			continue
		}
		ran = append(ran, c)
		if r.StatusCode > 0 {
			observed[r.StatusCode] = true
		}
		for _, ev := range r.Assertions {
			if ev.Target != schemaTarget || ev.Error != "" || (ev.Passed && strings.HasPrefix(ev.Message, skippedMark)) {
				continue
			}
			cov.SchemaChecked++
			if ev.Passed {
				cov.SchemaConforming++
			}
			break
		}
	}
	cov.ClassesExercised = len(classes)
	if def != nil {
		cells(&cov, Params(*def), ran)
	}
	codes := make([]int, 0, len(observed))
	for s := range observed {
		codes = append(codes, s)
	}
	slices.Sort(codes)
	for _, s := range codes {
		cov.StatusesObserved = append(cov.StatusesObserved, strconv.Itoa(s))
	}
	for k := range ref.Responses {
		cov.StatusesDocumented = append(cov.StatusesDocumented, k)
	}
	slices.Sort(cov.StatusesDocumented)
	for _, k := range cov.StatusesDocumented {
		if documentedObserved(k, cov.StatusesDocumented, codes) {
			cov.StatusesCovered++
		}
	}
	cov.StatusCoverage = share(cov.StatusesCovered, len(cov.StatusesDocumented))
	cov.SchemaConformingShare = share(cov.SchemaConforming, cov.SchemaChecked)
	return cov
}

// cells fills the parameter × class table from the cases that ran: a case whose input is
// valid (valid, boundary, an enum value) exercises valid for every parameter its request
// carries; any case but a valid one exercises its class for the parameter it targets (see
// attribute), when the class applies to that parameter.
func cells(cov *InterfaceCoverage, params []Param, ran []testcase.Case) {
	index := make(map[string]int, len(params))
	hit := make([]map[string]bool, len(params))
	enums := make([]map[string]bool, len(params))
	for i, p := range params {
		index[key(p.Name)] = i
		hit[i], enums[i] = map[string]bool{}, map[string]bool{}
	}
	for _, c := range ran {
		if c.Class == testcase.Custom {
			continue
		}
		if !Rejects(c) { // valid, boundary or an enum value: every value it sends is valid
			markValid(c, params, index, hit, enums)
		}
		if c.Class == testcase.Valid {
			continue
		}
		i, ok := attribute(c, params, index)
		if !ok {
			cov.UnattributedCases = append(cov.UnattributedCases, c.ID)
			continue
		}
		hit[i][c.Class] = true
		if c.Class == testcase.Enum && len(params[i].Enum) > 0 {
			v, sent := valueAt(c.Request, params[i].Name)
			if e, in := enumMatch(params[i].Enum, v); sent && in {
				enums[i][e] = true
			} else if sent {
				enums[i][Outside] = true
			}
		}
	}
	slices.Sort(cov.UnattributedCases)
	for i, p := range params {
		pc := ParameterCoverage{Name: p.Name, In: p.In, Required: p.Required, Possible: p.Classes, Exercised: []string{}}
		for _, c := range p.Classes {
			switch {
			case c == testcase.Enum && len(p.Enum) > 0:
				pc.EnumValues, pc.EnumExercised = p.Enum, []string{}
				for _, e := range append(slices.Clone(p.Enum), Outside) {
					if enums[i][e] {
						pc.EnumExercised = append(pc.EnumExercised, e)
					}
				}
				pc.CellsPossible += len(p.Enum) + 1
				pc.CellsExercised += len(pc.EnumExercised)
				if len(pc.EnumExercised) > 0 {
					pc.Exercised = append(pc.Exercised, c)
				}
			default:
				pc.CellsPossible++
				if hit[i][c] {
					pc.Exercised = append(pc.Exercised, c)
					pc.CellsExercised++
				}
			}
		}
		cov.CellsPossible += pc.CellsPossible
		cov.CellsExercised += pc.CellsExercised
		cov.Parameters = append(cov.Parameters, pc)
	}
	cov.CellCoverage = share(cov.CellsExercised, cov.CellsPossible)
}

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
