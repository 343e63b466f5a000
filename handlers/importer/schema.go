package importer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Bounds on inlining $refs.
const (
	maxRecursion   = 3       // a schema is expanded at most this many times on one path
	maxDepth       = 48      // nesting depth of one schema
	maxSchemaNodes = 10_000  // nodes of one schema (one parameter, body or response)
	maxDocNodes    = 500_000 // nodes of every schema of the document together
)

// direction says which side of the exchange a schema describes: readOnly properties are
// dropped from requests and writeOnly ones from responses.
type direction int

const (
	toServer direction = iota
	toClient
)

// schemaConv converts kin-openapi schemas to self-contained JSON Schema 2020-12.
type schemaConv struct {
	openapi30 bool
	docNodes  int
	warn      func(format string, args ...any)
	keywords  map[*openapi3.Schema]map[string]any // each schema's own keywords, read once
}

// walk is one conversion: one parameter, body or response schema.
type walk struct {
	c     *schemaConv
	dir   direction
	where string
	stack map[*openapi3.Schema]int
	depth int
	nodes int
	cut   bool
}

// convert returns the JSON Schema of ref (a map or a boolean), or a *DocumentError when the
// document's schemas expand beyond maxDocNodes.
func (c *schemaConv) convert(ref *openapi3.SchemaRef, dir direction, where string) (any, error) {
	w := &walk{c: c, dir: dir, where: where, stack: map[*openapi3.Schema]int{}}
	out := w.node(ref)
	c.docNodes += w.nodes
	if c.docNodes > maxDocNodes {
		return nil, docErrorf("the document's schemas expand to more than %d nodes once every $ref is inlined", maxDocNodes)
	}
	return out, nil
}

func (w *walk) node(ref *openapi3.SchemaRef) any {
	if ref == nil || ref.Value == nil {
		return map[string]any{}
	}
	s := ref.Value
	if s.Always != nil {
		return *s.Always
	}
	if w.nodes >= maxSchemaNodes {
		if !w.cut {
			w.cut = true
			w.c.warn("%s: schema larger than %d nodes once $refs are inlined; the rest is cut to {}", w.where, maxSchemaNodes)
		}
		return map[string]any{}
	}
	if w.stack[s] >= maxRecursion {
		w.c.warn("%s: recursive schema %s cut to {} after %d levels of recursion", w.where, refName(ref), maxRecursion)
		return map[string]any{}
	}
	if w.depth >= maxDepth {
		w.c.warn("%s: schema nested deeper than %d levels cut to {}", w.where, maxDepth)
		return map[string]any{}
	}
	w.nodes++
	w.stack[s]++
	w.depth++
	defer func() { w.stack[s]--; w.depth-- }()

	m := w.c.ownKeywords(s)
	w.subschemas(s, m)
	if s.DynamicRef != "" {
		w.c.warn("%s: $dynamicRef %q is not supported and was dropped", w.where, s.DynamicRef)
	}
	return w.c.dialect(s, m)
}

// dropped keywords: OpenAPI-only annotations, and identifiers that mean nothing once inlined.
var dropped = []string{
	"nullable", "example", "discriminator", "xml", "externalDocs", "allowEmptyValue",
	"$defs", "$schema", "$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$comment",
}

// ownKeywords is a copy of the schema's own keywords, read once per schema: a schema that many
// $refs name is inlined many times.
func (c *schemaConv) ownKeywords(s *openapi3.Schema) map[string]any {
	m, ok := c.keywords[s]
	if !ok {
		m = keywords(s)
		if c.keywords == nil {
			c.keywords = map[*openapi3.Schema]map[string]any{}
		}
		c.keywords[s] = m
	}
	return maps.Clone(m)
}

// keywords are the schema's own (non-subschema) keywords, as kin-openapi writes them.
func keywords(s *openapi3.Schema) map[string]any {
	v, err := s.MarshalYAML()
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return map[string]any{}
	}
	// kin-openapi's map is made for every keyword; a small one is cheaper to clone.
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !strings.HasPrefix(k, "x-") && !slices.Contains(dropped, k) && !slices.Contains(subschemaKeys, k) {
			out[k] = v
		}
	}
	if t := s.Type.Slice(); len(t) == 1 {
		out["type"] = t[0]
	} else if len(t) > 1 {
		out["type"] = slices.Clone(t)
	}
	return out
}

var subschemaKeys = []string{
	"oneOf", "anyOf", "allOf", "prefixItems", "not", "items", "contains", "propertyNames",
	"if", "then", "else", "contentSchema", "patternProperties", "dependentSchemas", "properties",
	"required", "additionalProperties", "unevaluatedItems", "unevaluatedProperties",
}

func (w *walk) subschemas(s *openapi3.Schema, m map[string]any) {
	for k, list := range map[string]openapi3.SchemaRefs{"oneOf": s.OneOf, "anyOf": s.AnyOf, "allOf": s.AllOf, "prefixItems": s.PrefixItems} {
		if len(list) > 0 {
			out := make([]any, len(list))
			for i, r := range list {
				out[i] = w.node(r)
			}
			m[k] = out
		}
	}
	single := map[string]*openapi3.SchemaRef{
		"not": s.Not, "items": s.Items, "contains": s.Contains, "propertyNames": s.PropertyNames,
		"if": s.If, "then": s.Then, "else": s.Else, "contentSchema": s.ContentSchema,
	}
	for k, r := range single {
		if r != nil {
			m[k] = w.node(r)
		}
	}
	for k, set := range map[string]openapi3.Schemas{"patternProperties": s.PatternProperties, "dependentSchemas": s.DependentSchemas} {
		if len(set) > 0 {
			out := make(map[string]any, len(set))
			for name, r := range set {
				out[name] = w.node(r)
			}
			m[k] = out
		}
	}
	for k, b := range map[string]openapi3.BoolSchema{"additionalProperties": s.AdditionalProperties, "unevaluatedItems": s.UnevaluatedItems, "unevaluatedProperties": s.UnevaluatedProperties} {
		switch {
		case b.Has != nil:
			m[k] = *b.Has
		case b.Schema != nil:
			m[k] = w.node(b.Schema)
		}
	}
	w.properties(s, m)
}

// properties converts the properties, dropping readOnly ones from requests and writeOnly ones
// from responses (and from required).
func (w *walk) properties(s *openapi3.Schema, m map[string]any) {
	required := slices.Clone(s.Required)
	if len(s.Properties) > 0 {
		props := make(map[string]any, len(s.Properties))
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			r := s.Properties[name]
			if r != nil && r.Value != nil && ((w.dir == toServer && r.Value.ReadOnly) || (w.dir == toClient && r.Value.WriteOnly)) {
				required = slices.DeleteFunc(required, func(n string) bool { return n == name })
				continue
			}
			props[name] = w.node(r)
		}
		m["properties"] = props
	}
	if len(required) > 0 {
		m["required"] = required
	}
}

// dialect rewrites what OpenAPI 3.0 says differently from JSON Schema 2020-12.
func (c *schemaConv) dialect(s *openapi3.Schema, m map[string]any) any {
	if s.Example != nil && len(s.Examples) == 0 {
		m["examples"] = []any{s.Example}
	}
	if !c.openapi30 {
		return m
	}
	if s.ExclusiveMin.Bool != nil {
		delete(m, "exclusiveMinimum")
		if *s.ExclusiveMin.Bool && s.Min != nil {
			m["exclusiveMinimum"] = *s.Min
			delete(m, "minimum")
		}
	}
	if s.ExclusiveMax.Bool != nil {
		delete(m, "exclusiveMaximum")
		if *s.ExclusiveMax.Bool && s.Max != nil {
			m["exclusiveMaximum"] = *s.Max
			delete(m, "maximum")
		}
	}
	if !s.Nullable {
		return m
	}
	types := s.Type.Slice()
	if len(types) == 0 {
		// nullable without a type, typically next to allOf/oneOf: null or the schema.
		return map[string]any{"anyOf": []any{m, map[string]any{"type": "null"}}}
	}
	if !slices.Contains(types, "null") {
		m["type"] = append(slices.Clone(types), "null")
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, nil) {
		m["enum"] = append(slices.Clone(s.Enum), nil)
	}
	return m
}

func refName(ref *openapi3.SchemaRef) string {
	if ref.Ref != "" {
		return ref.Ref
	}
	if ref.Value.Title != "" {
		return fmt.Sprintf("%q", ref.Value.Title)
	}
	return "(inline)"
}
