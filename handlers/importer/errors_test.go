package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/assay-dev/assay/handlers/importer"
)

const head30 = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"

func TestBrokenDocuments(t *testing.T) {
	t.Parallel()
	many := &strings.Builder{}
	many.WriteString(head30 + "paths:\n")
	for i := range importer.MaxOperations + 1 {
		fmt.Fprintf(many, "  /r%d: {get: {responses: {'200': {description: ok}}}}\n", i)
	}
	tests := []struct {
		name, doc string
		want      []string // parts of the message
	}{
		{"not JSON or YAML", "{ this is: [ broken", []string{"neither JSON nor YAML"}},
		{"not an object", "just some text", []string{"not a JSON or YAML object"}},
		{"JSON array", `[1, 2]`, []string{"not an object"}},
		{"empty", "  \n", []string{"empty"}},
		{"unknown format", `{"name": "my api", "endpoints": []}`, []string{"unrecognized document", "OpenAPI", "Postman"}},
		{"swagger 2.0", `{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}`,
			[]string{"Swagger 2.0", "not supported", "convert", "OpenAPI 3"}},
		{"openapi 4", `{"openapi": "4.0.0", "info": {"title": "t", "version": "1"}, "paths": {}}`, []string{`"4.0.0"`, "not supported"}},
		{"unquoted version", "openapi: 3.0\ninfo: {title: t, version: '1'}\npaths: {}\n", []string{"version string", "quote"}},
		{"postman 2.0", `{"info": {"name": "c", "schema": "https://schema.getpostman.com/json/collection/v2.0.0/collection.json"}, "item": []}`,
			[]string{"v2.1"}},
		{"postman bad shape", `{"info": {"name": "c", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": {"a": 1}}`,
			[]string{"invalid Postman collection"}},
		{"missing paths", head30, []string{"paths"}},
		{"broken $ref", head30 + `paths:
  /pets:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pett'}
components:
  schemas:
    Pet: {type: object}
`, []string{"#/components/schemas/Pett"}},
		{"broken parameter $ref", head30 + `paths:
  /pets:
    get:
      parameters: [{$ref: '#/components/parameters/Limit'}]
      responses: {'200': {description: ok}}
`, []string{"#/components/parameters/Limit"}},
		{"external $ref", head30 + `paths:
  /pets:
    get:
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: 'other.yaml#/Pet'}}}}
`, []string{"external reference", "other.yaml"}},
		{"undeclared path parameter", head30 + `paths:
  /pets/{petId}:
    get:
      responses: {'200': {description: ok}}
`, []string{"GET /pets/{petId}", "path parameters", "petId"}},
		{"missing responses", head30 + "paths:\n  /pets:\n    get: {summary: x}\n", []string{"responses"}},
		{"too many operations", many.String(), []string{"2001 operations", "2000"}},
		{"too large", head30 + "paths: {}\n" + "x-pad: '" + strings.Repeat("a", importer.MaxDocumentBytes) + "'\n", []string{"20 MiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := importer.Parse(context.Background(), []byte(tt.doc))
			var de *importer.DocumentError
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%T), want a *DocumentError", err, err)
			}
			if res != nil {
				t.Errorf("a result with the error: %+v", res)
			}
			for _, w := range tt.want {
				if !strings.Contains(de.Message, w) {
					t.Errorf("message %q does not say %q", de.Message, w)
				}
			}
		})
	}
}

// What a document may hold but an interface cannot: skipped with a warning, not an error.
func TestSkippedParts(t *testing.T) {
	t.Parallel()
	doc := head30 + `paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
      - {name: trace, in: cookie, schema: {type: string}}
    get:
      parameters:
        - {name: id, in: path, required: true, description: overrides, schema: {type: integer}}
        - {name: Accept, in: header, schema: {type: string}}
        - {name: filter, in: query, content: {application/json: {schema: {type: object, properties: {a: {type: string}}}}}}
      responses:
        '2xx': {description: lower case range}
        '299': {description: odd but valid}
        '999': {description: not a status}
    head:
      responses: {'200': {description: ok}}
  /files/naïve path:
    get:
      responses: {'200': {description: ok}}
`
	res, err := importer.Parse(context.Background(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	checkDefinitions(t, res)
	get := find(t, res, "openapi:GET /items/{id}")
	sameJSON(t, "operation parameter wins", get.PathParams, `{"type":"object","required":["id"],"properties":{"id":{"type":"integer","description":"overrides"}}}`)
	sameJSON(t, "parameter from content", get.Query, `{"type":"object","properties":{"filter":{"type":"object","properties":{"a":{"type":"string"}}}}}`)
	if get.Headers != nil {
		t.Errorf("headers %s", get.Headers)
	}
	if got := get.DocumentedStatuses(); strings.Join(got, ",") != "299,2XX" {
		t.Errorf("statuses %v", got)
	}
	if find(t, res, "openapi:HEAD /items/{id}").Method != "HEAD" {
		t.Error("HEAD not imported")
	}
	if p := find(t, res, "openapi:GET /files/naïve path").Path; p != "/files/na%C3%AFve%20path" {
		t.Errorf("path %q", p)
	}
	for _, w := range [][]string{{"cookie", "trace"}, {"Accept", "ignored"}, {"999", "skipped"}} {
		if !hasWarning(res, w...) {
			t.Errorf("no warning with %q in %q", w, res.Warnings)
		}
	}
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := importer.Parse(ctx, []byte(head30+"paths:\n  /a: {get: {responses: {'200': {description: ok}}}}\n"))
	var de *importer.DocumentError
	if !errors.Is(err, context.Canceled) || errors.As(err, &de) {
		t.Errorf("got %v", err)
	}
}
