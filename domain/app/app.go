// Package app is the App aggregate: a system under test, with a base URL per environment.
package app

import (
	"slices"
	"time"

	"github.com/assay-dev/assay/domain"
)

// Environment is where an app runs: a base URL, default headers and variables for ${name}.
type Environment struct {
	Name      string            `json:"name"`
	BaseURL   string            `json:"base_url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Variables map[string]string `json:"variables,omitempty"`
}

// Definition is everything a user sets on an app.
type Definition struct {
	Name               string        `json:"name"`
	Description        string        `json:"description,omitempty"`
	Environments       []Environment `json:"environments"`
	DefaultEnvironment string        `json:"default_environment"`
	NotifyEmails       []string      `json:"notify_emails,omitempty"`
	// DisabledChecks turns off default response checks (not_a_server_error, …) for this app.
	DisabledChecks []string `json:"disabled_checks,omitempty"`
}

// DefaultChecks are run on every response unless an app disables them.
var DefaultChecks = []string{"not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"}

// Environment finds an environment by name.
func (d Definition) Environment(name string) (Environment, bool) {
	for _, e := range d.Environments {
		if e.Name == name {
			return e, true
		}
	}
	return Environment{}, false
}

// Validate checks every field and reports each bad one.
func (d Definition) Validate() error {
	var p domain.Problems
	p.CheckText("name", d.Name, 1, 200)
	p.CheckText("description", d.Description, 0, 5000)
	p.Check(len(d.Environments) >= 1, "environments", "needs at least one environment")
	p.Check(len(d.Environments) <= 50, "environments", "must have at most 50 environments")
	seen := map[string]bool{}
	for i, e := range d.Environments {
		f := "environments[" + itoa(i) + "]"
		p.CheckText(f+".name", e.Name, 1, 100)
		p.Check(!seen[e.Name], f+".name", "%q is used twice", e.Name)
		seen[e.Name] = true
		p.CheckBaseURL(f+".base_url", e.BaseURL)
		p.CheckHeaders(f+".headers", e.Headers)
		for k := range e.Variables {
			p.Check(domain.ValidVarName(k), f+".variables."+k, "is not a valid variable name")
		}
	}
	if d.DefaultEnvironment != "" {
		_, ok := d.Environment(d.DefaultEnvironment)
		p.Check(ok, "default_environment", "names no environment of the app")
	}
	p.Check(len(d.NotifyEmails) <= 100, "notify_emails", "must have at most 100 addresses")
	p.CheckEmails("notify_emails", d.NotifyEmails)
	for i, c := range d.DisabledChecks {
		p.Check(slices.Contains(DefaultChecks, c), "disabled_checks["+itoa(i)+"]", "must be one of %v", DefaultChecks)
	}
	return p.Err()
}

// normalized fills the defaults: the first environment is the default one.
func (d Definition) normalized() Definition {
	if d.DefaultEnvironment == "" && len(d.Environments) > 0 {
		d.DefaultEnvironment = d.Environments[0].Name
	}
	return d
}

// State is an app as its events left it.
type State struct {
	ID        string
	OwnerID   string
	Def       Definition
	Archived  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Exists is true once the app was created.
func (s State) Exists() bool { return s.ID != "" }

// OwnedBy is true when the app exists and belongs to user: everything else is "not found".
func (s State) OwnedBy(user string) bool { return s.Exists() && s.OwnerID == user }

func itoa(i int) string { return domain.Itoa(i) }
