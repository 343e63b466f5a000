package assert_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
)

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %T %v, want *domain.ValidationError", err, err)
	}
	var out []string
	for _, f := range ve.Fields {
		if f.Message == "" {
			t.Errorf("field %q has no message", f.Field)
		}
		out = append(out, f.Field)
	}
	return out
}

func TestValidTarget(t *testing.T) {
	t.Parallel()
	cases := []struct {
		target string
		want   bool
	}{
		{"status", true},
		{"latency_ms", true},
		{"body", true},
		{"schema", true},
		{"header.Content-Type", true},
		{"header.X-Request-Id", true},
		{"body.data.items.#.id", true},
		{"body.a", true},
		{"", false},
		{"Status", false},
		{"headers.Content-Type", false},
		{"header.", false},
		{"header.Bad Name", false},
		{"header.a:b", false},
		{"body.", false},
		{"bodyx", false},
		{"latency", false},
		{"schema.x", false},
	}
	for _, c := range cases {
		if got := assert.ValidTarget(c.target); got != c.want {
			t.Errorf("ValidTarget(%q) = %v, want %v", c.target, got, c.want)
		}
	}
}

func TestAssertionValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		a      assert.Assertion
		fields []string // nil: valid
	}{
		{"status eq", assert.Assertion{Target: "status", Op: "eq", Value: 200.0}, nil},
		{"status eq int", assert.Assertion{Target: "status", Op: "eq", Value: 200}, nil},
		{"latency lt", assert.Assertion{Target: "latency_ms", Op: "lt", Value: 500.0}, nil},
		{"header contains", assert.Assertion{Target: "header.Content-Type", Op: "contains", Value: "json"}, nil},
		{"body exists without value", assert.Assertion{Target: "body", Op: "exists"}, nil},
		{"body path exists", assert.Assertion{Target: "body.data.id", Op: "exists"}, nil},
		{"schema conforms", assert.Assertion{Target: "schema", Op: "conforms"}, nil},
		{"in a list", assert.Assertion{Target: "status", Op: "in", Value: []any{200.0, 201.0}}, nil},
		{"nin a list", assert.Assertion{Target: "status", Op: "nin", Value: []any{500.0}}, nil},
		{"match a regex", assert.Assertion{Target: "body.name", Op: "match", Value: "^[a-z]+$"}, nil},
		{"type", assert.Assertion{Target: "body.id", Op: "type", Value: "string"}, nil},
		{"length", assert.Assertion{Target: "body.items", Op: "length", Value: 3.0}, nil},
		{"each op with a value", assert.Assertion{Target: "body.x", Op: "gte", Value: false}, nil},

		{"empty target", assert.Assertion{Target: "", Op: "eq", Value: 1.0}, []string{"target"}},
		{"unknown target", assert.Assertion{Target: "cookie.x", Op: "eq", Value: 1.0}, []string{"target"}},
		{"header without name", assert.Assertion{Target: "header.", Op: "exists"}, []string{"target"}},
		{"unknown op", assert.Assertion{Target: "status", Op: "equals", Value: 1.0}, []string{"op"}},
		{"empty op", assert.Assertion{Target: "status"}, []string{"op"}},
		{"eq without value", assert.Assertion{Target: "status", Op: "eq"}, []string{"value"}},
		{"bad regex", assert.Assertion{Target: "body", Op: "match", Value: "("}, []string{"value"}},
		{"regex not a string", assert.Assertion{Target: "body", Op: "match", Value: 5.0}, []string{"value"}},
		{"in not a list", assert.Assertion{Target: "status", Op: "in", Value: 200.0}, []string{"value"}},
		{"nin not a list", assert.Assertion{Target: "status", Op: "nin", Value: "x"}, []string{"value"}},
		{"schema with another op", assert.Assertion{Target: "schema", Op: "eq", Value: 1.0}, []string{"op"}},
		{"everything wrong", assert.Assertion{Target: "?", Op: "?", Value: 1.0}, []string{"op", "target"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.a.Validate()
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
			for _, f := range got {
				if !slices.Contains(c.fields, f) {
					t.Errorf("fields %v name %q, not expected", got, f)
				}
			}
		})
	}
}

func TestValidateAllNamesEachBadAssertionByIndex(t *testing.T) {
	t.Parallel()
	as := []assert.Assertion{
		{Target: "status", Op: "eq", Value: 200.0},
		{Target: "status", Op: "bogus", Value: 1.0},
		{Target: "nope", Op: "exists"},
	}
	got := fieldsOf(t, assert.ValidateAll("assertions", as))
	want := []string{"assertions[1].op", "assertions[2].target"}
	if !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
	if err := assert.ValidateAll("assertions", as[:1]); err != nil {
		t.Errorf("one good assertion: %v", err)
	}
	if err := assert.ValidateAll("assertions", nil); err != nil {
		t.Errorf("no assertions: %v", err)
	}
}

func TestValidateAllCapsTheCount(t *testing.T) {
	t.Parallel()
	ok := assert.Assertion{Target: "status", Op: "eq", Value: 200.0}
	if err := assert.ValidateAll("a", slices.Repeat([]assert.Assertion{ok}, 100)); err != nil {
		t.Errorf("100 assertions: %v", err)
	}
	got := fieldsOf(t, assert.ValidateAll("a", slices.Repeat([]assert.Assertion{ok}, 101)))
	if !slices.Equal(got, []string{"a"}) {
		t.Errorf("101 assertions: fields %v, want [a]", got)
	}
}

func TestOpsAreTheDocumentedOnes(t *testing.T) {
	t.Parallel()
	want := "eq ne gt gte lt lte in nin contains match exists type length conforms"
	if got := strings.Join(assert.Ops, " "); got != want {
		t.Errorf("Ops = %q, want %q (API.md)", got, want)
	}
}
