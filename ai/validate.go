package ai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// requestSchema checks a whole request of one interface: its path parameters, query,
// headers and body as one instance {"path_params":…, "query":…, "headers":…, "body":…}.
type requestSchema struct {
	sch   *jsonschema.Schema
	types map[string]map[string][]string // section → parameter → its schema's types
	hdr   map[string]string              // lower-case header name → declared name
	body  bool                           // the interface has a body schema
}

const requestSchemaURL = "mem://assay/request.json"

// newRequestSchema compiles def's schemas into one, formats asserted (a format case must
// fail for its format).
func newRequestSchema(def iface.Definition) (*requestSchema, error) {
	rs := &requestSchema{types: map[string]map[string][]string{}, hdr: map[string]string{}, body: len(def.Body) > 0}
	props := map[string]any{}
	for _, sec := range []struct {
		name string
		raw  json.RawMessage
	}{{"path_params", def.PathParams}, {"query", def.Query}, {"headers", def.Headers}, {"body", def.Body}} {
		if len(sec.raw) == 0 {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(sec.raw))
		if err != nil {
			return nil, fmt.Errorf("ai: %s schema: %w", sec.name, err)
		}
		props[sec.name] = openAPINullable(doc)
		if sec.name != "body" {
			rs.types[sec.name] = paramTypes(doc)
		}
	}
	for n := range rs.types["headers"] {
		rs.hdr[strings.ToLower(n)] = n
	}
	root := map[string]any{"type": "object", "properties": props}
	if rs.body {
		root["required"] = []any{"body"}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(requestSchemaURL, root); err != nil {
		return nil, fmt.Errorf("ai: request schema: %w", err)
	}
	sch, err := c.Compile(requestSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("ai: request schema: %w", err)
	}
	rs.sch = sch
	return rs, nil
}

// openAPINullable turns OpenAPI 3.0's "nullable": true into a type that allows null, as
// domain/casegen reads it, so a null case on a nullable field is not taken for invalid.
func openAPINullable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = openAPINullable(x)
		}
		if b, _ := t["nullable"].(bool); b {
			if typ, ok := t["type"].(string); ok {
				t["type"] = []any{typ, "null"}
			}
		}
	case []any:
		for i, x := range t {
			t[i] = openAPINullable(x)
		}
	}
	return v
}

// paramTypes lists each parameter's declared types.
func paramTypes(doc any) map[string][]string {
	out := map[string][]string{}
	m, _ := doc.(map[string]any)
	ps, _ := m["properties"].(map[string]any)
	for name, p := range ps {
		pm, _ := p.(map[string]any)
		switch t := pm["type"].(type) {
		case string:
			out[name] = []string{t}
		case []any:
			for _, x := range t {
				if s, ok := x.(string); ok {
					out[name] = append(out[name], s)
				}
			}
		}
	}
	return out
}

// verdict is what validating a request found.
type verdict struct {
	valid   bool
	kinds   map[string]bool // the classes the failures belong to ("" for others)
	lenient bool            // a failure under anyOf/oneOf/not: alternatives blur the reason
	detail  string
}

// check validates a case's request.
func (rs *requestSchema) check(pathParams, query map[string]any, headers map[string]string, body json.RawMessage) (verdict, error) {
	inst := map[string]any{"path_params": rs.wire("path_params", pathParams), "query": rs.wire("query", query)}
	h := map[string]any{}
	for k, v := range headers {
		if n, ok := rs.hdr[strings.ToLower(k)]; ok {
			h[n] = v
		}
	}
	inst["headers"] = rs.wire("headers", h)
	if len(body) > 0 {
		b, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			return verdict{}, fmt.Errorf("body: %w", err)
		}
		inst["body"] = b
	}
	err := rs.sch.Validate(inst)
	if err == nil {
		return verdict{valid: true}, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return verdict{}, err
	}
	v := verdict{kinds: map[string]bool{}, detail: strings.Join(strings.Fields(ve.Error()), " ")}
	leaves(ve, false, &v)
	return v, nil
}

// wire gives parameter values the types they have once read from the wire: every value
// travels as text, so "10" is a valid integer parameter and 10 a valid string one.
func (rs *requestSchema) wire(sec string, vals map[string]any) map[string]any {
	out := make(map[string]any, len(vals))
	for k, v := range vals {
		s := text(v)
		out[k] = s
		for _, t := range rs.types[sec][k] {
			switch t {
			case "integer", "number":
				if _, err := strconv.ParseFloat(s, 64); err == nil {
					out[k] = json.Number(s)
				}
			case "boolean":
				if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
					out[k] = b
				}
			}
		}
	}
	return out
}

func leaves(e *jsonschema.ValidationError, under bool, v *verdict) {
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf, *kind.Not:
		under = true
	}
	if len(e.Causes) == 0 {
		v.kinds[kindClass(e.ErrorKind)] = true
		v.lenient = v.lenient || under
		return
	}
	for _, c := range e.Causes {
		leaves(c, under, v)
	}
}

// kindClass is the class of case a failing keyword belongs to.
func kindClass(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Required, *kind.DependentRequired:
		return testcase.MissingRequired
	case *kind.Type:
		if k.Got == "null" {
			return testcase.Null
		}
		return testcase.WrongType
	case *kind.Minimum, *kind.Maximum, *kind.ExclusiveMinimum, *kind.ExclusiveMaximum, *kind.MinLength, *kind.MaxLength,
		*kind.MinItems, *kind.MaxItems, *kind.MultipleOf, *kind.UniqueItems, *kind.MinProperties, *kind.MaxProperties:
		return testcase.OutOfRange
	case *kind.Format, *kind.Pattern:
		return testcase.Format
	case *kind.Enum, *kind.Const:
		return testcase.Enum
	}
	return ""
}

// judge decides whether a case of class with this verdict is what it claims to be, and
// whether it is an invalid request (expects a 4xx). reason is empty when it is.
func judge(class string, v verdict) (invalid bool, reason string) {
	switch class {
	case testcase.Valid, testcase.Boundary:
		if !v.valid {
			return false, "a " + class + " request the schemas reject: " + v.detail
		}
		return false, ""
	case testcase.Enum:
		if v.valid {
			return false, ""
		}
	case testcase.Custom:
		return !v.valid, ""
	}
	if v.valid {
		return false, "an " + class + " request the schemas accept"
	}
	want := class
	if class == testcase.Null && !v.kinds[testcase.Null] && v.kinds[testcase.WrongType] {
		want = testcase.WrongType // a type that does not allow null reports the null as a wrong type
	}
	if !v.kinds[want] {
		return true, "an " + class + " request rejected for another reason: " + v.detail
	}
	if !v.lenient {
		for k := range v.kinds {
			if k != want && !(class == testcase.Null && k == testcase.WrongType) {
				return true, "an " + class + " request with a second problem: " + v.detail
			}
		}
	}
	return true, ""
}
