package casegen

import (
	"encoding/json"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
)

// schema is the subset of JSON Schema the generator understands ($ref already resolved).
type schema struct {
	types      []string // allowed JSON types, "null" excluded
	nullable   bool
	props      map[string]*schema
	propNames  []string // sorted
	required   []string // sorted
	items      *schema
	minLen     int
	maxLen     int // -1: none
	min, max   float64
	hasMin     bool
	hasMax     bool
	exclMin    bool
	exclMax    bool
	multipleOf float64
	pattern    string
	re         *regexp.Regexp // nil when the pattern is absent or not a Go regexp
	syn        *syntax.Regexp // the pattern parsed, for generating
	enum       []any
	format     string
	minItems   int
	maxItems   int // -1: none
	unique     bool
}

const maxDepth = 8

// parse reads a schema; nil for an absent or unreadable one.
func parse(raw json.RawMessage) *schema {
	if len(raw) == 0 {
		return nil
	}
	var m any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	o, ok := m.(map[string]any)
	if !ok {
		return nil
	}
	return fromMap(o, 0)
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok && !math.IsNaN(f) && !math.IsInf(f, 0)
}

func count(v any) (int, bool) {
	f, ok := num(v)
	if !ok || f < 0 || f != math.Trunc(f) {
		return 0, false
	}
	return int(min(f, 1e6)), true
}

func fromMap(o map[string]any, depth int) *schema {
	s := &schema{maxLen: -1, maxItems: -1}
	switch t := o["type"].(type) {
	case string:
		s.types = []string{t}
	case []any:
		for _, x := range t {
			if str, ok := x.(string); ok {
				s.types = append(s.types, str)
			}
		}
	}
	if i := slices.Index(s.types, "null"); i >= 0 {
		s.nullable = true
		s.types = slices.Delete(s.types, i, i+1)
	}
	if b, _ := o["nullable"].(bool); b {
		s.nullable = true
	}
	if e, ok := o["enum"].([]any); ok && len(e) > 0 {
		s.enum = e
	} else if c, ok := o["const"]; ok {
		s.enum = []any{c}
	}
	if slices.Contains(s.enum, nil) {
		s.nullable = true
	}
	if depth < maxDepth {
		if p, ok := o["properties"].(map[string]any); ok {
			s.props = map[string]*schema{}
			for k, v := range p {
				if vm, ok := v.(map[string]any); ok {
					s.props[k] = fromMap(vm, depth+1)
				} else {
					s.props[k] = &schema{maxLen: -1, maxItems: -1}
				}
				s.propNames = append(s.propNames, k)
			}
			sort.Strings(s.propNames)
		}
		if it, ok := o["items"].(map[string]any); ok {
			s.items = fromMap(it, depth+1)
		}
	}
	if r, ok := o["required"].([]any); ok {
		for _, x := range r {
			if str, ok := x.(string); ok && !slices.Contains(s.required, str) {
				s.required = append(s.required, str)
			}
		}
		sort.Strings(s.required)
	}
	if n, ok := count(o["minLength"]); ok {
		s.minLen = n
	}
	if n, ok := count(o["maxLength"]); ok {
		s.maxLen = n
	}
	if n, ok := count(o["minItems"]); ok {
		s.minItems = n
	}
	if n, ok := count(o["maxItems"]); ok {
		s.maxItems = n
	}
	s.unique, _ = o["uniqueItems"].(bool)
	if f, ok := num(o["minimum"]); ok {
		s.min, s.hasMin = f, true
	}
	if f, ok := num(o["maximum"]); ok {
		s.max, s.hasMax = f, true
	}
	switch e := o["exclusiveMinimum"].(type) {
	case bool: // draft 4
		s.exclMin = e && s.hasMin
	case float64:
		if !s.hasMin || e >= s.min {
			s.min, s.hasMin, s.exclMin = e, true, true
		}
	}
	switch e := o["exclusiveMaximum"].(type) {
	case bool:
		s.exclMax = e && s.hasMax
	case float64:
		if !s.hasMax || e <= s.max {
			s.max, s.hasMax, s.exclMax = e, true, true
		}
	}
	if f, ok := num(o["multipleOf"]); ok && f > 0 {
		s.multipleOf = f
	}
	s.pattern, _ = o["pattern"].(string)
	if s.pattern != "" {
		s.re, _ = regexp.Compile(s.pattern)
		if re, err := syntax.Parse(s.pattern, syntax.Perl); err == nil && s.re != nil {
			s.syn = re.Simplify()
		}
	}
	s.format, _ = o["format"].(string)
	if len(s.types) == 0 && len(s.enum) == 0 {
		s.types = inferTypes(s)
	}
	return s
}

// inferTypes guesses the type of a schema without one from its keywords.
func inferTypes(s *schema) []string {
	switch {
	case s.props != nil:
		return []string{"object"}
	case s.items != nil || s.minItems > 0 || s.maxItems >= 0 || s.unique:
		return []string{"array"}
	case s.pattern != "" || s.format != "" || s.minLen > 0 || s.maxLen >= 0:
		return []string{"string"}
	case s.hasMin || s.hasMax || s.multipleOf > 0:
		return []string{"number"}
	}
	return nil
}

// primary is the type values are generated as; "" for a typeless schema.
func (s *schema) primary() string {
	if len(s.types) > 0 {
		return s.types[0]
	}
	if len(s.enum) > 0 {
		return jsonType(s.enum[0])
	}
	return ""
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return ""
}

// allows is true when the schema's types admit a value of JSON type t.
func (s *schema) allows(t string) bool {
	if len(s.types) == 0 {
		return true
	}
	return slices.Contains(s.types, t) || (t == "integer" && slices.Contains(s.types, "number"))
}
