package iface

import (
	"github.com/assay-dev/assay/domain"
)

// Limits that keep one aggregate loadable.
const (
	MaxCases         = 5000
	MaxGeneratedCase = 500
)

// Decider is the Interface aggregate.
var Decider = domain.Decider[State, Command]{
	Initial: func() State { return State{} },
	Decide:  Decide,
	Evolve:  Evolve,
}

// Decide turns a command into events or a typed error.
func Decide(s State, c Command) ([]domain.Event, error) {
	if d, ok := c.(Define); ok {
		return decideDefine(s, d)
	}
	actor, id := actorOf(c)
	// A generation asked for before the interface was deleted still gets its ending.
	_, failing := c.(FailGeneration)
	deletedButKnown := failing && s.ID != "" && s.Deleted && actor == domain.System
	if !deletedButKnown && (!s.Exists() || !domain.May(actor, s.OwnerID)) {
		return nil, domain.NotFound("interface", id)
	}
	switch c := c.(type) {
	case Update:
		return decideUpdate(s, c)
	case Redefine:
		return decideRedefine(s, c)
	case Delete:
		return []domain.Event{Deleted{AppID: s.AppID, InterfaceID: s.ID, At: c.At}}, nil
	case RequestGeneration:
		return decideRequestGeneration(s, c)
	case RecordGeneration:
		return decideRecordGeneration(s, c)
	case FailGeneration:
		if err := pendingGeneration(s, c.GenerationID); err != nil {
			return nil, err
		}
		reason := c.Reason
		if reason == "" {
			reason = "unknown"
		}
		return []domain.Event{CasesGenerationFailed{AppID: s.AppID, InterfaceID: s.ID, GenerationID: c.GenerationID, Reason: reason, At: c.At}}, nil
	case AddCase:
		return decideAddCase(s, c)
	case UpdateCase:
		return decideUpdateCase(s, c)
	case DeleteCase:
		if _, ok := s.Cases[c.CaseID]; !ok {
			return nil, domain.NotFound("case", c.CaseID)
		}
		return []domain.Event{CaseDeleted{AppID: s.AppID, InterfaceID: s.ID, CaseID: c.CaseID, At: c.At}}, nil
	}
	return nil, domain.Invalid("command", "unknown interface command %T", c)
}

func actorOf(c Command) (actor, id string) {
	switch c := c.(type) {
	case Update:
		return c.ActorID, c.InterfaceID
	case Redefine:
		return c.ActorID, c.InterfaceID
	case Delete:
		return c.ActorID, c.InterfaceID
	case RequestGeneration:
		return c.ActorID, c.InterfaceID
	case RecordGeneration:
		return c.ActorID, c.InterfaceID
	case FailGeneration:
		return c.ActorID, c.InterfaceID
	case AddCase:
		return c.ActorID, c.InterfaceID
	case UpdateCase:
		return c.ActorID, c.InterfaceID
	case DeleteCase:
		return c.ActorID, c.InterfaceID
	}
	return "", ""
}

func decideDefine(s State, c Define) ([]domain.Event, error) {
	if !c.App.Exists() || !domain.May(c.ActorID, c.App.OwnerID) {
		return nil, domain.NotFound("app", c.App.ID)
	}
	var p domain.Problems
	p.CheckID("interface_id", c.InterfaceID)
	p.Merge("", c.Def.Validate())
	if err := p.Err(); err != nil {
		return nil, err
	}
	if c.App.Archived {
		return nil, domain.Conflict("app %q is archived and takes no new interfaces", c.App.ID)
	}
	if s.ID != "" {
		return nil, domain.Conflict("interface %q already exists", c.InterfaceID)
	}
	def := c.Def
	if def.Source == "" {
		def.Source = "manual"
	}
	return []domain.Event{Defined{AppID: c.App.ID, InterfaceID: c.InterfaceID, OwnerID: c.App.OwnerID, Interface: def, Version: 1, At: c.At}}, nil
}

func decideUpdate(s State, c Update) ([]domain.Event, error) {
	def, _ := applyPatch(s.Def, c.Patch)
	if err := def.Validate(); err != nil {
		return nil, err
	}
	// Changed names what differs, not what was sent: a PATCH of equal values changes nothing.
	changed := diffDefinitions(s.Def, def)
	if len(changed) == 0 {
		return nil, nil
	}
	return []domain.Event{Updated{AppID: s.AppID, InterfaceID: s.ID, Interface: def, Changed: changed, Version: s.Version + 1, At: c.At}}, nil
}

func decideRedefine(s State, c Redefine) ([]domain.Event, error) {
	if err := c.Def.Validate(); err != nil {
		return nil, err
	}
	changed := diffDefinitions(s.Def, c.Def)
	if len(changed) == 0 {
		return nil, nil // importing an unchanged operation again changes nothing
	}
	return []domain.Event{Updated{AppID: s.AppID, InterfaceID: s.ID, Interface: c.Def, Changed: changed, Version: s.Version + 1, At: c.At}}, nil
}

func pendingGeneration(s State, id string) error {
	g := s.Generations[id]
	switch {
	case g == nil:
		return domain.NotFound("generation", id)
	case g.Status != Pending:
		return domain.Conflict("generation %q already %s", id, g.Status)
	}
	return nil
}
