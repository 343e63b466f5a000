package iface

import (
	"fmt"
	"slices"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/testcase"
)

var generators = []string{"auto", "llm", "rules"}

func decideRequestGeneration(s State, c RequestGeneration) ([]domain.Event, error) {
	o := c.Options
	if o.Generator == "" {
		o.Generator = "auto"
	}
	if o.MaxCases == 0 {
		o.MaxCases = 50
	}
	var p domain.Problems
	p.CheckID("generation_id", c.GenerationID)
	p.Check(slices.Contains(generators, o.Generator), "generator", "must be auto, llm or rules")
	p.Check(o.MaxCases >= 1 && o.MaxCases <= MaxGeneratedCase, "max_cases", "must be between 1 and %d", MaxGeneratedCase)
	p.CheckText("hints", o.Hints, 0, 4000)
	if err := p.Err(); err != nil {
		return nil, err
	}
	if _, dup := s.Generations[c.GenerationID]; dup {
		return nil, domain.Conflict("generation %q already exists", c.GenerationID)
	}
	return []domain.Event{CasesGenerationRequested{AppID: s.AppID, InterfaceID: s.ID, GenerationID: c.GenerationID,
		InterfaceVersion: s.Version, Options: o, At: c.At}}, nil
}

func decideRecordGeneration(s State, c RecordGeneration) ([]domain.Event, error) {
	if err := pendingGeneration(s, c.GenerationID); err != nil {
		return nil, err
	}
	var p domain.Problems
	p.Check(slices.Contains([]string{"llm", "rules"}, c.Info.Generator), "info.generator", "must be llm or rules")
	p.Check(len(c.Cases) <= MaxGeneratedCase, "cases", "must be at most %d", MaxGeneratedCase)
	cases := make([]testcase.Case, len(c.Cases))
	seen := map[string]bool{}
	for i, k := range c.Cases {
		k.InterfaceID, k.GenerationID = s.ID, c.GenerationID
		k = k.WithDefaults(c.Info.Generator)
		f := fmt.Sprintf("cases[%d]", i)
		p.Merge(f, k.Validate())
		// A generated case labelled manual would never be replaced by a later generation.
		p.Check(k.Source != "manual", f+".source", "a generated case must be llm or rules")
		p.Check(!seen[k.ID], f+".id", "is used twice")
		_, taken := s.Cases[k.ID]
		p.Check(!taken, f+".id", "is already a case of the interface")
		seen[k.ID] = true
		cases[i] = k
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var replaced []string
	if len(cases) > 0 { // an empty answer must not wipe the cases an earlier generation made
		replaced = generatedCaseIDs(s)
	}
	if len(s.Cases)-len(replaced)+len(cases) > MaxCases {
		return nil, domain.Conflict("interface %q would have more than %d cases", s.ID, MaxCases)
	}
	return []domain.Event{CasesGenerated{AppID: s.AppID, InterfaceID: s.ID, GenerationID: c.GenerationID,
		Info: c.Info, Cases: cases, Replaced: replaced, At: c.At}}, nil
}

// generatedCaseIDs are the cases a new generation replaces: generated ones nobody edited.
func generatedCaseIDs(s State) []string {
	var out []string
	for _, id := range s.Order {
		if c := s.Cases[id]; c.Source != "manual" && c.GenerationID != "" {
			out = append(out, id)
		}
	}
	return out
}

func decideAddCase(s State, c AddCase) ([]domain.Event, error) {
	k := c.Case
	k.InterfaceID, k.GenerationID = s.ID, ""
	k = k.WithDefaults("manual")
	k.Source = "manual"
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if _, dup := s.Cases[k.ID]; dup {
		return nil, domain.Conflict("case %q already exists", k.ID)
	}
	if len(s.Cases) >= MaxCases {
		return nil, domain.Conflict("interface %q has %d cases, the most it may have", s.ID, MaxCases)
	}
	return []domain.Event{CaseAdded{AppID: s.AppID, InterfaceID: s.ID, Case: k, At: c.At}}, nil
}

func decideUpdateCase(s State, c UpdateCase) ([]domain.Event, error) {
	k, ok := s.Cases[c.CaseID]
	if !ok {
		return nil, domain.NotFound("case", c.CaseID)
	}
	before := k
	k, _ = applyCasePatch(k, c.Patch)
	if err := k.Validate(); err != nil {
		return nil, err
	}
	// Changed names what differs, not what was sent: a PATCH of equal values changes nothing
	// (and does not make a generated case the user's).
	changed := diffCases(before, k)
	if len(changed) == 0 {
		return nil, nil
	}
	// An edited generated case is the user's now: a new generation keeps it.
	if k.Source != "manual" && !(len(changed) == 1 && changed[0] == "enabled") {
		k.GenerationID = ""
	}
	return []domain.Event{CaseUpdated{AppID: s.AppID, InterfaceID: s.ID, Case: k, Changed: changed, At: c.At}}, nil
}
