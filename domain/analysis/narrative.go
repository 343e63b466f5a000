package analysis

import (
	"fmt"
	"strconv"
	"strings"
)

// maxClustersNarrated is how many of the biggest clusters the narrative names.
const maxClustersNarrated = 3

// Narrate writes a paragraph from a's numbers: the same numbers give the same text.
func Narrate(a Analysis) string {
	var b strings.Builder
	t := a.Totals
	fmt.Fprintf(&b, "Batch %s ran %s: %d passed (%s), %d failed (%s), %d errored (%s)",
		a.BatchID, plural(t.Total, "case", "cases"), t.Passed, pct(t.PassRate), t.Failed, pct(t.FailRate), t.Errored, pct(t.ErrorRate))
	if t.Canceled > 0 {
		fmt.Fprintf(&b, ", %d canceled", t.Canceled)
	}
	b.WriteString(".")
	if a.Canceled {
		b.WriteString(" The batch was canceled.")
	}
	if t.Passed+t.Failed > 0 {
		fmt.Fprintf(&b, " Latency was %s ms at p50, %s ms at p95 and %s ms at p99.", num(a.Latency.P50), num(a.Latency.P95), num(a.Latency.P99))
	}
	if len(a.Clusters) == 0 {
		b.WriteString(" No case failed.")
	} else {
		names := map[string]string{}
		for _, i := range a.Interfaces {
			names[i.InterfaceID] = strings.TrimSpace(i.Method + " " + i.Path)
			if names[i.InterfaceID] == "" {
				names[i.InterfaceID] = i.InterfaceID
			}
		}
		var parts []string
		for _, c := range a.Clusters[:min(len(a.Clusters), maxClustersNarrated)] {
			status := "no response"
			if c.Status > 0 {
				status = "status " + strconv.Itoa(c.Status)
			}
			part := fmt.Sprintf("%s on %s failing %s with %s", plural(c.Count, "case", "cases"), names[c.InterfaceID], c.Check, status)
			if c.Hypothesis.Label != "" {
				part += " (likely " + strings.ReplaceAll(string(c.Hypothesis.Label), "_", " ") + ")"
			}
			parts = append(parts, part)
		}
		fmt.Fprintf(&b, " Failures fall into %s; the largest: %s.", plural(len(a.Clusters), "cluster", "clusters"), strings.Join(parts, "; "))
	}
	if len(a.PreviousBatches) == 0 {
		b.WriteString(" There is no previous batch to compare with.")
	} else {
		fmt.Fprintf(&b, " Against the %s before, %s regressed (passed then, fails now) and %s flaky.",
			plural(len(a.PreviousBatches), "batch", "batches"), plural(len(a.Regressions), "case", "cases"),
			plural(len(a.Flaky), "case is", "cases are"))
	}
	c := a.Coverage.Totals
	fmt.Fprintf(&b, " Coverage: %d of %d case classes exercised across %s", c.ClassesExercised, c.ClassesPossible, plural(c.Interfaces, "interface", "interfaces"))
	if c.CellsPossible > 0 {
		fmt.Fprintf(&b, ", %d of %d parameter × class combinations", c.CellsExercised, c.CellsPossible)
	}
	if c.StatusesDocumented > 0 {
		fmt.Fprintf(&b, ", %d of %d documented statuses observed", c.StatusesCovered, c.StatusesDocumented)
	} else {
		b.WriteString(", no documented statuses")
	}
	if c.SchemaConformingShare != nil {
		fmt.Fprintf(&b, ", %s of %d schema-checked responses conforming", pct(*c.SchemaConformingShare), c.SchemaChecked)
	}
	b.WriteString(".")
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// pct formats a rate as a percentage with one decimal.
func pct(r float64) string { return strconv.FormatFloat(r*100, 'f', 1, 64) + "%" }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
