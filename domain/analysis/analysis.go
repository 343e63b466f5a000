// Package analysis computes a batch's deterministic statistics: outcome rates overall and
// per interface, latency percentiles, failure clusters, regressions and flaky cases against
// the app's previous batches, and coverage; and a narrative written by rules from the same
// numbers. It is pure: the same input gives the same Analysis, and the same JSON bytes.
package analysis

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// NarratorRules names the rule-written narrative.
const NarratorRules = "rules"

// MaxPrevious is how many previous batches an analysis looks at.
const MaxPrevious = 5

// ErrorCheck is the check of a failure cluster whose cases failed no assertion (the request
// could not be made or evaluated).
const ErrorCheck = "error"

// BatchHistory is one batch as the log has it.
type BatchHistory struct {
	Submitted batch.Submitted
	Results   []batch.CaseExecuted
	Completed batch.Completed
	// Definitions are the batch's interfaces as defined at the versions it froze, by
	// interface id; parameter coverage is measured for those known here.
	Definitions map[string]iface.Definition
}

// Totals count outcomes; rates are shares of Total, rounded to 4 decimals.
type Totals struct {
	Total     int     `json:"total"`
	Passed    int     `json:"passed"`
	Failed    int     `json:"failed"`
	Errored   int     `json:"errored"`
	Canceled  int     `json:"canceled"`
	PassRate  float64 `json:"pass_rate"`
	FailRate  float64 `json:"fail_rate"`
	ErrorRate float64 `json:"error_rate"`
}

// Latency percentiles (nearest rank) in milliseconds of the cases that got a response.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Interface is one interface's share of the batch.
type Interface struct {
	InterfaceID string  `json:"interface_id"`
	Name        string  `json:"name"`
	Method      string  `json:"method"`
	Path        string  `json:"path"`
	Totals      Totals  `json:"totals"`
	Latency     Latency `json:"latency_ms"`
}

// Cluster groups failed and errored cases of one interface by their first failed check and
// status (0: no response).
type Cluster struct {
	InterfaceID string   `json:"interface_id"`
	Check       string   `json:"check"`
	Status      int      `json:"status"`
	Count       int      `json:"count"`
	CaseIDs     []string `json:"case_ids"`
	// Classes counts the cluster's cases by class.
	Classes    map[string]int `json:"classes"`
	Hypothesis Hypothesis     `json:"hypothesis"`
}

// Regression is a case that passed in the previous batch that ran it and fails or errors now.
type Regression struct {
	CaseID          string `json:"case_id"`
	InterfaceID     string `json:"interface_id"`
	PreviousBatchID string `json:"previous_batch_id"`
}

// Flaky is a case whose outcomes differ across the recent batches that ran the same version
// of its interface; Outcomes are newest first, this batch's first.
type Flaky struct {
	CaseID      string   `json:"case_id"`
	InterfaceID string   `json:"interface_id"`
	Outcomes    []string `json:"outcomes"`
}

// InterfaceCoverage is how much of one interface the batch exercised. Shares are null when
// there is nothing to divide by. Classes count the case classes the interface's cases have;
// cells count parameter × applicable class pairs exercised by cases that ran, measured
// against the interface's definition (DefinitionKnown false: not measured).
type InterfaceCoverage struct {
	InterfaceID           string              `json:"interface_id"`
	ClassesExercised      int                 `json:"classes_exercised"`
	ClassesPossible       int                 `json:"classes_possible"`
	DefinitionKnown       bool                `json:"definition_known"`
	Parameters            []ParameterCoverage `json:"parameters"`
	CellsExercised        int                 `json:"cells_exercised"`
	CellsPossible         int                 `json:"cells_possible"`
	CellCoverage          *float64            `json:"cell_coverage"`
	UnattributedCases     []string            `json:"unattributed_cases"`
	StatusesObserved      []string            `json:"statuses_observed"`
	StatusesDocumented    []string            `json:"statuses_documented"`
	StatusesCovered       int                 `json:"statuses_covered"`
	StatusCoverage        *float64            `json:"status_coverage"`
	SchemaChecked         int                 `json:"schema_checked"`
	SchemaConforming      int                 `json:"schema_conforming"`
	SchemaConformingShare *float64            `json:"schema_conforming_share"`
}

// CoverageTotals sum the interfaces' coverage over the app's batch.
type CoverageTotals struct {
	Interfaces            int      `json:"interfaces"`
	ClassesExercised      int      `json:"classes_exercised"`
	ClassesPossible       int      `json:"classes_possible"`
	ClassCoverage         *float64 `json:"class_coverage"`
	Parameters            int      `json:"parameters"`
	CellsExercised        int      `json:"cells_exercised"`
	CellsPossible         int      `json:"cells_possible"`
	CellCoverage          *float64 `json:"cell_coverage"`
	StatusesCovered       int      `json:"statuses_covered"`
	StatusesDocumented    int      `json:"statuses_documented"`
	StatusCoverage        *float64 `json:"status_coverage"`
	SchemaChecked         int      `json:"schema_checked"`
	SchemaConforming      int      `json:"schema_conforming"`
	SchemaConformingShare *float64 `json:"schema_conforming_share"`
}

// Coverage per interface and in total.
type Coverage struct {
	Interfaces []InterfaceCoverage `json:"interfaces"`
	Totals     CoverageTotals      `json:"totals"`
}

// Analysis is the document batch.analyzed carries.
type Analysis struct {
	AppID           string       `json:"app_id"`
	BatchID         string       `json:"batch_id"`
	Canceled        bool         `json:"canceled"`
	PreviousBatches []string     `json:"previous_batches"` // newest first
	Totals          Totals       `json:"totals"`
	Latency         Latency      `json:"latency_ms"`
	Interfaces      []Interface  `json:"interfaces"`
	Clusters        []Cluster    `json:"clusters"`
	Regressions     []Regression `json:"regressions"`
	Flaky           []Flaky      `json:"flaky"`
	Coverage        Coverage     `json:"coverage"`
	Narrative       string       `json:"narrative"`
	Narrator        string       `json:"narrator"` // NarratorRules or NarratorLLM
	// NarratorModel is the model that wrote an llm narrative; NarratorFallback why the rules
	// wrote it though a model was configured (empty when none was, or the model did).
	NarratorModel    string `json:"narrator_model,omitempty"`
	NarratorFallback string `json:"narrator_fallback,omitempty"`
}

// PossibleClasses are the classes casegen can produce: every class but custom.
var PossibleClasses = slices.DeleteFunc(slices.Clone(testcase.Classes), func(c string) bool { return c == testcase.Custom })

const (
	schemaTarget = "check." + assert.CheckResponseSchemaConformance
	skippedMark  = "skipped: "
)

// Analyze computes current's analysis against previous, the app's earlier completed
// batches newest first (only the first MaxPrevious are used).
func Analyze(current BatchHistory, previous []BatchHistory) Analysis {
	if len(previous) > MaxPrevious {
		previous = previous[:MaxPrevious]
	}
	sub := current.Submitted
	results := resultsByCase(current)
	a := Analysis{AppID: sub.AppID, BatchID: sub.BatchID, Canceled: current.Completed.Canceled,
		PreviousBatches: []string{}, Interfaces: []Interface{}, Clusters: []Cluster{}, Regressions: []Regression{},
		Flaky: []Flaky{}, Coverage: Coverage{Interfaces: []InterfaceCoverage{}}, Narrator: NarratorRules}
	for _, p := range previous {
		a.PreviousBatches = append(a.PreviousBatches, p.Submitted.BatchID)
	}

	// Interfaces: the frozen ones, plus any a case names that was not frozen.
	refs := map[string]batch.InterfaceRef{}
	for _, r := range sub.Interfaces {
		refs[r.ID] = r
	}
	casesOf := map[string][]testcase.Case{}
	for _, c := range sub.Cases {
		casesOf[c.InterfaceID] = append(casesOf[c.InterfaceID], c)
		if _, ok := refs[c.InterfaceID]; !ok {
			refs[c.InterfaceID] = batch.InterfaceRef{ID: c.InterfaceID}
		}
	}
	ids := make([]string, 0, len(refs))
	for id := range refs {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	a.Totals, a.Latency = count(sub.Cases, results)
	for _, id := range ids {
		r := refs[id]
		t, l := count(casesOf[id], results)
		a.Interfaces = append(a.Interfaces, Interface{InterfaceID: id, Name: r.Name, Method: r.Method, Path: r.Path, Totals: t, Latency: l})
		var def *iface.Definition
		if d, ok := current.Definitions[id]; ok {
			def = &d
		}
		a.Coverage.Interfaces = append(a.Coverage.Interfaces, coverage(r, def, casesOf[id], results))
	}
	a.Coverage.Totals = coverageTotals(a.Coverage.Interfaces)
	a.Clusters = clusters(sub.Cases, results)
	a.Regressions, a.Flaky = history(current, results, previous)
	for i := range a.Clusters {
		a.Clusters[i].Hypothesis = RuleHypothesis(a.Clusters[i], casesOf[a.Clusters[i].InterfaceID])
	}
	a.Narrative = Narrate(a)
	return a
}

// resultsByCase keeps the first result of each case of the batch.
func resultsByCase(h BatchHistory) map[string]batch.CaseExecuted {
	out := make(map[string]batch.CaseExecuted, len(h.Results))
	for _, r := range h.Results {
		if _, ok := out[r.CaseID]; !ok {
			out[r.CaseID] = r
		}
	}
	return out
}

// outcome of a case: canceled when it has no result.
func outcome(results map[string]batch.CaseExecuted, caseID string) (batch.CaseExecuted, string) {
	r, ok := results[caseID]
	if !ok || r.Outcome == "" {
		return r, batch.Canceled
	}
	return r, r.Outcome
}

func count(cases []testcase.Case, results map[string]batch.CaseExecuted) (Totals, Latency) {
	t := Totals{Total: len(cases)}
	var d []float64
	for _, c := range cases {
		r, o := outcome(results, c.ID)
		switch o {
		case batch.Passed:
			t.Passed++
		case batch.Failed:
			t.Failed++
		case batch.Errored:
			t.Errored++
		default:
			t.Canceled++
		}
		if o == batch.Passed || o == batch.Failed {
			d = append(d, r.DurationMS)
		}
	}
	t.PassRate, t.FailRate, t.ErrorRate = rate(t.Passed, t.Total), rate(t.Failed, t.Total), rate(t.Errored, t.Total)
	slices.Sort(d)
	return t, Latency{P50: batch.Percentile(d, 50), P95: batch.Percentile(d, 95), P99: batch.Percentile(d, 99)}
}

// rate is n/of rounded to 4 decimals (0 when of is 0).
func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*10000) / 10000
}

func share(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	r := rate(n, of)
	return &r
}

// firstFailedCheck is the target of the first assertion that failed or could not be
// evaluated; ErrorCheck when none did.
func firstFailedCheck(r batch.CaseExecuted) string {
	for _, ev := range r.Assertions {
		if !ev.Passed || ev.Error != "" {
			return ev.Target
		}
	}
	return ErrorCheck
}

func clusters(cases []testcase.Case, results map[string]batch.CaseExecuted) []Cluster {
	type key struct {
		iface, check string
		status       int
	}
	byKey := map[key]*Cluster{}
	for _, c := range cases {
		r, o := outcome(results, c.ID)
		if o != batch.Failed && o != batch.Errored {
			continue
		}
		k := key{c.InterfaceID, firstFailedCheck(r), r.StatusCode}
		cl := byKey[k]
		if cl == nil {
			cl = &Cluster{InterfaceID: k.iface, Check: k.check, Status: k.status, Classes: map[string]int{}}
			byKey[k] = cl
		}
		cl.Count++
		cl.CaseIDs = append(cl.CaseIDs, c.ID)
		cl.Classes[c.Class]++
	}
	out := make([]Cluster, 0, len(byKey))
	for _, cl := range byKey {
		slices.Sort(cl.CaseIDs)
		out = append(out, *cl)
	}
	slices.SortFunc(out, func(a, b Cluster) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.InterfaceID, b.InterfaceID),
			cmp.Compare(a.Check, b.Check), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// history finds regressions (passed in the newest previous batch that ran the case, fails
// or errors now) and flaky cases (outcomes differ across the batches that ran the case on
// the same interface version as now). Canceled cases did not run.
func history(current BatchHistory, results map[string]batch.CaseExecuted, previous []BatchHistory) ([]Regression, []Flaky) {
	type past struct {
		id       string
		versions map[string]int
		results  map[string]batch.CaseExecuted
	}
	versions := func(s batch.Submitted) map[string]int {
		v := make(map[string]int, len(s.Interfaces))
		for _, r := range s.Interfaces {
			v[r.ID] = r.Version
		}
		return v
	}
	prev := make([]past, len(previous))
	for i, p := range previous {
		prev[i] = past{id: p.Submitted.BatchID, versions: versions(p.Submitted), results: resultsByCase(p)}
	}
	now := versions(current.Submitted)
	regs, flaky := []Regression{}, []Flaky{}
	for _, c := range current.Submitted.Cases {
		_, o := outcome(results, c.ID)
		if o == batch.Canceled {
			continue
		}
		if o == batch.Failed || o == batch.Errored {
			for _, p := range prev {
				if _, po := outcome(p.results, c.ID); po != batch.Canceled {
					if po == batch.Passed {
						regs = append(regs, Regression{CaseID: c.ID, InterfaceID: c.InterfaceID, PreviousBatchID: p.id})
					}
					break
				}
			}
		}
		outcomes, differ := []string{o}, false
		v, known := now[c.InterfaceID]
		for _, p := range prev {
			pv, ok := p.versions[c.InterfaceID]
			if _, po := outcome(p.results, c.ID); po != batch.Canceled && ok == known && pv == v {
				outcomes = append(outcomes, po)
				differ = differ || po != o
			}
		}
		if differ {
			flaky = append(flaky, Flaky{CaseID: c.ID, InterfaceID: c.InterfaceID, Outcomes: outcomes})
		}
	}
	slices.SortFunc(regs, func(a, b Regression) int { return cmp.Compare(a.CaseID, b.CaseID) })
	slices.SortFunc(flaky, func(a, b Flaky) int { return cmp.Compare(a.CaseID, b.CaseID) })
	return slices.CompactFunc(regs, func(a, b Regression) bool { return a.CaseID == b.CaseID }),
		slices.CompactFunc(flaky, func(a, b Flaky) bool { return a.CaseID == b.CaseID })
}

// documentedObserved says whether a documented status key ("200", "4XX", "default") was
// observed: exactly, within its range, or (default) as a status no other key documents.
func documentedObserved(key string, keys []string, observed []int) bool {
	if strings.EqualFold(key, "default") {
		for _, s := range observed {
			if !slices.ContainsFunc(keys, func(k string) bool { return !strings.EqualFold(k, "default") && matches(k, s) }) {
				return true
			}
		}
		return false
	}
	return slices.ContainsFunc(observed, func(s int) bool { return matches(key, s) })
}

func matches(key string, status int) bool {
	if len(key) == 3 && strings.EqualFold(key[1:], "XX") && key[0] >= '1' && key[0] <= '5' {
		return status/100 == int(key[0]-'0')
	}
	n, err := strconv.Atoi(key)
	return err == nil && n == status
}

func coverageTotals(ifs []InterfaceCoverage) CoverageTotals {
	t := CoverageTotals{Interfaces: len(ifs)}
	for _, c := range ifs {
		t.ClassesExercised += c.ClassesExercised
		t.ClassesPossible += c.ClassesPossible
		t.Parameters += len(c.Parameters)
		t.CellsExercised += c.CellsExercised
		t.CellsPossible += c.CellsPossible
		t.StatusesCovered += c.StatusesCovered
		t.StatusesDocumented += len(c.StatusesDocumented)
		t.SchemaChecked += c.SchemaChecked
		t.SchemaConforming += c.SchemaConforming
	}
	t.ClassCoverage = share(t.ClassesExercised, t.ClassesPossible)
	t.CellCoverage = share(t.CellsExercised, t.CellsPossible)
	t.StatusCoverage = share(t.StatusesCovered, t.StatusesDocumented)
	t.SchemaConformingShare = share(t.SchemaConforming, t.SchemaChecked)
	return t
}
