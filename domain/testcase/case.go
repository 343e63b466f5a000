// Package testcase is the Case: one request and what its response must satisfy.
package testcase

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
)

// Classes of cases; each says what kind of input it sends.
const (
	Valid           = "valid"
	Boundary        = "boundary"
	OutOfRange      = "out_of_range"
	MissingRequired = "missing_required"
	WrongType       = "wrong_type"
	Null            = "null"
	Enum            = "enum"
	Format          = "format"
	Custom          = "custom"
)

// Classes lists every class.
var Classes = []string{Valid, Boundary, OutOfRange, MissingRequired, WrongType, Null, Enum, Format, Custom}

// Sources of cases.
var Sources = []string{"llm", "rules", "manual"}

// Priorities from most to least important.
var Priorities = []string{"P0", "P1", "P2", "P3"}

// Methods a request may use.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// Request is what a case sends, before variables are substituted.
type Request struct {
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	PathParams map[string]any    `json:"path_params,omitempty"`
	Query      map[string]any    `json:"query,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       json.RawMessage   `json:"body,omitempty"`
}

// Case is one test case of an interface.
type Case struct {
	ID           string             `json:"id"`
	InterfaceID  string             `json:"interface_id"`
	Name         string             `json:"name"`
	Class        string             `json:"class"`
	Priority     string             `json:"priority"`
	Request      Request            `json:"request"`
	Assertions   []assert.Assertion `json:"assertions"`
	Extract      map[string]string  `json:"extract,omitempty"`
	Enabled      bool               `json:"enabled"`
	Source       string             `json:"source"`
	GenerationID string             `json:"generation_id,omitempty"`
	// Reason says what a generated case tests ("name longer than maxLength 20").
	Reason string `json:"reason,omitempty"`
}

var extractTarget = regexp.MustCompile(`^(body\..+|header\.[A-Za-z0-9-]+)$`)

// Validate checks a case's own fields; its fit with the interface is the aggregate's job.
func (c Case) Validate() error {
	var p domain.Problems
	p.CheckID("id", c.ID)
	p.CheckText("name", c.Name, 1, 300)
	p.Check(slices.Contains(Classes, c.Class), "class", "must be one of %s", strings.Join(Classes, ", "))
	p.Check(slices.Contains(Priorities, c.Priority), "priority", "must be one of P0, P1, P2, P3")
	p.Check(slices.Contains(Sources, c.Source), "source", "must be llm, rules or manual")
	p.Check(slices.Contains(Methods, c.Request.Method), "request.method", "must be one of %s", strings.Join(Methods, ", "))
	p.Check(strings.HasPrefix(c.Request.Path, "/"), "request.path", "must start with /")
	p.CheckHeaders("request.headers", c.Request.Headers)
	if len(c.Request.Body) > 0 {
		p.Check(json.Valid(c.Request.Body), "request.body", "must be JSON")
	}
	p.Merge("", assert.ValidateAll("assertions", c.Assertions))
	for name, target := range c.Extract {
		p.Check(domain.ValidVarName(name), "extract."+name, "is not a valid variable name")
		p.Check(extractTarget.MatchString(target), "extract."+name, "must be body.<path> or header.<Name>")
	}
	return p.Err()
}

// WithDefaults fills priority and source when they are empty.
func (c Case) WithDefaults(source string) Case {
	if c.Priority == "" {
		c.Priority = "P2"
	}
	if c.Source == "" {
		c.Source = source
	}
	if c.Class == "" {
		c.Class = Custom
	}
	return c
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.-]{0,63})\}`)

// Variables lists the ${name} references in a case's path, query, headers and body.
func (c Case) Variables() []string {
	var out []string
	add := func(s string) {
		for _, m := range varRef.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	add(c.Request.Path)
	for _, v := range c.Request.PathParams {
		add(toText(v))
	}
	for _, v := range c.Request.Query {
		add(toText(v))
	}
	for _, v := range c.Request.Headers {
		add(v)
	}
	add(string(c.Request.Body))
	slices.Sort(out)
	return out
}

func toText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
