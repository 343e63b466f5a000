package analysis

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// Param is one parameter or body field of an interface with the classes its schema makes
// applicable. Name is the field's display name as casegen names it: path.id, query.limit,
// header.X-Trace, body.items[0].name.
type Param struct {
	Name     string
	In       string // path, query, header or body
	Required bool
	Classes  []string // in testcase.Classes order
	// Enum is the allowed values (JSON-encoded) of an enumeration: each one, and one value
	// outside them, is a cell of its own.
	Enum []string
}

// paramDepth bounds the walk of nested schemas (casegen goes as deep).
const paramDepth = 8

// Params lists an interface's parameters and body fields, sorted by name, with the classes
// applicable to each: valid always; boundary and out_of_range when a length, value or item
// count is bounded (out_of_range also for multipleOf and uniqueItems); missing_required for
// required ones; wrong_type for typed body fields and numeric or boolean parameters; null for typed, non-nullable body fields (a
// parameter travels as text, it cannot be null); enum for enumerations (which have no
// boundaries); format for a format or a pattern.
func Params(def iface.Definition) []Param {
	var out []Param
	for _, sec := range []struct {
		in  string
		raw json.RawMessage
	}{{"path", def.PathParams}, {"query", def.Query}, {"header", def.Headers}} {
		s := schemaOf(sec.raw)
		props, _ := s["properties"].(map[string]any)
		req := requiredOf(s)
		for _, k := range sortedKeys(props) {
			p, _ := props[k].(map[string]any)
			walk(&out, sec.in, sec.in+"."+k, p, sec.in == "path" || slices.Contains(req, k), 1)
		}
	}
	for _, n := range iface.PathParamNames(def.Path) {
		if !slices.ContainsFunc(out, func(p Param) bool { return p.Name == "path."+n }) {
			out = append(out, Param{Name: "path." + n, In: "path", Required: true, Classes: []string{testcase.Valid}})
		}
	}
	if b := schemaOf(def.Body); b != nil {
		if props, ok := b["properties"].(map[string]any); ok || typeOf(b) == "object" {
			object(&out, "body", props, requiredOf(b), 1)
		} else {
			walk(&out, "body", "body", b, true, 0)
		}
	}
	slices.SortFunc(out, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(out, func(a, b Param) bool { return a.Name == b.Name })
}

func object(out *[]Param, prefix string, props map[string]any, req []string, depth int) {
	for _, k := range sortedKeys(props) {
		p, _ := props[k].(map[string]any)
		walk(out, "body", prefix+"."+k, p, slices.Contains(req, k), depth)
	}
}

// walk adds the field at name and recurses into its properties and items. depth 0 is the
// body itself, which is neither mistyped nor nulled on its own.
func walk(out *[]Param, in, name string, s map[string]any, required bool, depth int) {
	if depth > paramDepth {
		return
	}
	p := Param{Name: name, In: in, Required: required}
	typ := typeOf(s)
	enum, _ := s["enum"].([]any)
	if c, ok := s["const"]; ok && len(enum) == 0 {
		enum = []any{c}
	}
	hasEnum := len(enum) > 0
	for _, e := range enum {
		if b, err := json.Marshal(e); err == nil && !slices.Contains(p.Enum, string(b)) {
			p.Enum = append(p.Enum, string(b))
		}
	}
	bounded, outOnly := false, false
	if !hasEnum {
		switch typ {
		case "string":
			bounded = positive(s, "minLength") || has(s, "maxLength")
		case "integer", "number":
			bounded = has(s, "minimum") || has(s, "maximum") || has(s, "exclusiveMinimum") || has(s, "exclusiveMaximum")
			outOnly = has(s, "multipleOf")
		case "array":
			bounded = positive(s, "minItems") || has(s, "maxItems")
			outOnly, _ = s["uniqueItems"].(bool)
		}
	}
	format := typ == "string" && !hasEnum && (has(s, "format") || has(s, "pattern"))
	for _, c := range testcase.Classes {
		ok := false
		switch c {
		case testcase.Valid:
			ok = true
		case testcase.Boundary:
			ok = bounded
		case testcase.OutOfRange:
			ok = bounded || outOnly
		case testcase.MissingRequired:
			ok = required && in != "path" && depth > 0
		case testcase.WrongType:
			// a parameter travels as text: only a number or a boolean can get the wrong type
			ok = typ != "" && depth > 0 && (in == "body" || typ == "integer" || typ == "number" || typ == "boolean")
		case testcase.Null:
			ok = typ != "" && depth > 0 && in == "body" && !nullable(s)
		case testcase.Enum:
			ok = hasEnum
		case testcase.Format:
			ok = format
		}
		if ok {
			p.Classes = append(p.Classes, c)
		}
	}
	if depth > 0 || typ != "object" {
		*out = append(*out, p) // a body that is not an object is one field
	}
	if hasEnum {
		return
	}
	switch typ {
	case "object":
		props, _ := s["properties"].(map[string]any)
		object(out, name, props, requiredOf(s), depth+1)
	case "array":
		if it, ok := s["items"].(map[string]any); ok {
			walk(out, in, name+"[0]", it, false, depth+1)
		}
	}
}

func schemaOf(raw json.RawMessage) map[string]any {
	var m map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// typeOf is the first non-null type; "object" for a schema with properties and no type.
func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		if t != "null" {
			return t
		}
	case []any:
		for _, x := range t {
			if str, ok := x.(string); ok && str != "null" {
				return str
			}
		}
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return ""
}

func nullable(s map[string]any) bool {
	if b, _ := s["nullable"].(bool); b {
		return true
	}
	if t, ok := s["type"].([]any); ok && slices.Contains(t, any("null")) {
		return true
	}
	return s["type"] == "null"
}

func requiredOf(s map[string]any) []string {
	var out []string
	r, _ := s["required"].([]any)
	for _, x := range r {
		if str, ok := x.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

func has(s map[string]any, k string) bool {
	v, ok := s[k]
	if b, isBool := v.(bool); isBool {
		return b // OpenAPI 3.0's exclusiveMinimum: true qualifies minimum, it is no bound itself
	}
	return ok && v != nil
}

func positive(s map[string]any, k string) bool {
	f, ok := s[k].(float64)
	return ok && f > 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
