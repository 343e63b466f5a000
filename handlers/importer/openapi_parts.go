package importer

import (
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/assay-dev/assay/domain/iface"
)

// ignoredHeaders are header parameters the OpenAPI specification says to ignore: the request's
// content type and credentials are not parameters (an app's environment carries credentials).
var ignoredHeaders = []string{"accept", "content-type", "authorization"}

// parameters merges the path item's parameters with the operation's (the operation's win) and
// sorts them into the path, query and header schemas.
func (c *oaConv) parameters(d *iface.Definition, where string, shared, own openapi3.Parameters) error {
	type key struct{ in, name string }
	merged := map[key]*openapi3.Parameter{}
	var order []key
	for _, list := range []openapi3.Parameters{shared, own} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				continue
			}
			k := key{ref.Value.In, ref.Value.Name}
			if _, ok := merged[k]; !ok {
				order = append(order, k)
			}
			merged[k] = ref.Value
		}
	}
	sets := map[string]*objectSchema{"path": {}, "query": {}, "header": {}}
	for _, k := range order {
		p := merged[k]
		set, ok := sets[p.In]
		switch {
		case !ok:
			c.warnf("%s: %s parameter %q is not imported", where, p.In, p.Name)
			continue
		case p.In == "header" && slices.Contains(ignoredHeaders, strings.ToLower(p.Name)):
			c.warnf("%s: header parameter %q is ignored (OpenAPI ignores Accept, Content-Type and Authorization parameters)", where, p.Name)
			continue
		}
		schema, err := c.paramSchema(p, where)
		if err != nil {
			return err
		}
		set.add(p.Name, schema, p.Required || p.In == "path")
	}
	var err error
	if d.PathParams, err = sets["path"].raw(); err != nil {
		return err
	}
	if d.Query, err = sets["query"].raw(); err != nil {
		return err
	}
	d.Headers, err = sets["header"].raw()
	return err
}

// paramSchema is a parameter's schema, from `schema` or else from its `content`, with the
// parameter's description, deprecation and example folded in.
func (c *oaConv) paramSchema(p *openapi3.Parameter, where string) (any, error) {
	ref := p.Schema
	if ref == nil {
		if _, mt, _ := pickMedia(p.Content); mt != nil {
			ref = mt.Schema
		}
	}
	s, err := c.schemas.convert(ref, toServer, where+" "+p.In+" parameter "+p.Name)
	if err != nil {
		return nil, err
	}
	m, ok := s.(map[string]any)
	if !ok {
		return s, nil
	}
	if _, has := m["description"]; !has && p.Description != "" {
		m["description"] = p.Description
	}
	if p.Deprecated {
		m["deprecated"] = true
	}
	if _, has := m["examples"]; !has && p.Example != nil {
		m["examples"] = []any{p.Example}
	}
	return m, nil
}

func (c *oaConv) requestBody(d *iface.Definition, where string, ref *openapi3.RequestBodyRef) error {
	if ref == nil || ref.Value == nil {
		return nil
	}
	mediaType, mt, skipped := pickMedia(ref.Value.Content)
	if mt == nil {
		return nil
	}
	if len(skipped) > 0 {
		c.warnf("%s: request body imported as %s; not imported: %s", where, mediaType, strings.Join(skipped, ", "))
	}
	d.ContentType = mediaType
	if mt.Schema == nil {
		return nil
	}
	s, err := c.schemas.convert(mt.Schema, toServer, where+" request body")
	if err != nil {
		return err
	}
	d.Body, err = marshalSchema(s)
	return err
}

func (c *oaConv) responses(d *iface.Definition, where string, responses *openapi3.Responses) error {
	all := responses.Map()
	for _, code := range slices.Sorted(maps.Keys(all)) {
		ref := all[code]
		if ref == nil || ref.Value == nil {
			continue
		}
		key := strings.ToUpper(code)
		if key == "DEFAULT" {
			key = "default"
		}
		if !statusKey.MatchString(key) {
			c.warnf("%s: response %q is not a status code and was skipped", where, code)
			continue
		}
		r := iface.Response{}
		if ref.Value.Description != nil {
			r.Description = clip(*ref.Value.Description, 20000)
		}
		mediaType, mt, _ := pickMedia(ref.Value.Content)
		r.ContentType = mediaType
		if mt != nil && mt.Schema != nil {
			s, err := c.schemas.convert(mt.Schema, toClient, where+" response "+code)
			if err != nil {
				return err
			}
			if r.Schema, err = marshalSchema(s); err != nil {
				return err
			}
		}
		if d.Responses == nil {
			d.Responses = map[string]iface.Response{}
		}
		d.Responses[key] = r
	}
	return nil
}

// pickMedia chooses one media type of content: application/json, else another JSON type
// (application/problem+json, …), else the first by name. skipped lists the others.
func pickMedia(content openapi3.Content) (string, *openapi3.MediaType, []string) {
	if len(content) == 0 {
		return "", nil, nil
	}
	names := slices.Sorted(maps.Keys(content))
	best := names[0]
	for _, n := range names {
		if isJSON(n) && (!isJSON(best) || mediaBase(n) == "application/json") {
			best = n
			if mediaBase(n) == "application/json" {
				break
			}
		}
	}
	skipped := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == best })
	return best, content[best], skipped
}

func mediaBase(mediaType string) string {
	base, _, _ := strings.Cut(mediaType, ";")
	return strings.ToLower(strings.TrimSpace(base))
}

func isJSON(mediaType string) bool {
	b := mediaBase(mediaType)
	return b == "application/json" || strings.HasSuffix(b, "+json") || strings.HasSuffix(b, "/json")
}
