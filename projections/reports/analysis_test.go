package reports_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/projections/reports"
)

// typedInput is input() with a real analysis document: coverage measured against a
// definition of list pets, and an LLM's narrative and hypotheses (one carrying markup).
func typedInput(t *testing.T) reports.Input {
	t.Helper()
	in := input()
	in.Submitted.Interfaces[0].Responses = map[string]iface.Response{"200": {}, "400": {}}
	in.Submitted.Cases[1].Class, in.Submitted.Cases[1].Name = "out_of_range", "query.limit: 1 over maximum 100"
	for i := range in.Submitted.Cases {
		if in.Submitted.Cases[i].Class == "" {
			in.Submitted.Cases[i].Class = "valid"
		}
	}
	in.Submitted.Cases[0].Request.Query = map[string]any{"limit": 10.0}
	h := analysis.BatchHistory{Submitted: in.Submitted, Results: in.Results, Completed: *in.Completed,
		Definitions: map[string]iface.Definition{"if-pets": {Method: "GET", Path: "/pets",
			Query: json.RawMessage(`{"type":"object","properties":{"limit":{"type":"integer","minimum":1,"maximum":100},"tag":{"type":"string","enum":["a","b"]}}}`)}}}
	a := analysis.Analyze(h, nil)
	hyps := make([]analysis.Hypothesis, len(a.Clusters))
	for i, c := range a.Clusters {
		if c.InterfaceID == "if-pets" {
			hyps[i] = analysis.Hypothesis{Label: analysis.ValidationMissing, Text: "limit is not checked " + injected}
		}
	}
	a = a.WithNarration(analysis.Narration{Narrator: "llm", Model: "m-1", Narrative: "Two failures " + injected + ".", Hypotheses: hyps})
	doc, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	in.Analysis = doc
	return in
}

func TestTypedAnalysisInEveryFormat(t *testing.T) {
	in := typedInput(t)
	html := string(render(t, in, reports.HTML))
	for _, want := range []string{"Failure clusters", "validation missing", "limit is not checked &lt;script&gt;",
		"Written by llm (m-1)", "GET /pets (list pets): parameter × class", "<code>query.limit</code>", `<td class="yes" title="exercised">✓</td>`,
		`<td class="no" title="not exercised">✗</td>`, "Parameter × class exercised", "2 of 8 (25.0%)", "environment network"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(html, injected) {
		t.Error("HTML passes the narrator's markup through")
	}
	mdOut := string(render(t, in, reports.Markdown))
	for _, want := range []string{"## Failure clusters", "**validation missing**", "### GET /pets (list pets): parameter × class",
		"| query.limit | query |  | ✓ | ✗ | ✓ |  | ✗ |  |  |  |", "| query.tag | query |  | ✗ |  |  |  |  |  | ✗ 0/3 |  |", "_Written by llm (m-1)_"} {
		if !strings.Contains(mdOut, want) {
			t.Errorf("Markdown lacks %q\n%s", want, mdOut)
		}
	}
	var d struct {
		Narrator string `json:"narrator"`
		Clusters []struct {
			Label, Hypothesis, By string
			Count                 int
		} `json:"clusters"`
		CoverageInterfaces []struct {
			Name string `json:"name"`
			analysis.InterfaceCoverage
		} `json:"coverage_interfaces"`
	}
	if err := json.Unmarshal(render(t, in, reports.JSON), &d); err != nil {
		t.Fatal(err)
	}
	// Clusters of one case each sort by interface id: if-add (no response) first.
	if d.Narrator != "llm (m-1)" || len(d.Clusters) != 2 || d.Clusters[1].Label != "validation_missing" || d.Clusters[1].By != "llm" ||
		d.Clusters[0].Label != "environment_network" || d.Clusters[0].By != "rules" {
		t.Fatalf("JSON clusters %+v (narrator %q)", d.Clusters, d.Narrator)
	}
	var pets *analysis.InterfaceCoverage
	for i := range d.CoverageInterfaces {
		if d.CoverageInterfaces[i].InterfaceID == "if-pets" {
			pets = &d.CoverageInterfaces[i].InterfaceCoverage
		}
	}
	if pets == nil || pets.CellsPossible != 8 || pets.CellsExercised != 2 || len(pets.Parameters) != 2 ||
		strings.Join(pets.StatusesDocumented, ",") != "200,400" {
		t.Fatalf("JSON coverage %+v", d.CoverageInterfaces)
	}
	// Twice from the same events: the same bytes, in every format.
	for _, f := range reports.Formats {
		if !bytes.Equal(render(t, in, f), render(t, typedInput(t), f)) {
			t.Errorf("%s: renderings differ", f)
		}
	}
}
