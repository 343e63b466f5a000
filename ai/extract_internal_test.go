package ai

import (
	"strings"
	"testing"
)

func TestExtractJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		repaired bool
	}{
		{`{"cases":[]}`, `{"cases":[]}`, false},
		{"prose {\"a\":\"}{\"} more prose", `{"a":"}{"}`, false},
		{"```\n[1,2]\n```", `[1,2]`, false},
		{"```json\n{\"cases\":[{\"a\":1}]}\n```\nanything after", `{"cases":[{"a":1}]}`, false},
		// Truncated: the partial last case goes, whatever was cut inside it.
		{`{"cases":[{"a":1},{"b":"unfinished str`, `{"cases":[{"a":1}]}`, true},
		{`{"cases":[{"a":1},{"b":{"c":[1,2`, `{"cases":[{"a":1}]}`, true},
		{`{"cases":[{"a":1},`, `{"cases":[{"a":1}]}`, true},
		{`{"cases":[{"a":"x\"y"}`, `{"cases":[{"a":"x\"y"}]}`, true},
		{`[{"a":1},{"a":`, `[{"a":1}]`, true},
		// Nothing whole before the cut inside the first case: keep what is whole in it.
		{`{"cases":[{"a":1,"b":`, `{"cases":[]}`, true},
		// Trailing commas, a common slip.
		{`{"cases":[{"a":1,},]}`, `{"cases":[{"a":1}]}`, true},
	} {
		got, rep, err := extractJSON(tc.in)
		if err != nil || string(got) != tc.want || rep != tc.repaired {
			t.Errorf("extractJSON(%q) = %s, %v, %v; want %s, %v", tc.in, got, rep, err, tc.want, tc.repaired)
		}
	}
	for _, bad := range []string{"no json here", `{"a":1 "b":2}`, "]"} {
		if got, _, err := extractJSON(bad); err == nil {
			t.Errorf("extractJSON(%q) = %s, want an error", bad, got)
		}
	}
}

func TestParseCasesMapsNames(t *testing.T) {
	t.Parallel()
	cs, _, err := parseCases(`[{"Test Name":"x","Category":"Boundary Value","Expected Status Code":422,"Request":{"Query String":{"q":"a"}}}]`)
	if err != nil || len(cs) != 1 {
		t.Fatal(cs, err)
	}
	c := cs[0]
	if c.Name != "x" || c.Class != "boundary" || c.ExpectedStatus != 422 || c.Query["q"] != "a" {
		t.Errorf("%+v", c)
	}
	if _, _, err := parseCases(`{"foo":1}`); err == nil || !strings.Contains(err.Error(), "no list") {
		t.Errorf("no cases: %v", err)
	}
}
