package reactor_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/handlers/reactor"
)

var at = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func resolveSub() batch.Submitted {
	return batch.Submitted{AppID: "app-1", BatchID: "b-1", OwnerID: "u-1",
		Environment: app.Environment{Name: "staging", BaseURL: "https://API.shop.test:8443/v1/",
			Headers:   map[string]string{"x-env": "staging", "Accept": "application/json"},
			Variables: map[string]string{"tenant": "acme", "token": "env-token"}},
		Interfaces: []batch.InterfaceRef{{ID: "if-1", Name: "get pet", Method: "GET", Path: "/pets/{id}", Version: 2},
			{ID: "if-2", Name: "add pet", Method: "POST", Path: "/pets", Version: 1, ContentType: "application/vnd.pet+json"}},
		Settings: batch.Settings{TimeoutMS: 1500, DisabledChecks: []string{"not_a_server_error"}}}
}

func TestResolve(t *testing.T) {
	get := func(mod func(*testcase.Request)) testcase.Case {
		c := testcase.Case{ID: "c-1", InterfaceID: "if-1", Request: testcase.Request{Method: "GET", Path: "/pets/{id}",
			PathParams: map[string]any{"id": 7.0}},
			Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}, Extract: map[string]string{"name": "body.name"}}
		if mod != nil {
			mod(&c.Request)
		}
		return c
	}
	tests := []struct {
		name      string
		c         testcase.Case
		extracted map[string]string
		url       string
		headers   map[string]string
		body      string
		err       string
	}{
		{name: "base path prefix kept, param substituted", c: get(nil),
			url: "https://API.shop.test:8443/v1/pets/7", headers: map[string]string{"X-Env": "staging", "Accept": "application/json"}},
		{name: "param path-escaped, query sorted with repeated keys", c: get(func(r *testcase.Request) {
			r.PathParams = map[string]any{"id": "a b/c"}
			r.Query = map[string]any{"tag": []any{"x", 2.0, true}, "q": "one two", "none": nil}
		}), url: "https://API.shop.test:8443/v1/pets/a%20b%2Fc?none=&q=one+two&tag=x&tag=2&tag=true",
			headers: map[string]string{"X-Env": "staging", "Accept": "application/json"}},
		{name: "variables everywhere, environment first then extracted", c: get(func(r *testcase.Request) {
			r.Path = "/t/${tenant}/pets/{id}"
			r.PathParams = map[string]any{"id": "${pet}"}
			r.Query = map[string]any{"owner": "${user}"}
			r.Headers = map[string]string{"authorization": "Bearer ${token}", "x-env": "override"}
			r.Body = json.RawMessage(`{"pet":"${pet}"}`)
		}), extracted: map[string]string{"pet": "p/9", "user": "u 1", "token": "extracted-token"},
			url:     "https://API.shop.test:8443/v1/t/acme/pets/p%2F9?owner=u+1",
			headers: map[string]string{"Authorization": "Bearer env-token", "X-Env": "override", "Accept": "application/json", "Content-Type": "application/json"},
			body:    `{"pet":"p/9"}`},
		{name: "interface content type for a body", c: testcase.Case{ID: "c-2", InterfaceID: "if-2",
			Request: testcase.Request{Path: "/pets", Body: json.RawMessage(`{"name":"rex"}`)}},
			url:     "https://API.shop.test:8443/v1/pets",
			headers: map[string]string{"X-Env": "staging", "Accept": "application/json", "Content-Type": "application/vnd.pet+json"},
			body:    `{"name":"rex"}`},
		{name: "unresolved variables are named", c: get(func(r *testcase.Request) {
			r.Headers = map[string]string{"Authorization": "Bearer ${session}"}
			r.Body = json.RawMessage(`{"a":"${other}"}`)
		}), err: "${session}, ${other}"},
		{name: "missing path parameter", c: get(func(r *testcase.Request) { r.PathParams = nil }), err: "{id}"},
		{name: "unknown interface", c: testcase.Case{ID: "c-3", InterfaceID: "if-9", Request: testcase.Request{Path: "/x"}}, err: `interface "if-9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reactor.Resolve(resolveSub(), tt.c, tt.extracted, at)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Request.URL != tt.url {
				t.Errorf("url\n got %s\nwant %s", got.Request.URL, tt.url)
			}
			if !reflect.DeepEqual(got.Request.Headers, tt.headers) {
				t.Errorf("headers %v, want %v", got.Request.Headers, tt.headers)
			}
			if got.Request.Body != tt.body {
				t.Errorf("body %q, want %q", got.Request.Body, tt.body)
			}
		})
	}
}

func TestResolveCopiesTheFrozenBatch(t *testing.T) {
	sub := resolveSub()
	c := testcase.Case{ID: "c-1", InterfaceID: "if-1", Request: testcase.Request{Path: "/pets/{id}", PathParams: map[string]any{"id": 1.0}},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}, Extract: map[string]string{"name": "body.name"}}
	got, err := reactor.Resolve(sub, c, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	want := batch.CaseExecutionRequested{AppID: "app-1", BatchID: "b-1", CaseID: "c-1", InterfaceID: "if-1",
		Request: batch.HTTPRequest{Method: "GET", URL: "https://API.shop.test:8443/v1/pets/1",
			Headers: map[string]string{"X-Env": "staging", "Accept": "application/json"}},
		Assertions: c.Assertions, Extract: c.Extract,
		Checks:    []string{"status_code_conformance", "content_type_conformance", "response_schema_conformance"},
		Interface: sub.Interfaces[0], AllowHosts: []string{"api.shop.test:8443"}, TimeoutMS: 1500, At: at}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	got.Extract["name"] = "changed"
	if c.Extract["name"] != "body.name" {
		t.Error("the request shares the case's extract map")
	}
}
