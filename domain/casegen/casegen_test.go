package casegen_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// thirtyFields is an object of 30 fields using every keyword the generator knows.
const thirtyFields = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["name", "code", "email", "age", "status", "address", "items"],
  "properties": {
    "name":     {"type": "string", "minLength": 1, "maxLength": 20},
    "code":     {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2,4}$"},
    "email":    {"type": "string", "format": "email"},
    "id":       {"type": "string", "format": "uuid"},
    "created":  {"type": "string", "format": "date-time"},
    "day":      {"type": "string", "format": "date"},
    "site":     {"type": "string", "format": "uri", "maxLength": 60},
    "ip":       {"type": "string", "format": "ipv4"},
    "host":     {"type": "string", "format": "hostname", "minLength": 20},
    "age":      {"type": "integer", "minimum": 0, "maximum": 150},
    "score":    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
    "qty":      {"type": "integer", "minimum": 1, "multipleOf": 5},
    "price":    {"type": "number", "minimum": 0.5, "maximum": 999.99, "multipleOf": 0.01},
    "ratio":    {"type": "number", "minimum": 0, "maximum": 1},
    "status":   {"type": "string", "enum": ["active", "inactive", "banned"]},
    "level":    {"type": "integer", "enum": [1, 2, 3]},
    "flag":     {"type": "boolean"},
    "tags":     {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 10}, "minItems": 1, "maxItems": 5, "uniqueItems": true},
    "scores":   {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 10}, "maxItems": 3},
    "address":  {"type": "object", "required": ["city", "zip"], "properties": {
                   "street": {"type": "string", "minLength": 1},
                   "city":   {"type": "string"},
                   "zip":    {"type": "string", "pattern": "^[0-9]{5}$"}}},
    "items":    {"type": "array", "minItems": 1, "maxItems": 10, "items": {"type": "object", "required": ["sku", "qty"], "properties": {
                   "sku": {"type": "string", "pattern": "^[A-Z0-9]{8}$"},
                   "qty": {"type": "integer", "minimum": 1, "maximum": 99}}}},
    "nickname": {"type": ["string", "null"], "maxLength": 30},
    "color":    {"enum": ["red", "green"]},
    "slug":     {"type": "string", "pattern": "^[a-z]+(-[a-z]+)*$", "minLength": 3, "maxLength": 40},
    "phone":    {"type": "string", "pattern": "^\\+[1-9][0-9]{7,14}$"},
    "count":    {"type": "integer", "exclusiveMaximum": 10},
    "temp":     {"type": "number", "minimum": -40, "maximum": 60},
    "lang":     {"type": "string", "enum": ["en", "fr", "de"]},
    "zipcodes": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{5}$"}, "uniqueItems": true, "maxItems": 4},
    "meta":     {"type": "object", "properties": {"source": {"type": "string"}, "version": {"type": "integer", "minimum": 1}}}
  }
}`

const nested = `{
  "type": "object", "required": ["order"],
  "properties": {"order": {"type": "object", "required": ["lines", "customer"], "properties": {
    "customer": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}, "vip": {"type": "boolean"}}},
    "lines": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "object", "required": ["sku"], "properties": {
      "sku": {"type": "string", "minLength": 4, "maxLength": 8},
      "dims": {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 2, "maxItems": 3}}}}}}}
}`

const enums = `{"type": "object", "required": ["kind"], "properties": {
  "kind": {"type": "string", "enum": ["cat", "dog"]},
  "size": {"type": "integer", "enum": [1, 5, 10]},
  "on":   {"type": "boolean", "enum": [true]},
  "any":  {"enum": ["x", 1, null]}}}`

const formats = `{"type": "object", "required": ["email", "uuid", "at", "day", "uri", "ip", "host"], "properties": {
  "email": {"type": "string", "format": "email"}, "uuid": {"type": "string", "format": "uuid"},
  "at": {"type": "string", "format": "date-time"}, "day": {"type": "string", "format": "date"},
  "uri": {"type": "string", "format": "uri"}, "ip": {"type": "string", "format": "ipv4"},
  "ip6": {"type": "string", "format": "ipv6"}, "host": {"type": "string", "format": "hostname"}}}`

const patterns = `{"type": "object", "required": ["a", "b"], "properties": {
  "a": {"type": "string", "pattern": "^[a-f0-9]{6}$"},
  "b": {"type": "string", "pattern": "^(foo|bar)_[0-9]+$", "maxLength": 10},
  "c": {"type": "string", "pattern": "^[A-Z][a-z]*( [A-Z][a-z]*)*$", "minLength": 5, "maxLength": 15},
  "d": {"type": "string", "pattern": "\\d{3}"}}}`

func definitions() map[string]iface.Definition {
	withBody := func(body string) iface.Definition {
		return iface.Definition{Name: "op", Method: "POST", Path: "/things/{id}",
			PathParams: json.RawMessage(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer","minimum":1}}}`),
			Query: json.RawMessage(`{"type":"object","required":["limit"],"properties":{
				"limit":{"type":"integer","minimum":1,"maximum":100},
				"sort":{"type":"string","enum":["asc","desc"]},
				"q":{"type":"string","minLength":2,"maxLength":5}}}`),
			Headers: json.RawMessage(`{"type":"object","required":["X-Tenant"],"properties":{"X-Tenant":{"type":"string","minLength":3}}}`),
			Body:    json.RawMessage(body), ContentType: "application/json",
			Responses: map[string]iface.Response{"201": {Schema: json.RawMessage(`{"type":"object"}`)}, "422": {}}}
	}
	return map[string]iface.Definition{
		"thirty": withBody(thirtyFields), "nested": withBody(nested), "enums": withBody(enums),
		"formats": withBody(formats), "patterns": withBody(patterns),
	}
}

func compile(t testing.TB, raw json.RawMessage) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("mem://s.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem://s.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks a JSON instance, returning the locations of the leaf errors.
func validate(t *testing.T, s *jsonschema.Schema, instance []byte) (bool, [][]string) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(instance))
	if err != nil {
		t.Fatalf("instance %s: %v", instance, err)
	}
	err = s.Validate(v)
	if err == nil {
		return true, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	var locs [][]string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			locs = append(locs, e.InstanceLocation)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return false, locs
}

// named is the section and location a case's name points at ("body.items[0].sku: …").
func named(c testcase.Case) (string, []string) {
	field, _, _ := strings.Cut(c.Name, ": ")
	field = strings.ReplaceAll(field, "[", ".")
	field = strings.ReplaceAll(field, "]", "")
	parts := strings.Split(field, ".")
	loc := parts[1:]
	if c.Class == testcase.MissingRequired {
		loc = loc[:len(loc)-1] // reported at the object that lacks it
	}
	return parts[0], loc
}

func expectsSuccess(c testcase.Case) bool {
	a := c.Assertions[0]
	if a.Op == "gte" {
		return a.Value.(float64) == 200
	}
	return a.Value.([]any)[0].(float64) < 300
}

func sectionJSON(t *testing.T, c testcase.Case, sec string) []byte {
	var v any
	switch sec {
	case "body":
		return c.Request.Body
	case "query":
		v = c.Request.Query
	case "path":
		v = c.Request.PathParams
	}
	if v == nil || reflect.ValueOf(v).IsNil() {
		v = map[string]any{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCases is the property: valid cases validate; each invalid one fails where it says.
func checkCases(t *testing.T, def iface.Definition, cases []testcase.Case) {
	t.Helper()
	schemas := map[string]*jsonschema.Schema{"body": compile(t, def.Body), "query": compile(t, def.Query), "path": compile(t, def.PathParams)}
	if len(cases) == 0 || cases[0].Class != testcase.Valid {
		t.Fatalf("the first case is not the valid request: %+v", cases)
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if c.Source != "rules" || !c.Enabled || c.Request.Method != def.Method || c.Request.Path != def.Path || c.Reason == "" {
			t.Errorf("%s: bad fields %+v", c.Name, c)
		}
		k, _ := json.Marshal(c.Request)
		if seen[string(k)] {
			t.Errorf("%s: duplicate request", c.Name)
		}
		seen[string(k)] = true
		ok := expectsSuccess(c)
		target, loc := named(c)
		for sec, s := range schemas {
			valid, locs := validate(t, s, sectionJSON(t, c, sec))
			switch {
			case ok || sec != target:
				if !valid {
					t.Errorf("%s (%s): %s should validate; errors at %v", c.Name, c.Class, sec, locs)
				}
			case valid:
				t.Errorf("%s (%s): %s should fail: %s", c.Name, c.Class, sec, sectionJSON(t, c, sec))
			case !slices.ContainsFunc(locs, func(l []string) bool { return slices.Equal(l, loc) }):
				t.Errorf("%s (%s): fails at %v, not at %v", c.Name, c.Class, locs, loc)
			}
		}
		if ok != slices.Contains([]string{testcase.Valid, testcase.Boundary, testcase.Enum}, c.Class) && c.Class != testcase.Enum {
			t.Errorf("%s: class %s expects success=%v", c.Name, c.Class, ok)
		}
	}
}

func TestGeneratedCasesValidateOrFailWhereTheySay(t *testing.T) {
	t.Parallel()
	for name, def := range definitions() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(5) {
				checkCases(t, def, casegen.Generate(def, casegen.Options{Seed: seed}))
			}
		})
	}
}

func TestEveryClassIsGenerated(t *testing.T) {
	t.Parallel()
	def := definitions()["thirty"]
	cases := casegen.Generate(def, casegen.Options{Seed: 1})
	byClass := map[string]int{}
	for _, c := range cases {
		byClass[c.Class]++
	}
	for _, c := range testcase.Classes {
		if c != testcase.Custom && byClass[c] == 0 {
			t.Errorf("no %s case among %v", c, byClass)
		}
	}
	for _, want := range []string{
		"body.name: 1 character over maxLength 20", "body.name: at maxLength 20", "body.items[0].sku: required field missing",
		"body.address.zip: does not match pattern ^[0-9]{5}$", "query.limit: required field missing", "body.email: invalid email \"not-an-email\"",
	} {
		if !slices.ContainsFunc(cases, func(c testcase.Case) bool { return c.Name == want }) {
			t.Errorf("no case %q", want)
		}
	}
	for _, c := range cases {
		want := map[string]string{"valid": "P0", "missing_required": "P1", "wrong_type": "P1", "null": "P3"}[c.Class]
		if want == "" {
			want = "P2"
		}
		if c.Priority != want {
			t.Errorf("%s: priority %s, want %s", c.Name, c.Priority, want)
		}
	}
}

func TestAssertions(t *testing.T) {
	t.Parallel()
	def := definitions()["enums"]
	cases := casegen.Generate(def, casegen.Options{Seed: 1})
	okWant := `[{"target":"status","op":"in","value":[201]},{"target":"schema","op":"conforms"}]`
	badWant := `[{"target":"status","op":"in","value":[422]}]`
	for _, c := range cases {
		got, _ := json.Marshal(c.Assertions)
		if w := map[bool]string{true: okWant, false: badWant}[expectsSuccess(c)]; string(got) != w {
			t.Errorf("%s: %s, want %s", c.Name, got, w)
		}
	}
	def.Responses = nil
	cases = casegen.Generate(def, casegen.Options{Seed: 1})
	got, _ := json.Marshal(cases[0].Assertions)
	if string(got) != `[{"target":"status","op":"gte","value":200},{"target":"status","op":"lt","value":300}]` {
		t.Errorf("valid without documented statuses: %s", got)
	}
	got, _ = json.Marshal(cases[len(cases)-1].Assertions)
	if string(got) != `[{"target":"status","op":"in","value":[400,422]}]` {
		t.Errorf("invalid without documented statuses: %s", got)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	for name, def := range definitions() {
		ids := func(i int) string { return fmt.Sprintf("%s-%d", name, i) }
		a := casegen.Generate(def, casegen.Options{Seed: 42, IDs: ids})
		b := casegen.Generate(def, casegen.Options{Seed: 42, IDs: ids})
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the same seed gave different cases", name)
		}
		if a[0].ID != name+"-0" {
			t.Errorf("%s: id %s", name, a[0].ID)
		}
	}
	def := definitions()["thirty"]
	a := casegen.Generate(def, casegen.Options{Seed: 1})
	b := casegen.Generate(def, casegen.Options{Seed: 2})
	if reflect.DeepEqual(a, b) {
		t.Error("two seeds gave the same cases")
	}
}

func TestMaxCasesKeepsEveryClass(t *testing.T) {
	t.Parallel()
	def := definitions()["thirty"]
	all := casegen.Generate(def, casegen.Options{Seed: 3})
	classes := map[string]bool{}
	for _, c := range all {
		classes[c.Class] = true
	}
	for _, max := range []int{len(classes), 12, 30, 50} {
		cases := casegen.Generate(def, casegen.Options{Seed: 3, MaxCases: max})
		if len(cases) != max {
			t.Errorf("MaxCases %d: %d cases", max, len(cases))
		}
		got := map[string]bool{}
		for _, c := range cases {
			got[c.Class] = true
		}
		if !reflect.DeepEqual(got, classes) {
			t.Errorf("MaxCases %d: classes %v, want %v", max, got, classes)
		}
		checkCases(t, def, cases)
	}
	only := casegen.Generate(def, casegen.Options{Seed: 3, Classes: []string{testcase.Null}})
	if len(only) == 0 {
		t.Fatal("no null cases")
	}
	for _, c := range only {
		if c.Class != testcase.Null {
			t.Errorf("%s: class %s", c.Name, c.Class)
		}
	}
}

func TestNoSchemas(t *testing.T) {
	t.Parallel()
	def := iface.Definition{Name: "list", Method: "GET", Path: "/pets/{id}"}
	cases := casegen.Generate(def, casegen.Options{})
	if len(cases) != 1 || cases[0].Class != testcase.Valid || cases[0].Request.PathParams["id"] == nil || cases[0].Request.Body != nil {
		t.Fatalf("%+v", cases)
	}
}

func TestUnsupportedPatternIsSkippedWithAReason(t *testing.T) {
	t.Parallel()
	def := iface.Definition{Name: "op", Method: "POST", Path: "/x",
		Body: json.RawMessage(`{"type":"object","properties":{"e":{"type":"string","pattern":"(?<=a)b"}}}`)}
	cases := casegen.Generate(def, casegen.Options{Seed: 1})
	if !strings.Contains(cases[0].Reason, "body.e: pattern not supported") {
		t.Errorf("reason %q", cases[0].Reason)
	}
	for _, c := range cases {
		if strings.Contains(c.Name, "pattern") {
			t.Errorf("pattern case %s", c.Name)
		}
	}
}

func BenchmarkGenerate30Fields(b *testing.B) {
	def := definitions()["thirty"]
	for i := 0; b.Loop(); i++ {
		casegen.Generate(def, casegen.Options{Seed: uint64(i)})
	}
}
