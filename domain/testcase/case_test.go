package testcase_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/testcase"
)

func good() testcase.Case {
	return testcase.Case{
		ID: "k-1", InterfaceID: "if-1", Name: "get a pet", Class: testcase.Valid, Priority: "P1",
		Request: testcase.Request{Method: "GET", Path: "/pets/{id}", PathParams: map[string]any{"id": 1.0},
			Headers: map[string]string{"Accept": "application/json"}, Body: json.RawMessage(`{"a":1}`)},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}},
		Extract:    map[string]string{"pet_id": "body.id", "etag": "header.ETag"},
		Enabled:    true, Source: "manual",
	}
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %T, want *domain.ValidationError", err)
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestCaseValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		edit   func(*testcase.Case)
		fields []string // nil: valid
	}{
		{"good", func(*testcase.Case) {}, nil},
		{"every class", func(c *testcase.Case) { c.Class = testcase.Format }, nil},
		{"no body, no extract, no assertions", func(c *testcase.Case) { c.Request.Body, c.Extract, c.Assertions = nil, nil, nil }, nil},
		{"variables in the path", func(c *testcase.Case) { c.Request.Path = "/pets/${pet_id}" }, nil},
		{"empty id", func(c *testcase.Case) { c.ID = "" }, []string{"id"}},
		{"id with a dot", func(c *testcase.Case) { c.ID = "k.1" }, []string{"id"}},
		{"id with a wildcard", func(c *testcase.Case) { c.ID = "k*" }, []string{"id"}},
		{"id too long", func(c *testcase.Case) { c.ID = strings.Repeat("k", 65) }, []string{"id"}},
		{"empty name", func(c *testcase.Case) { c.Name = "" }, []string{"name"}},
		{"name too long", func(c *testcase.Case) { c.Name = strings.Repeat("n", 301) }, []string{"name"}},
		{"name not UTF-8", func(c *testcase.Case) { c.Name = "\xff" }, []string{"name"}},
		{"unknown class", func(c *testcase.Case) { c.Class = "happy" }, []string{"class"}},
		{"unknown priority", func(c *testcase.Case) { c.Priority = "P4" }, []string{"priority"}},
		{"unknown source", func(c *testcase.Case) { c.Source = "import" }, []string{"source"}},
		{"lower-case method", func(c *testcase.Case) { c.Request.Method = "get" }, []string{"request.method"}},
		{"unknown method", func(c *testcase.Case) { c.Request.Method = "TRACE" }, []string{"request.method"}},
		{"relative path", func(c *testcase.Case) { c.Request.Path = "pets" }, []string{"request.path"}},
		{"bad header name", func(c *testcase.Case) { c.Request.Headers = map[string]string{"Bad Name": "x"} }, []string{"request.headers.Bad Name"}},
		{"header value with a line break", func(c *testcase.Case) { c.Request.Headers = map[string]string{"X-A": "a\r\nB: c"} }, []string{"request.headers.X-A"}},
		{"body not JSON", func(c *testcase.Case) { c.Request.Body = json.RawMessage(`{a:`) }, []string{"request.body"}},
		{"bad assertion", func(c *testcase.Case) {
			c.Assertions = append(c.Assertions, assert.Assertion{Target: "status", Op: "almost", Value: 1.0})
		}, []string{"assertions[1].op"}},
		{"bad variable name", func(c *testcase.Case) { c.Extract = map[string]string{"1x": "body.id"} }, []string{"extract.1x"}},
		{"bad extract target", func(c *testcase.Case) { c.Extract = map[string]string{"v": "status"} }, []string{"extract.v"}},
		{"extract from body root", func(c *testcase.Case) { c.Extract = map[string]string{"v": "body."} }, []string{"extract.v"}},
		{"several at once", func(c *testcase.Case) { c.ID, c.Class, c.Request.Path = "", "", "x" }, []string{"class", "id", "request.path"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			k := good()
			c.edit(&k)
			err := k.Validate()
			if c.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			got := fieldsOf(t, err)
			for _, f := range c.fields {
				if !slices.Contains(got, f) {
					t.Errorf("fields %v do not name %q", got, f)
				}
			}
			if !slices.IsSorted(got) {
				t.Errorf("fields %v are not sorted", got)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	got := testcase.Case{ID: "k"}.WithDefaults("rules")
	if got.Priority != "P2" || got.Source != "rules" || got.Class != testcase.Custom {
		t.Errorf("defaults = %q %q %q, want P2 rules custom", got.Priority, got.Source, got.Class)
	}
	set := testcase.Case{ID: "k", Priority: "P0", Source: "llm", Class: testcase.Boundary}.WithDefaults("rules")
	if set.Priority != "P0" || set.Source != "llm" || set.Class != testcase.Boundary {
		t.Errorf("set fields were overwritten: %q %q %q", set.Priority, set.Source, set.Class)
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		req  testcase.Request
		want []string
	}{
		{"none", testcase.Request{Method: "GET", Path: "/pets"}, nil},
		{"everywhere, sorted and once each", testcase.Request{
			Method:     "POST",
			Path:       "/users/${uid}/orders/${oid}",
			PathParams: map[string]any{"id": "${pid}", "n": 5.0},
			Query:      map[string]any{"q": "${q}", "list": []any{"${in_list}"}},
			Headers:    map[string]string{"Authorization": "Bearer ${token}"},
			Body:       json.RawMessage(`{"x":"${b}","again":"${uid}"}`),
		}, []string{"b", "in_list", "oid", "pid", "q", "token", "uid"}},
		{"dots and dashes", testcase.Request{Path: "/${user.id}/${api-key}"}, []string{"api-key", "user.id"}},
		{"not references", testcase.Request{Path: "/$uid/${}/${1x}/{id}"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := testcase.Case{Request: c.req}.Variables()
			if !slices.Equal(got, c.want) {
				t.Errorf("Variables() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestEnumerationsAreTheDocumentedOnes(t *testing.T) {
	t.Parallel()
	if got := strings.Join(testcase.Classes, " "); got != "valid boundary out_of_range missing_required wrong_type null enum format custom" {
		t.Errorf("Classes = %s", got)
	}
	if got := strings.Join(testcase.Priorities, " "); got != "P0 P1 P2 P3" {
		t.Errorf("Priorities = %s", got)
	}
	if got := strings.Join(testcase.Sources, " "); got != "llm rules manual" {
		t.Errorf("Sources = %s", got)
	}
}
