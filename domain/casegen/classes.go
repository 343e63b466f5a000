package casegen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/testcase"
)

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
