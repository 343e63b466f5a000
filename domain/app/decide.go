package app

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/assay-dev/assay/domain"
)

// Command is one of Create, Update, Archive.
type Command interface{ isCommand() }

// Create makes a new app owned by ActorID.
type Create struct {
	AppID   string
	ActorID string
	App     Definition
	At      time.Time
}

// Patch holds the fields an update changes; nil means unchanged.
type Patch struct {
	Name               *string
	Description        *string
	Environments       *[]Environment
	DefaultEnvironment *string
	NotifyEmails       *[]string
	DisabledChecks     *[]string
}

// Update changes some fields of an app.
type Update struct {
	AppID   string
	ActorID string
	Patch   Patch
	At      time.Time
}

// Archive retires an app.
type Archive struct {
	AppID   string
	ActorID string
	At      time.Time
}

func (Create) isCommand()  {}
func (Update) isCommand()  {}
func (Archive) isCommand() {}

// Decider is the App aggregate.
var Decider = domain.Decider[State, Command]{
	Initial: func() State { return State{} },
	Decide:  Decide,
	Evolve:  Evolve,
}

// Decide turns a command into events or a typed error.
func Decide(s State, c Command) ([]domain.Event, error) {
	switch c := c.(type) {
	case Create:
		return decideCreate(s, c)
	case Update:
		return decideUpdate(s, c)
	case Archive:
		if !s.Exists() || !domain.May(c.ActorID, s.OwnerID) {
			return nil, domain.NotFound("app", c.AppID)
		}
		if s.Archived {
			return nil, nil // archiving twice changes nothing
		}
		return []domain.Event{Archived{AppID: s.ID, OwnerID: s.OwnerID, At: c.At}}, nil
	default:
		return nil, domain.Invalid("command", "unknown app command %T", c)
	}
}

func decideCreate(s State, c Create) ([]domain.Event, error) {
	var p domain.Problems
	p.CheckID("app_id", c.AppID)
	p.CheckID("owner_id", c.ActorID)
	p.Merge("", c.App.Validate())
	if err := p.Err(); err != nil {
		return nil, err
	}
	if s.Exists() {
		return nil, domain.Conflict("app %q already exists", c.AppID)
	}
	return []domain.Event{Created{AppID: c.AppID, OwnerID: c.ActorID, App: c.App.normalized(), At: c.At}}, nil
}

func decideUpdate(s State, c Update) ([]domain.Event, error) {
	if !s.Exists() || !domain.May(c.ActorID, s.OwnerID) {
		return nil, domain.NotFound("app", c.AppID)
	}
	if s.Archived {
		return nil, domain.Conflict("app %q is archived", c.AppID)
	}
	def := apply(s.Def, c.Patch)
	// An environment list without the old default falls back to its first environment.
	if _, ok := def.Environment(def.DefaultEnvironment); !ok && c.Patch.DefaultEnvironment == nil {
		def.DefaultEnvironment = ""
	}
	def = def.normalized()
	if err := def.Validate(); err != nil {
		return nil, err
	}
	// Changed names what differs, not what was sent: a PATCH of equal values changes nothing.
	changed := diff(s.Def, def)
	if len(changed) == 0 {
		return nil, nil
	}
	return []domain.Event{Updated{AppID: s.ID, OwnerID: s.OwnerID, App: def, Changed: changed, At: c.At}}, nil
}

func apply(d Definition, p Patch) Definition {
	if p.Name != nil {
		d.Name = *p.Name
	}
	if p.Description != nil {
		d.Description = *p.Description
	}
	if p.Environments != nil {
		d.Environments = *p.Environments
	}
	if p.DefaultEnvironment != nil {
		d.DefaultEnvironment = *p.DefaultEnvironment
	}
	if p.NotifyEmails != nil {
		d.NotifyEmails = *p.NotifyEmails
	}
	if p.DisabledChecks != nil {
		d.DisabledChecks = *p.DisabledChecks
	}
	return d
}

// diff names the fields of a and b that differ, comparing lists and maps by their JSON
// (so a nil and an empty list are equal).
func diff(a, b Definition) []string {
	var out []string
	add := func(name string, x, y any) {
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		if !bytes.Equal(jx, jy) {
			out = append(out, name)
		}
	}
	add("name", a.Name, b.Name)
	add("description", a.Description, b.Description)
	add("environments", a.Environments, b.Environments)
	add("default_environment", a.DefaultEnvironment, b.DefaultEnvironment)
	add("notify_emails", nilIfEmpty(a.NotifyEmails), nilIfEmpty(b.NotifyEmails))
	add("disabled_checks", nilIfEmpty(a.DisabledChecks), nilIfEmpty(b.DisabledChecks))
	return out
}

func nilIfEmpty(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// Evolve folds one event into the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case Created:
		return State{ID: e.AppID, OwnerID: e.OwnerID, Def: e.App, CreatedAt: e.At, UpdatedAt: e.At}
	case Updated:
		s.Def, s.UpdatedAt = e.App, e.At
	case Archived:
		s.Archived, s.UpdatedAt = true, e.At
	}
	return s
}
