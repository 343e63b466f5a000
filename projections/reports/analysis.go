package reports

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/analysis"
)

// coverageClasses are the columns of a parameter × class table.
var coverageClasses = analysis.PossibleClasses

// Cell states of a parameter × class table.
const (
	cellYes  = "yes"  // exercised
	cellPart = "part" // an enumeration some of whose values (and the outside one) were sent
	cellNo   = "no"   // applicable, not exercised
	cellNA   = ""     // not applicable to the parameter
)

// covCell is one cell: its state, its text (✓, ✗, or for an enumeration ✓ 2/3) and a
// tooltip listing an enumeration's values sent.
type covCell struct{ State, Text, Title string }

// analysisView is what a report shows of the batch's analysis document.
type analysisView struct {
	Narrative string
	Narrator  string // "rules" or "llm", with the model: "llm (deepseek-chat)"
	Fallback  string
	Coverage  []kv // totals, one line each; for a document of another shape, its flattened coverage
	CovIfaces []covIface
	Clusters  []clusterView
}

type covIface struct {
	ID, Name          string
	DefinitionKnown   bool
	Cells             string // "3 of 10 (30.0%)"
	Observed          string // "200, 404"
	Documented        string // "200, 404, default"
	Statuses          string // "2 of 3"
	Schema            string // "4 of 5 (80.0%)"
	Unattributed      int
	Params            []covParam
	CellsN, PossibleN int
	Raw               analysis.InterfaceCoverage
}

type covParam struct {
	Name, In string
	Required bool
	Cells    []covCell // one per coverageClasses
}

type clusterView struct {
	Interface, Check string
	Status, Count    int
	Label, Text, By  string
	LabelCode        string // the taxonomy's code: validation_too_strict
	CaseIDs          []string
}

// readAnalysis reads the analysis document. A document of domain/analysis's shape is shown
// in full (coverage tables, clusters with their hypotheses, the narrator); any other shape
// yields its "narrative" string and its "coverage" object flattened to sorted dotted keys.
func readAnalysis(raw json.RawMessage, ifaces []ifaceReport) analysisView {
	var v analysisView
	var doc map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &doc) != nil {
		return v
	}
	if n, ok := doc["narrative"]; ok {
		_ = json.Unmarshal(n, &v.Narrative)
	}
	var a analysis.Analysis
	if json.Unmarshal(raw, &a) == nil && (a.Narrator != "" || len(a.Coverage.Interfaces) > 0) {
		typed(&v, a, ifaces)
		return v
	}
	var cov map[string]json.RawMessage
	if c, ok := doc["coverage"]; ok && json.Unmarshal(c, &cov) == nil {
		flatten("", cov, 0, &v.Coverage)
	}
	return v
}

func typed(v *analysisView, a analysis.Analysis, ifaces []ifaceReport) {
	names := map[string]string{}
	for _, i := range ifaces {
		names[i.ID] = suiteName(i.Method, i.Path, i.Name)
	}
	name := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	v.Narrator, v.Fallback = a.Narrator, a.NarratorFallback
	if a.NarratorModel != "" {
		v.Narrator += " (" + a.NarratorModel + ")"
	}
	for _, c := range a.Clusters {
		v.Clusters = append(v.Clusters, clusterView{Interface: name(c.InterfaceID), Check: c.Check, Status: c.Status,
			Count: c.Count, Label: labelText(c.Hypothesis.Label), LabelCode: string(c.Hypothesis.Label), Text: c.Hypothesis.Text, By: c.Hypothesis.By, CaseIDs: c.CaseIDs})
	}
	t := a.Coverage.Totals
	v.Coverage = []kv{
		{"Interfaces", strconv.Itoa(t.Interfaces)},
		{"Parameters", strconv.Itoa(t.Parameters)},
		{"Parameter × class exercised", ofShare(t.CellsExercised, t.CellsPossible, t.CellCoverage)},
		{"Case classes exercised", ofShare(t.ClassesExercised, t.ClassesPossible, t.ClassCoverage)},
		{"Documented statuses observed", ofShare(t.StatusesCovered, t.StatusesDocumented, t.StatusCoverage)},
		{"Responses conforming to their schema", ofShare(t.SchemaConforming, t.SchemaChecked, t.SchemaConformingShare)},
	}
	for _, ic := range a.Coverage.Interfaces {
		ci := covIface{ID: ic.InterfaceID, Name: name(ic.InterfaceID), DefinitionKnown: ic.DefinitionKnown,
			Cells: ofShare(ic.CellsExercised, ic.CellsPossible, ic.CellCoverage), Observed: list(ic.StatusesObserved),
			Documented: list(ic.StatusesDocumented), Statuses: ofShare(ic.StatusesCovered, len(ic.StatusesDocumented), ic.StatusCoverage),
			Schema: ofShare(ic.SchemaConforming, ic.SchemaChecked, ic.SchemaConformingShare), Unattributed: len(ic.UnattributedCases),
			CellsN: ic.CellsExercised, PossibleN: ic.CellsPossible, Raw: ic}
		if !ic.DefinitionKnown {
			ci.Cells = "not measured (definition unknown)"
		}
		for _, p := range ic.Parameters {
			cp := covParam{Name: p.Name, In: p.In, Required: p.Required}
			for _, c := range coverageClasses {
				cp.Cells = append(cp.Cells, cellOf(p, c))
			}
			ci.Params = append(ci.Params, cp)
		}
		v.CovIfaces = append(v.CovIfaces, ci)
	}
	sort.SliceStable(v.CovIfaces, func(i, j int) bool { return v.CovIfaces[i].Name < v.CovIfaces[j].Name })
}

func cellOf(p analysis.ParameterCoverage, class string) covCell {
	if class == "enum" && len(p.EnumValues) > 0 {
		n, of := len(p.EnumExercised), len(p.EnumValues)+1
		c := covCell{State: cellPart, Text: "✓ " + strconv.Itoa(n) + "/" + strconv.Itoa(of),
			Title: "values sent: " + list(p.EnumExercised) + " of " + strings.Join(p.EnumValues, ", ") + " and one outside"}
		switch n {
		case of:
			c.State = cellYes
		case 0:
			c.State, c.Text = cellNo, "✗ 0/"+strconv.Itoa(of)
		}
		return c
	}
	switch {
	case contains(p.Exercised, class):
		return covCell{State: cellYes, Text: "✓", Title: "exercised"}
	case contains(p.Possible, class):
		return covCell{State: cellNo, Text: "✗", Title: "not exercised"}
	}
	return covCell{}
}

// labelText shows a taxonomy label as words: validation_too_strict → validation too strict.
func labelText(l analysis.Label) string { return strings.ReplaceAll(string(l), "_", " ") }

// ofShare is "n of m (x%)", or "none" when there is nothing to count.
func ofShare(n, m int, share *float64) string {
	if m == 0 {
		return "none"
	}
	s := strconv.Itoa(n) + " of " + strconv.Itoa(m)
	if share != nil {
		s += " (" + strconv.FormatFloat(*share*100, 'f', 1, 64) + "%)"
	}
	return s
}

func list(s []string) string {
	if len(s) == 0 {
		return "—"
	}
	return strings.Join(s, ", ")
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func flatten(prefix string, m map[string]json.RawMessage, depth int, out *[]kv) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		v := bytes.TrimSpace(m[k])
		var sub map[string]json.RawMessage
		if depth < 3 && len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &sub) == nil && len(sub) > 0 {
			flatten(key, sub, depth+1, out)
			continue
		}
		var s string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			*out = append(*out, kv{Key: key, Value: s})
			continue
		}
		var buf bytes.Buffer
		if json.Compact(&buf, v) != nil {
			continue
		}
		*out = append(*out, kv{Key: key, Value: buf.String()})
	}
}
