package iface_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/domaintest"
	"github.com/assay-dev/assay/domain/iface"
)

func TestDefinitionValidate(t *testing.T) {
	t.Parallel()
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	cases := []struct {
		name   string
		edit   func(*iface.Definition)
		fields []string // nil: valid
	}{
		{"good", func(*iface.Definition) {}, nil},
		{"no parameters", func(d *iface.Definition) { d.Path, d.PathParams = "/pets", nil }, nil},
		{"root path", func(d *iface.Definition) { d.Path, d.PathParams = "/", nil }, nil},
		{"every method", func(d *iface.Definition) { d.Method = "OPTIONS" }, nil},
		{"boolean and null schemas", func(d *iface.Definition) { d.Body, d.Headers = raw(`true`), raw(` null `) }, nil},
		{"status ranges and default", func(d *iface.Definition) {
			d.Responses = map[string]iface.Response{"2XX": {}, "default": {}, "503": {}}
		}, nil},
		{"media type with parameters", func(d *iface.Definition) { d.ContentType = "application/json; charset=utf-8" }, nil},
		{"imported", func(d *iface.Definition) { d.Source, d.SourceKey = "openapi", "GET /stores/{store}/pets/{id}" }, nil},

		{"empty name", func(d *iface.Definition) { d.Name = "" }, []string{"name"}},
		{"name too long", func(d *iface.Definition) { d.Name = strings.Repeat("n", 301) }, []string{"name"}},
		{"description too long", func(d *iface.Definition) { d.Description = strings.Repeat("d", 20001) }, []string{"description"}},
		{"no method", func(d *iface.Definition) { d.Method = "" }, []string{"method"}},
		{"lower-case method", func(d *iface.Definition) { d.Method = "get" }, []string{"method"}},
		{"unknown method", func(d *iface.Definition) { d.Method = "CONNECT" }, []string{"method"}},
		{"empty path", func(d *iface.Definition) { d.Path, d.PathParams = "", nil }, []string{"path"}},
		{"relative path", func(d *iface.Definition) { d.Path, d.PathParams = "pets", nil }, []string{"path"}},
		{"absolute URL", func(d *iface.Definition) { d.Path, d.PathParams = "http://h/pets", nil }, []string{"path"}},
		{"path with a query", func(d *iface.Definition) { d.Path, d.PathParams = "/pets?limit=1", nil }, []string{"path"}},
		{"path with a space", func(d *iface.Definition) { d.Path, d.PathParams = "/my pets", nil }, []string{"path"}},
		{"path too long", func(d *iface.Definition) { d.Path, d.PathParams = "/"+strings.Repeat("p", 2000), nil }, []string{"path"}},
		{"parameter not declared", func(d *iface.Definition) { d.PathParams = nil }, []string{"path_params"}},
		{"one parameter not declared", func(d *iface.Definition) {
			d.PathParams = raw(`{"type":"object","properties":{"store":{}}}`)
		}, []string{"path_params"}},
		{"declared parameter not in the path", func(d *iface.Definition) { d.Path = "/stores/{store}/pets" }, []string{"path_params.id"}},
		{"declared parameters without any in the path", func(d *iface.Definition) { d.Path = "/pets" }, []string{"path_params.id", "path_params.store"}},
		{"path params not JSON", func(d *iface.Definition) { d.PathParams = raw(`{"properties":`) }, []string{"path_params"}},
		{"headers an array", func(d *iface.Definition) { d.Headers = raw(`[1,2]`) }, []string{"headers"}},
		{"query a string", func(d *iface.Definition) { d.Query = raw(`"object"`) }, []string{"query"}},
		{"body not JSON", func(d *iface.Definition) { d.Body = raw(`{type: object}`) }, []string{"body"}},
		{"bad content type", func(d *iface.Definition) { d.ContentType = "json/" }, []string{"content_type"}},
		{"bad status key", func(d *iface.Definition) { d.Responses = map[string]iface.Response{"600": {}} }, []string{"responses.600"}},
		{"lower-case range", func(d *iface.Definition) { d.Responses = map[string]iface.Response{"2xx": {}} }, []string{"responses.2xx"}},
		{"bad response schema", func(d *iface.Definition) {
			d.Responses = map[string]iface.Response{"200": {Schema: raw(`[]`)}}
		}, []string{"responses.200.schema"}},
		{"unknown source", func(d *iface.Definition) { d.Source = "swagger" }, []string{"source"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := petDef()
			c.edit(&d)
			err := d.Validate()
			if c.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			// Through Decide too: the typed error and no events.
			evs, derr := iface.Decide(iface.State{}, iface.Define{InterfaceID: "if-1", ActorID: owner, App: theApp(t, false), Def: d, At: t0})
			domaintest.MustFail(t, evs, derr, domain.ErrInvalid, c.fields...)
			if !slices.Equal(domaintest.FieldsOf(err), domaintest.FieldsOf(derr)) {
				t.Errorf("Validate names %v, Decide %v", domaintest.FieldsOf(err), domaintest.FieldsOf(derr))
			}
		})
	}
}

func TestPathParamNames(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"/pets":                     nil,
		"/pets/{id}":                {"id"},
		"/a/{x}/b/{y}/c":            {"x", "y"},
		"/files/{name}.{ext}":       {"name", "ext"},
		"/{a}{b}":                   {"a", "b"},
		"/empty/{}":                 nil,
		"/nested/{{x}}":             {"x"},
		"/users/${uid}/orders/{id}": {"uid", "id"},
	}
	for path, want := range cases {
		if got := iface.PathParamNames(path); !slices.Equal(got, want) {
			t.Errorf("PathParamNames(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestSchemaProperties(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		``:                                      nil,
		`not json`:                              nil,
		`{"type":"object"}`:                     {},
		`{"properties":{"b":{},"a":{},"c":{}}}`: {"a", "b", "c"},
		`true`:                                  {},
	}
	for schema, want := range cases {
		got := iface.SchemaProperties(json.RawMessage(schema))
		if !slices.Equal(got, want) {
			t.Errorf("SchemaProperties(%s) = %v, want %v", schema, got, want)
		}
	}
}

func TestDocumentedStatuses(t *testing.T) {
	t.Parallel()
	d := iface.Definition{Responses: map[string]iface.Response{"404": {}, "200": {}, "default": {}, "2XX": {}}}
	if got := d.DocumentedStatuses(); !slices.Equal(got, []string{"200", "2XX", "404", "default"}) {
		t.Errorf("DocumentedStatuses() = %v", got)
	}
	if got := (iface.Definition{}).DocumentedStatuses(); len(got) != 0 {
		t.Errorf("no responses: %v", got)
	}
}
