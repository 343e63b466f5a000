package assert_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain/assert"
)

func TestDefaultChecks(t *testing.T) {
	t.Parallel()
	problem := json.RawMessage(`{"type":"object","required":["title"],"properties":{"title":{"type":"string"}}}`)
	documented := map[string]assert.Documented{
		"200":     {ContentType: "application/json", Schema: schema200},
		"201":     {ContentType: "application/json"}, // no schema
		"204":     {},
		"4XX":     {ContentType: "application/problem+json", Schema: problem},
		"default": {ContentType: "text/*"},
	}
	jsonH := map[string][]string{"Content-Type": {"application/json; charset=utf-8"}}
	problemH := map[string][]string{"Content-Type": {"Application/Problem+JSON"}}
	good := []byte(`{"id":"1","name":"x"}`)
	type want struct {
		pass  bool
		msg   string
		error bool
	}
	cases := []struct {
		name  string
		check string
		r     assert.Response
		docs  map[string]assert.Documented
		want  want
	}{
		{"2xx is no server error", "not_a_server_error", assert.Response{Status: 200}, nil, want{true, "not a server error", false}},
		{"499 is no server error", "not_a_server_error", assert.Response{Status: 499}, nil, want{true, "", false}},
		{"500 is a server error", "not_a_server_error", assert.Response{Status: 500}, nil, want{false, "status was 500, a server error", false}},
		{"503 is a server error", "not_a_server_error", assert.Response{Status: 503}, documented, want{false, "", false}},

		{"status exact", "status_code_conformance", assert.Response{Status: 200}, documented, want{true, `documented (as "200")`, false}},
		{"status by range", "status_code_conformance", assert.Response{Status: 404}, documented, want{true, `(as "4XX")`, false}},
		{"status by lower-case range", "status_code_conformance", assert.Response{Status: 302}, map[string]assert.Documented{"3xx": {}}, want{true, `"3xx"`, false}},
		{"status by default", "status_code_conformance", assert.Response{Status: 503}, documented, want{true, "default response", false}},
		{"status undocumented", "status_code_conformance", assert.Response{Status: 503}, map[string]assert.Documented{"200": {}, "4XX": {}}, want{false, "status 503 is not documented (documented: 200, 4XX)", false}},
		{"status 2XX does not cover 3xx", "status_code_conformance", assert.Response{Status: 301}, map[string]assert.Documented{"2XX": {}}, want{false, "", false}},
		{"status skipped when nothing is documented", "status_code_conformance", assert.Response{Status: 599}, nil, want{true, "skipped: the interface documents no responses", false}},

		{"content type matches ignoring parameters", "content_type_conformance", assert.Response{Status: 200, Headers: jsonH, Body: good}, documented, want{true, "as documented", false}},
		{"content type +json by range, case-insensitive", "content_type_conformance", assert.Response{Status: 422, Headers: problemH, Body: []byte(`{}`)}, documented, want{true, "", false}},
		{"content type mismatch", "content_type_conformance", assert.Response{Status: 422, Headers: jsonH, Body: []byte(`{}`)}, documented, want{false, "Content-Type was application/json, expected application/problem+json", false}},
		{"content type missing", "content_type_conformance", assert.Response{Status: 200, Body: good}, documented, want{false, "no Content-Type", false}},
		{"content type wildcard", "content_type_conformance", assert.Response{Status: 500, Headers: map[string][]string{"Content-Type": {"text/html"}}, Body: []byte("x")}, documented, want{true, "", false}},
		{"content type wildcard mismatch", "content_type_conformance", assert.Response{Status: 500, Headers: jsonH, Body: []byte("x")}, documented, want{false, "expected text/*", false}},
		{"content type skipped: empty body", "content_type_conformance", assert.Response{Status: 200}, documented, want{true, "skipped: the body is empty", false}},
		{"content type skipped: none documented", "content_type_conformance", assert.Response{Status: 204, Body: []byte("x")}, documented, want{true, "skipped: no content type", false}},
		{"content type skipped: status undocumented", "content_type_conformance", assert.Response{Status: 500, Body: []byte("x")}, map[string]assert.Documented{"200": {ContentType: "application/json"}}, want{true, "skipped", false}},

		{"schema conforms", "response_schema_conformance", assert.Response{Status: 200, Headers: jsonH, Body: good}, documented, want{true, `conforms to the schema documented for "200"`, false}},
		{"schema violated", "response_schema_conformance", assert.Response{Status: 200, Headers: jsonH, Body: []byte(`{"id":1,"name":"x"}`)}, documented, want{false, `/id: expected string, got number`, false}},
		{"schema by range", "response_schema_conformance", assert.Response{Status: 404, Headers: problemH, Body: []byte(`{"title":"Not found"}`)}, documented, want{true, `"4XX"`, false}},
		{"schema by range violated", "response_schema_conformance", assert.Response{Status: 404, Headers: problemH, Body: []byte(`{}`)}, documented, want{false, "missing property", false}},
		{"schema: body not JSON", "response_schema_conformance", assert.Response{Status: 200, Headers: jsonH, Body: []byte(`<html>`)}, documented, want{false, "the body is not JSON", false}},
		{"schema: empty body", "response_schema_conformance", assert.Response{Status: 200, Headers: jsonH}, documented, want{false, "the body is empty", false}},
		{"schema: documented content type when the header is missing", "response_schema_conformance", assert.Response{Status: 200, Body: []byte(`[]`)}, documented, want{false, "expected object, got array", false}},
		{"schema skipped: not JSON", "response_schema_conformance", assert.Response{Status: 200, Headers: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("hi")}, documented, want{true, "skipped: the content type text/plain is not JSON", false}},
		{"schema skipped: none documented for the status", "response_schema_conformance", assert.Response{Status: 201, Headers: jsonH, Body: good}, documented, want{true, "skipped: no response schema", false}},
		{"schema skipped: undocumented", "response_schema_conformance", assert.Response{Status: 200, Headers: jsonH, Body: good}, nil, want{true, "skipped", false}},
		{"schema does not compile", "response_schema_conformance", assert.Response{Status: 200, Headers: jsonH, Body: good}, map[string]assert.Documented{"2XX": {ContentType: "application/json", Schema: json.RawMessage(`{"type":"objekt"}`)}}, want{false, `the schema documented for "2XX": bad schema`, true}},
		{"schema not JSON", "response_schema_conformance", assert.Response{Status: 200, Headers: jsonH, Body: good}, map[string]assert.Documented{"200": {ContentType: "application/json", Schema: json.RawMessage(`{`)}}, want{false, "not JSON", true}},

		{"unknown check", "no_such_check", assert.Response{Status: 200}, nil, want{false, "unknown check", true}},
	}
	cache := assert.NewSchemaCache(0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := assert.Evaluate(nil, c.r, assert.Options{Responses: c.docs, Checks: []string{c.check}, Schemas: cache})
			if len(evs) != 1 {
				t.Fatalf("got %d evaluated", len(evs))
			}
			ev := evs[0]
			if ev.Target != "check."+c.check || ev.Op != "check" {
				t.Errorf("target %q op %q", ev.Target, ev.Op)
			}
			if ev.Passed != c.want.pass {
				t.Errorf("Passed = %v, want %v (%s)", ev.Passed, c.want.pass, ev.Message)
			}
			if !strings.Contains(ev.Message, c.want.msg) {
				t.Errorf("message %q does not contain %q", ev.Message, c.want.msg)
			}
			if c.want.error != (err != nil) || c.want.error != (ev.Error != "") {
				t.Errorf("err = %v, Error = %q, want an error: %v", err, ev.Error, c.want.error)
			}
			if c.want.error && !errors.Is(err, assert.ErrCannotEvaluate) {
				t.Errorf("err = %v, not ErrCannotEvaluate", err)
			}
		})
	}
}

func TestAllChecksTogether(t *testing.T) {
	t.Parallel()
	r := assert.Response{Status: 200, Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"1","name":"x"}`)}
	docs := map[string]assert.Documented{"200": {ContentType: "application/json", Schema: schema200}}
	evs, err := assert.Evaluate([]assert.Assertion{a("status", "eq", 200)}, r, assert.Options{Responses: docs, Checks: assert.Checks})
	if err != nil || len(evs) != 5 {
		t.Fatalf("Evaluate = %d, %v", len(evs), err)
	}
	for i, name := range assert.Checks {
		if evs[i+1].Target != "check."+name || !evs[i+1].Passed {
			t.Errorf("evaluated %d = %+v", i+1, evs[i+1])
		}
	}
	if got := assert.Outcome(evs, err); got != "passed" {
		t.Errorf("Outcome = %s", got)
	}
}
