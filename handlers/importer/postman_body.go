package importer

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/iface"
)

// maxInferDepth bounds the nesting of a schema inferred from an example.
const maxInferDepth = 32

// rawLanguages maps a raw body's language to its media type.
var rawLanguages = map[string]string{
	"json": "application/json", "xml": "application/xml", "html": "text/html",
	"javascript": "application/javascript", "text": "text/plain", "": "text/plain",
}

// body is a request body's schema and media type.
func (c *pmConv) body(b *pmBody, label string) (any, string) {
	switch b.Mode {
	case "raw":
		lang := strings.ToLower(b.Options.Raw.Language)
		raw := strings.TrimSpace(b.Raw)
		if raw == "" {
			return nil, ""
		}
		if lang == "json" || (lang == "" && (raw[0] == '{' || raw[0] == '[')) {
			if s, ok := inferJSON(raw); ok {
				return s, "application/json"
			}
			c.warnf("%q: the raw JSON body does not parse; imported as a string", label)
		}
		mediaType, ok := rawLanguages[lang]
		if !ok {
			mediaType = "text/plain"
		}
		return map[string]any{"type": "string"}, mediaType
	case "urlencoded", "formdata":
		form := &objectSchema{}
		for _, f := range dropUnnamed(slices.Concat(b.URLEncoded, b.FormData)) {
			s := map[string]any{"type": "string"}
			if f.Type == "file" {
				s["format"] = "binary"
			}
			form.add(f.Key, describe(s, f), false)
		}
		s := map[string]any{"type": "object"}
		if form.props != nil {
			s["properties"] = form.props
		}
		if b.Mode == "urlencoded" {
			return s, "application/x-www-form-urlencoded"
		}
		return s, "multipart/form-data"
	case "graphql":
		return map[string]any{"type": "object", "required": []string{"query"}, "properties": map[string]any{
			"query": map[string]any{"type": "string"}, "variables": map[string]any{"type": "object"},
		}}, "application/json"
	case "file":
		return map[string]any{"type": "string", "format": "binary"}, "application/octet-stream"
	case "":
		return nil, ""
	}
	c.warnf("%q: body mode %q is not supported and was skipped", label, b.Mode)
	return nil, ""
}

// inferJSON infers a schema from a JSON example. {{variables}} standing for values are read as
// null (any type) when the example does not parse with them.
func inferJSON(raw string) (any, bool) {
	v, err := decodeJSON(raw)
	if err != nil {
		if v, err = decodeJSON(postmanVar.ReplaceAllString(raw, "null")); err != nil {
			return nil, false
		}
	}
	return infer(v, 0), true
}

func decodeJSON(raw string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, &json.SyntaxError{}
	}
	return v, nil
}

// infer is the schema of an example value: the types of each field, every present field required,
// an array's items as its first element.
func infer(v any, depth int) any {
	if depth >= maxInferDepth {
		return map[string]any{}
	}
	switch v := v.(type) {
	case map[string]any:
		props := make(map[string]any, len(v))
		for k, x := range v {
			props[k] = infer(x, depth+1)
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(v) > 0 {
			s["required"] = slices.Sorted(maps.Keys(v))
		}
		return s
	case []any:
		s := map[string]any{"type": "array"}
		if len(v) > 0 {
			s["items"] = infer(v[0], depth+1)
		}
		return s
	case string:
		return map[string]any{"type": "string"}
	case json.Number:
		if _, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return map[string]any{"type": "integer"}
		}
		return map[string]any{"type": "number"}
	case bool:
		return map[string]any{"type": "boolean"}
	}
	return map[string]any{}
}

// responses documents the saved example responses: per status code, the first example's name,
// media type and a schema inferred from its JSON body.
func (c *pmConv) responses(examples []pmResponse, label string) map[string]iface.Response {
	var out map[string]iface.Response
	for _, ex := range examples {
		code := strconv.Itoa(ex.Code)
		if !statusKey.MatchString(code) {
			if ex.Code != 0 {
				c.warnf("%q: example response %q has status %d and was skipped", label, ex.Name, ex.Code)
			}
			continue
		}
		if _, dup := out[code]; dup {
			continue
		}
		r := iface.Response{Description: clip(ex.Name, 20000)}
		for _, h := range readHeaders(ex.Header) {
			if strings.EqualFold(h.Key, "content-type") {
				r.ContentType = validMediaType(str(h.Value))
			}
		}
		body := bytes.TrimSpace([]byte(ex.Body))
		if len(body) > 0 && (ex.Lang == "json" || isJSON(r.ContentType) || json.Valid(body)) {
			if s, ok := inferJSON(string(body)); ok {
				r.Schema, _ = marshalSchema(s)
				r.ContentType = cmpOr(r.ContentType, "application/json")
			}
		}
		if out == nil {
			out = map[string]iface.Response{}
		}
		out[code] = r
	}
	return out
}
