// Package iface is the Interface aggregate: one operation of an app's API, with its cases
// and the generations that produced them. ("interface" is a Go keyword.)
package iface

import (
	"bytes"
	"encoding/json"
	"mime"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/testcase"
)

// Response documents one status code's answer.
type Response struct {
	Description string          `json:"description,omitempty"`
	ContentType string          `json:"content_type,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
}

// Definition is an interface as a user defines or imports it. PathParams, Query, Headers
// and Body are JSON Schemas (objects; the first three list their parameters as properties).
type Definition struct {
	Name        string              `json:"name"`
	Method      string              `json:"method"`
	Path        string              `json:"path"`
	Description string              `json:"description,omitempty"`
	Headers     json.RawMessage     `json:"headers,omitempty"`
	PathParams  json.RawMessage     `json:"path_params,omitempty"`
	Query       json.RawMessage     `json:"query,omitempty"`
	Body        json.RawMessage     `json:"body,omitempty"`
	ContentType string              `json:"content_type,omitempty"`
	Responses   map[string]Response `json:"responses,omitempty"`
	// Source is manual, openapi or postman; SourceKey identifies the imported operation so
	// that importing the same document again updates instead of duplicating.
	Source    string `json:"source,omitempty"`
	SourceKey string `json:"source_key,omitempty"`
}

var (
	pathParam   = regexp.MustCompile(`\{([^{}/]+)\}`)
	statusKey   = regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)
	pathAllowed = regexp.MustCompile(`^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/{}]*$`)
)

// PathParamNames lists the {names} in a path, in order.
func PathParamNames(path string) []string {
	var out []string
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// Validate checks every field and reports each bad one.
func (d Definition) Validate() error {
	var p domain.Problems
	p.CheckText("name", d.Name, 1, 300)
	p.CheckText("description", d.Description, 0, 20000)
	p.Check(slices.Contains(testcase.Methods, d.Method), "method", "must be one of %s", strings.Join(testcase.Methods, ", "))
	switch {
	case !strings.HasPrefix(d.Path, "/"):
		p.Add("path", "must start with /")
	case !pathAllowed.MatchString(d.Path) || len(d.Path) > 2000:
		p.Add("path", "must be a URL path of at most 2000 characters (no query, no spaces)")
	}
	for field, s := range map[string]json.RawMessage{"headers": d.Headers, "path_params": d.PathParams, "query": d.Query, "body": d.Body} {
		checkSchema(&p, field, s)
	}
	declared := SchemaProperties(d.PathParams)
	names := PathParamNames(d.Path)
	for _, n := range names {
		p.Check(slices.Contains(declared, n), "path_params", "path parameter {%s} is not declared", n)
	}
	for _, n := range declared {
		p.Check(slices.Contains(names, n), "path_params."+n, "is not in the path")
	}
	if d.ContentType != "" {
		_, _, err := mime.ParseMediaType(d.ContentType)
		p.Check(err == nil && len(d.ContentType) <= 255, "content_type", "is not a media type of at most 255 characters")
	}
	for code, r := range d.Responses {
		p.Check(statusKey.MatchString(code), "responses."+code, "must be a status code, 1XX…5XX or default")
		checkSchema(&p, "responses."+code+".schema", r.Schema)
	}
	p.Check(d.Source == "" || slices.Contains([]string{"manual", "openapi", "postman"}, d.Source), "source", "must be manual, openapi or postman")
	return p.Err()
}

// checkSchema accepts an absent schema or a JSON object (or boolean) schema.
func checkSchema(p *domain.Problems, field string, s json.RawMessage) {
	if len(s) == 0 {
		return
	}
	t := bytes.TrimSpace(s)
	ok := json.Valid(t) && (bytes.HasPrefix(t, []byte("{")) || string(t) == "true" || string(t) == "false" || string(t) == "null")
	p.Check(ok, field, "must be a JSON Schema object")
}

// SchemaProperties lists the property names of an object schema, sorted.
func SchemaProperties(schema json.RawMessage) []string {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		return nil
	}
	out := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DocumentedStatuses lists the response keys, sorted.
func (d Definition) DocumentedStatuses() []string {
	out := make([]string, 0, len(d.Responses))
	for k := range d.Responses {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
