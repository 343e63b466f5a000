package batch

import (
	"slices"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// Limits of one batch.
const (
	MaxCases          = 100_000
	DefaultConcurrent = 10
	DefaultTimeoutMS  = 30_000
)

func decideSubmit(s State, c Submit) ([]domain.Event, error) {
	if !c.App.Exists() || !domain.May(c.ActorID, c.App.OwnerID) {
		return nil, domain.NotFound("app", c.App.ID)
	}
	set := withDefaults(c.Settings)
	var p domain.Problems
	p.CheckID("batch_id", c.BatchID)
	checkSettings(&p, set)
	envName := c.Selection.Environment
	if envName == "" {
		envName = c.App.Def.DefaultEnvironment
	}
	env, ok := c.App.Def.Environment(envName)
	p.Check(ok, "environment", "names no environment of the app")
	cases, refs := selectCases(&p, c)
	if err := p.Err(); err != nil {
		return nil, err
	}
	if c.App.Archived {
		return nil, domain.Conflict("app %q is archived and takes no new batches", c.App.ID)
	}
	if s.Exists() {
		return nil, domain.Conflict("batch %q already exists", c.BatchID)
	}
	if len(cases) == 0 {
		return nil, domain.Invalid("selection", "selects no enabled case")
	}
	if len(cases) > MaxCases {
		return nil, domain.Invalid("selection", "selects %d cases; a batch takes at most %d", len(cases), MaxCases)
	}
	if _, err := Dependencies(cases, env.Variables); err != nil {
		return nil, err
	}
	set.NotifyEmails = union(c.App.Def.NotifyEmails, set.NotifyEmails)
	set.DisabledChecks = c.App.Def.DisabledChecks
	return []domain.Event{Submitted{AppID: c.App.ID, BatchID: c.BatchID, OwnerID: c.App.OwnerID, Environment: env,
		Interfaces: refs, Cases: cases, Settings: set, At: c.At}}, nil
}

func withDefaults(s Settings) Settings {
	if s.Concurrency == 0 {
		s.Concurrency = DefaultConcurrent
	}
	if s.TimeoutMS == 0 {
		s.TimeoutMS = DefaultTimeoutMS
	}
	return s
}

func checkSettings(p *domain.Problems, s Settings) {
	p.Check(s.Concurrency >= 1 && s.Concurrency <= 1000, "concurrency", "must be between 1 and 1000")
	p.Check(s.RatePerSecond >= 0 && s.RatePerSecond <= 100_000, "rate_per_second", "must be between 0 (unlimited) and 100000")
	p.Check(s.TimeoutMS >= 1 && s.TimeoutMS <= 300_000, "timeout_ms", "must be between 1 and 300000")
	p.Check(len(s.NotifyEmails) <= 100, "notify_emails", "must have at most 100 addresses")
	p.CheckEmails("notify_emails", s.NotifyEmails)
}

// selectCases picks the enabled cases the selection names (all of the app's when it names
// none) and the interfaces they belong to, in a stable order.
func selectCases(p *domain.Problems, c Submit) ([]testcase.Case, []InterfaceRef) {
	live := map[string]iface.State{}
	var order []string
	for _, i := range c.Interfaces {
		if i.Exists() && i.AppID == c.App.ID {
			live[i.ID] = i
			order = append(order, i.ID)
		}
	}
	want := map[string]bool{}
	for n, id := range c.Selection.InterfaceIDs {
		_, ok := live[id]
		p.Check(ok, "interface_ids["+domain.Itoa(n)+"]", "names no interface of the app")
		want[id] = true
	}
	named := map[string]bool{}
	for n, id := range c.Selection.CaseIDs {
		named[id] = true
		p.Check(caseExists(live, id), "case_ids["+domain.Itoa(n)+"]", "names no case of the app")
	}
	var cases []testcase.Case
	var refs []InterfaceRef
	for _, id := range order {
		if len(want) > 0 && !want[id] {
			continue
		}
		i := live[id]
		n := len(cases)
		for _, k := range i.EnabledCases() {
			if len(named) == 0 || named[k.ID] {
				cases = append(cases, k)
			}
		}
		if len(cases) > n {
			refs = append(refs, refOf(i))
		}
	}
	return cases, refs
}

func caseExists(live map[string]iface.State, id string) bool {
	for _, i := range live {
		if _, ok := i.Cases[id]; ok {
			return true
		}
	}
	return false
}

func refOf(i iface.State) InterfaceRef {
	return InterfaceRef{ID: i.ID, Name: i.Def.Name, Method: i.Def.Method, Path: i.Def.Path, Version: i.Version,
		ContentType: i.Def.ContentType, Responses: i.Def.Responses}
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Environment returns the batch's frozen environment (for the dispatcher).
func (s State) Environment() app.Environment { return s.Env }
