// Package importer turns an API description — an OpenAPI 3.0/3.1 document (JSON or YAML) or a
// Postman Collection v2.1 — into interface definitions, for POST /apps/{app_id}/imports.
//
// Every schema it produces is self-contained JSON Schema 2020-12: each $ref is inlined, the
// OpenAPI 3.0 dialect (nullable, boolean exclusiveMinimum, example) is rewritten, and a recursive
// schema is cut after a few levels with the empty schema {} and a warning. What cannot be
// represented (cookie parameters, webhooks, a response code that is not one, …) is skipped and
// reported in Result.Warnings; a document that does not parse or validate is a *DocumentError.
//
// A path template naming a parameter the operation does not declare is rejected (the OpenAPI
// specification requires every path parameter to be declared, and kin-openapi's validation says
// which one is missing). Server URLs are not imported — an app owns its environments — but are
// listed in Result.Servers. Credentials are never imported: OpenAPI Authorization/Accept/
// Content-Type header parameters are ignored (as the specification says), and Postman auth
// settings, Authorization and Cookie headers, and the example values of credential-like query
// parameters are left out.
//
// Postman: folders are flattened ("Folder / Request"), the host ({{baseUrl}}, https://host) is
// stripped, `:name` segments and {{name}} variables in the path become {name} string parameters,
// query parameters and headers become optional string properties, a raw JSON body gives a schema
// inferred from the example (every present field required), and saved example responses give
// the responses.
package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/assay-dev/assay/domain/iface"
)

// Limits on one document.
const (
	MaxDocumentBytes = 20 << 20
	MaxOperations    = 2000
)

// Formats of the documents Parse understands.
const (
	FormatOpenAPI30 = "openapi-3.0"
	FormatOpenAPI31 = "openapi-3.1"
	FormatPostman21 = "postman-2.1"
)

// Result is what one document converts to.
type Result struct {
	Format     string // FormatOpenAPI30, FormatOpenAPI31 or FormatPostman21
	Title      string
	Interfaces []iface.Definition // Source and SourceKey set; each passes Validate()
	Warnings   []string           // what was skipped and why
	Servers    []string           // base URLs the document names; not imported
}

// DocumentError is a document that cannot be imported; Message is meant for a person (the API
// answers 422 with it).
type DocumentError struct {
	Message string
}

func (e *DocumentError) Error() string { return e.Message }

// docErrorf makes a DocumentError; a parser's message can be long, so it is clipped.
func docErrorf(format string, args ...any) *DocumentError {
	return &DocumentError{Message: clip(fmt.Sprintf(format, args...), 2000)}
}

// Parse detects the format (JSON or YAML; OpenAPI by the `openapi` key, Postman v2.1 by
// info.schema) and converts the document. Nothing is partially returned: either an error, or
// every operation that could be represented (the rest listed in Warnings).
func Parse(ctx context.Context, body []byte) (*Result, error) {
	if len(body) > MaxDocumentBytes {
		return nil, docErrorf("the document is %d bytes; at most %d (20 MiB) can be imported", len(body), MaxDocumentBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, docErrorf("the document is empty")
	}
	top, err := decodeTop(body)
	if err != nil {
		return nil, err
	}
	format, err := detect(top)
	if err != nil {
		return nil, err
	}
	var res *Result
	if format == FormatPostman21 {
		res, err = parsePostman(ctx, body, top)
	} else {
		res, err = parseOpenAPI(ctx, body, format)
	}
	if err != nil {
		return nil, err
	}
	res.Format = format
	return res, nil
}

// decodeTop reads the document's top-level object, as JSON when it is JSON and YAML otherwise.
func decodeTop(body []byte) (map[string]any, error) {
	var top map[string]any
	if json.Valid(body) {
		if err := json.Unmarshal(body, &top); err != nil || top == nil {
			return nil, docErrorf("the document is JSON but not an object")
		}
		return top, nil
	}
	var v any
	if err := yaml.Unmarshal(body, &v); err != nil {
		return nil, docErrorf("the document is neither JSON nor YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, docErrorf("the document is not a JSON or YAML object; expected an OpenAPI 3.0/3.1 document or a Postman Collection v2.1")
	}
	return top, nil
}

// detect tells the format from the top-level keys.
func detect(top map[string]any) (string, error) {
	if v, ok := top["swagger"]; ok {
		return "", docErrorf("Swagger %v (OpenAPI 2) is not supported: convert the document to OpenAPI 3 first (for example with swagger2openapi or editor.swagger.io)", v)
	}
	if v, ok := top["openapi"]; ok {
		s, isString := v.(string)
		if !isString {
			return "", docErrorf("the openapi field must be a version string such as \"3.0.3\" or \"3.1.0\" (quote it in YAML), not %v", v)
		}
		switch {
		case s == "3.0" || strings.HasPrefix(s, "3.0."):
			return FormatOpenAPI30, nil
		case s == "3.1" || strings.HasPrefix(s, "3.1."):
			return FormatOpenAPI31, nil
		}
		return "", docErrorf("OpenAPI %q is not supported: only OpenAPI 3.0 and 3.1 documents can be imported", s)
	}
	info, _ := top["info"].(map[string]any)
	schema, _ := info["schema"].(string)
	switch {
	case strings.Contains(schema, "/collection/v2.1"):
		return FormatPostman21, nil
	case strings.Contains(schema, "getpostman.com") || strings.Contains(schema, "postman.com"):
		return "", docErrorf("this Postman collection format (%s) is not supported: export the collection as Collection v2.1", schema)
	}
	return "", docErrorf("unrecognized document: expected an OpenAPI 3.0/3.1 document (with an \"openapi\" field) or a Postman Collection v2.1 (with info.schema)")
}
