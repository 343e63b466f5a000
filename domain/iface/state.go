package iface

import (
	"slices"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/testcase"
)

// Generation statuses.
const (
	Pending = "pending"
	Done    = "done"
	Failed  = "failed"
)

// Generation is one request for cases and how it ended.
type Generation struct {
	ID          string
	Status      string
	Options     GenerationOptions
	Info        GenerationInfo
	CaseIDs     []string
	Reason      string
	RequestedAt time.Time
	FinishedAt  time.Time
	// InterfaceVersion is the definition the generation was asked for.
	InterfaceVersion int
}

// State is an interface with its cases and generations.
type State struct {
	ID, AppID, OwnerID string
	Def                Definition
	Version            int
	Deleted            bool
	Cases              map[string]testcase.Case
	Order              []string // case ids in the order they were added
	Generations        map[string]*Generation
	DefinedAt          time.Time
	UpdatedAt          time.Time
}

// Exists is true once defined and until deleted.
func (s State) Exists() bool { return s.ID != "" && !s.Deleted }

// EnabledCases lists the enabled cases in the order they were added.
func (s State) EnabledCases() []testcase.Case {
	var out []testcase.Case
	for _, id := range s.Order {
		if c := s.Cases[id]; c.Enabled {
			out = append(out, c)
		}
	}
	return out
}

// Evolve folds one event into the state. It updates the state's maps in place: states are
// folded once, front to back, never shared.
func Evolve(s State, e domain.Event) State {
	if s.Cases == nil { // a history that does not start with Defined must not panic
		s.Cases, s.Generations = map[string]testcase.Case{}, map[string]*Generation{}
	}
	switch e := e.(type) {
	case Defined:
		s = State{ID: e.InterfaceID, AppID: e.AppID, OwnerID: e.OwnerID, Def: e.Interface, Version: e.Version,
			Cases: map[string]testcase.Case{}, Generations: map[string]*Generation{}, DefinedAt: e.At, UpdatedAt: e.At}
	case Updated:
		s.Def, s.Version, s.UpdatedAt = e.Interface, e.Version, e.At
	case Deleted:
		s.Deleted, s.UpdatedAt = true, e.At
	case CasesGenerationRequested:
		s.Generations[e.GenerationID] = &Generation{ID: e.GenerationID, Status: Pending, Options: e.Options,
			RequestedAt: e.At, InterfaceVersion: e.InterfaceVersion}
	case CasesGenerated:
		s = evolveGenerated(s, e)
	case CasesGenerationFailed:
		if g := s.Generations[e.GenerationID]; g != nil {
			g.Status, g.Reason, g.FinishedAt = Failed, e.Reason, e.At
		}
	case CaseAdded:
		s.putCase(e.Case)
	case CaseUpdated:
		s.putCase(e.Case)
	case CaseDeleted:
		s.dropCase(e.CaseID)
	}
	return s
}

func evolveGenerated(s State, e CasesGenerated) State {
	for _, id := range e.Replaced {
		s.dropCase(id)
	}
	ids := make([]string, len(e.Cases))
	for i, c := range e.Cases {
		s.putCase(c)
		ids[i] = c.ID
	}
	if g := s.Generations[e.GenerationID]; g != nil {
		g.Status, g.Info, g.CaseIDs, g.FinishedAt = Done, e.Info, ids, e.At
	}
	return s
}

func (s *State) putCase(c testcase.Case) {
	if _, ok := s.Cases[c.ID]; !ok {
		s.Order = append(s.Order, c.ID)
	}
	s.Cases[c.ID] = c
}

func (s *State) dropCase(id string) {
	if _, ok := s.Cases[id]; !ok {
		return
	}
	delete(s.Cases, id)
	s.Order = slices.DeleteFunc(s.Order, func(x string) bool { return x == id })
}
