// Package assert is the assertion model: what a case expects of a response.
package assert

import (
	"regexp"
	"slices"
	"strings"

	"github.com/assay-dev/assay/domain"
)

// Assertion is one expectation: target op value (value unused by exists and conforms).
type Assertion struct {
	Target string `json:"target"`
	Op     string `json:"op"`
	Value  any    `json:"value,omitempty"`
}

// Evaluated is an assertion checked against a response.
type Evaluated struct {
	Target   string `json:"target"`
	Op       string `json:"op"`
	Expected any    `json:"expected,omitempty"`
	Actual   any    `json:"actual,omitempty"`
	Passed   bool   `json:"passed"`
	Message  string `json:"message"`
	// Error is why the assertion could not be evaluated (a bad path, regex, schema or value);
	// the case then ends errored. Empty when it was evaluated, passed or not.
	Error string `json:"error,omitempty"`
}

// Ops are the operators API.md defines.
var Ops = []string{"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "match", "exists", "type", "length", "conforms"}

var noValue = []string{"exists", "conforms"}

var headerTarget = regexp.MustCompile("^header\\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// ValidTarget is true for status, latency_ms, header.<Name>, body, body.<path>, schema.
func ValidTarget(t string) bool {
	switch {
	case t == "status", t == "latency_ms", t == "body", t == "schema":
		return true
	case strings.HasPrefix(t, "header."):
		return headerTarget.MatchString(t)
	case strings.HasPrefix(t, "body."):
		return len(t) > len("body.")
	}
	return false
}

// Validate checks one assertion's shape; a bad gjson path or regex is found when evaluated
// (the case then ends errored with the reason), so that the model stays stdlib-only here.
func (a Assertion) Validate() error {
	var p domain.Problems
	p.Check(ValidTarget(a.Target), "target", "must be status, latency_ms, header.<Name>, body, body.<path> or schema")
	p.Check(slices.Contains(Ops, a.Op), "op", "must be one of %s", strings.Join(Ops, ", "))
	if !slices.Contains(noValue, a.Op) && a.Value == nil && a.Op != "" {
		p.Add("value", "is required for op %q", a.Op)
	}
	if a.Op == "match" {
		s, ok := a.Value.(string)
		_, err := regexp.Compile(s)
		p.Check(ok && err == nil, "value", "must be a valid regular expression")
	}
	if a.Op == "in" || a.Op == "nin" {
		_, ok := a.Value.([]any)
		p.Check(ok, "value", "must be a list for op %q", a.Op)
	}
	if a.Target == "schema" {
		p.Check(a.Op == "conforms", "op", "the schema target takes only conforms")
	}
	return p.Err()
}

// ValidateAll checks a list of assertions, naming each bad one by index.
func ValidateAll(field string, as []Assertion) error {
	var p domain.Problems
	p.Check(len(as) <= 100, field, "must have at most 100 assertions")
	for i, a := range as {
		p.Merge(field+"["+domain.Itoa(i)+"]", a.Validate())
	}
	return p.Err()
}
