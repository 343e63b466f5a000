package analysis

import (
	"slices"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// ParameterCoverage is one parameter or body field: the classes its schema makes
// applicable and those the batch's cases that ran exercised.
type ParameterCoverage struct {
	Name      string   `json:"name"`
	In        string   `json:"in"`
	Required  bool     `json:"required"`
	Possible  []string `json:"possible"`
	Exercised []string `json:"exercised"`
	// EnumValues are an enumeration's values (JSON-encoded); EnumExercised those sent, and
	// "outside" once a value outside them was. Each value and the outside one is a cell.
	EnumValues    []string `json:"enum_values,omitempty"`
	EnumExercised []string `json:"enum_exercised,omitempty"`
	// Cells count this parameter's class cells (an enumeration counts a cell per value
	// and one for outside instead of one for enum).
	CellsPossible  int `json:"cells_possible"`
	CellsExercised int `json:"cells_exercised"`
}

// Outside is the EnumExercised entry of a value outside the enumeration.
const Outside = "outside"

// coverage measures one interface. def is its definition at the frozen version, when known.
func coverage(ref batch.InterfaceRef, def *iface.Definition, cases []testcase.Case, results map[string]batch.CaseExecuted) InterfaceCoverage {
	cov := InterfaceCoverage{InterfaceID: ref.ID, ClassesPossible: len(PossibleClasses),
		StatusesObserved: []string{}, StatusesDocumented: []string{}, Parameters: []ParameterCoverage{},
		UnattributedCases: []string{}, DefinitionKnown: def != nil}
	classes := map[string]bool{}
	observed := map[int]bool{}
	var ran []testcase.Case
	for _, c := range cases {
		if slices.Contains(PossibleClasses, c.Class) {
			classes[c.Class] = true
		}
		r, o := outcome(results, c.ID)
		if o == batch.Canceled {
			continue
		}
		ran = append(ran, c)
		if r.StatusCode > 0 {
			observed[r.StatusCode] = true
		}
		for _, ev := range r.Assertions {
			if ev.Target != schemaTarget || ev.Error != "" || (ev.Passed && strings.HasPrefix(ev.Message, skippedMark)) {
				continue
			}
			cov.SchemaChecked++
			if ev.Passed {
				cov.SchemaConforming++
			}
			break
		}
	}
	cov.ClassesExercised = len(classes)
	if def != nil {
		cells(&cov, Params(*def), ran)
	}
	codes := make([]int, 0, len(observed))
	for s := range observed {
		codes = append(codes, s)
	}
	slices.Sort(codes)
	for _, s := range codes {
		cov.StatusesObserved = append(cov.StatusesObserved, strconv.Itoa(s))
	}
	for k := range ref.Responses {
		cov.StatusesDocumented = append(cov.StatusesDocumented, k)
	}
	slices.Sort(cov.StatusesDocumented)
	for _, k := range cov.StatusesDocumented {
		if documentedObserved(k, cov.StatusesDocumented, codes) {
			cov.StatusesCovered++
		}
	}
	cov.StatusCoverage = share(cov.StatusesCovered, len(cov.StatusesDocumented))
	cov.SchemaConformingShare = share(cov.SchemaConforming, cov.SchemaChecked)
	return cov
}

// cells fills the parameter × class table from the cases that ran: a case whose input is
// valid (valid, boundary, an enum value) exercises valid for every parameter its request
// carries; any case but a valid one exercises its class for the parameter it targets (see
// attribute), when the class applies to that parameter.
func cells(cov *InterfaceCoverage, params []Param, ran []testcase.Case) {
	index := make(map[string]int, len(params))
	hit := make([]map[string]bool, len(params))
	enums := make([]map[string]bool, len(params))
	for i, p := range params {
		index[key(p.Name)] = i
		hit[i], enums[i] = map[string]bool{}, map[string]bool{}
	}
	for _, c := range ran {
		if c.Class == testcase.Custom {
			continue
		}
		if !Rejects(c) { // valid, boundary or an enum value: every value it sends is valid
			markValid(c, params, index, hit, enums)
		}
		if c.Class == testcase.Valid {
			continue
		}
		i, ok := attribute(c, params, index)
		if !ok {
			cov.UnattributedCases = append(cov.UnattributedCases, c.ID)
			continue
		}
		hit[i][c.Class] = true
		if c.Class == testcase.Enum && len(params[i].Enum) > 0 {
			v, sent := valueAt(c.Request, params[i].Name)
			if e, in := enumMatch(params[i].Enum, v); sent && in {
				enums[i][e] = true
			} else if sent {
				enums[i][Outside] = true
			}
		}
	}
	slices.Sort(cov.UnattributedCases)
	for i, p := range params {
		pc := ParameterCoverage{Name: p.Name, In: p.In, Required: p.Required, Possible: p.Classes, Exercised: []string{}}
		for _, c := range p.Classes {
			switch {
			case c == testcase.Enum && len(p.Enum) > 0:
				pc.EnumValues, pc.EnumExercised = p.Enum, []string{}
				for _, e := range append(slices.Clone(p.Enum), Outside) {
					if enums[i][e] {
						pc.EnumExercised = append(pc.EnumExercised, e)
					}
				}
				pc.CellsPossible += len(p.Enum) + 1
				pc.CellsExercised += len(pc.EnumExercised)
				if len(pc.EnumExercised) > 0 {
					pc.Exercised = append(pc.Exercised, c)
				}
			default:
				pc.CellsPossible++
				if hit[i][c] {
					pc.Exercised = append(pc.Exercised, c)
					pc.CellsExercised++
				}
			}
		}
		cov.CellsPossible += pc.CellsPossible
		cov.CellsExercised += pc.CellsExercised
		cov.Parameters = append(cov.Parameters, pc)
	}
	cov.CellCoverage = share(cov.CellsExercised, cov.CellsPossible)
}
