package reports

import (
	"strconv"
	"strings"
)

func renderMarkdown(r report) ([]byte, error) {
	var b strings.Builder
	w := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
	}
	w("# Batch ", md(r.BatchID), "\n\n")
	w("| | |\n|---|---|\n")
	w("| App | ", md(r.AppID), " |\n")
	if r.Environment != "" {
		w("| Environment | ", md(r.Environment), " |\n")
	}
	w("| Status | ", r.Status, " |\n")
	w("| Total | ", strconv.Itoa(r.Totals.Total), " |\n")
	w("| Passed | ", strconv.Itoa(r.Totals.Passed), " (", pct(r.Totals.Passed, r.Totals.Total), ") |\n")
	w("| Failed | ", strconv.Itoa(r.Totals.Failed), " |\n")
	w("| Errored | ", strconv.Itoa(r.Totals.Errored), " |\n")
	w("| Canceled | ", strconv.Itoa(r.Totals.Canceled), " |\n")
	if r.NotRun > 0 {
		w("| Not run | ", strconv.Itoa(r.NotRun), " |\n")
	}
	if r.DurationMS > 0 {
		w("| Duration | ", seconds(float64(r.DurationMS)), " s |\n")
	}
	if r.Latency != nil {
		w("| Latency p50 / p95 / p99 | ", ms(r.Latency.P50), " / ", ms(r.Latency.P95), " / ", ms(r.Latency.P99), " ms |\n")
	}
	if r.Narrative != "" {
		w("\n## Analysis\n\n", md(r.Narrative), "\n")
		if r.Narrator != "" {
			w("\n_Written by ", md(r.Narrator))
			if r.Fallback != "" {
				w(" · ", md(r.Fallback))
			}
			w("_\n")
		}
	}
	if len(r.Clusters) > 0 {
		w("\n## Failure clusters\n\n| Interface | Failed check | Status | Cases | Likely cause | Hypothesis |\n|---|---|--:|--:|---|---|\n")
		for _, c := range r.Clusters {
			status := "none"
			if c.Status > 0 {
				status = strconv.Itoa(c.Status)
			}
			text := md(c.Text)
			if c.By != "" {
				text += " (" + md(c.By) + ")"
			}
			w("| ", md(c.Interface), " | ", md(c.Check), " | ", status, " | ", strconv.Itoa(c.Count), " | **", md(c.Label), "** | ", text, " |\n")
		}
	}

	w("\n## Interfaces\n\n| Interface | Method | Path | Total | Passed | Failed | Errored | Canceled | Pass rate |\n")
	w("|---|---|---|--:|--:|--:|--:|--:|--:|\n")
	for _, i := range r.Interfaces {
		t := i.Totals
		w("| ", md(i.Name), " | ", md(i.Method), " | ", md(i.Path), " | ", strconv.Itoa(t.Total), " | ",
			strconv.Itoa(t.Passed), " | ", strconv.Itoa(t.Failed), " | ", strconv.Itoa(t.Errored), " | ",
			strconv.Itoa(t.Canceled), " | ", pct(t.Passed, t.Total), " |\n")
	}

	if len(r.Coverage) > 0 {
		w("\n## Coverage\n\n| Item | Value |\n|---|---|\n")
		for _, c := range r.Coverage {
			w("| ", md(c.Key), " | ", md(c.Value), " |\n")
		}
	}
	markdownCoverage(w, r.CovIfaces)

	w("\n## Failures\n\n")
	if len(r.Failures) == 0 {
		w("None.\n")
	}
	for _, f := range r.Failures {
		c := f.Case
		w("### ", md(c.Name), " (", c.Outcome, ")\n\n")
		w("- Interface: ", md(suiteName(f.Interface.Method, f.Interface.Path, f.Interface.Name)), "\n")
		w("- Case: ", md(c.ID), "\n")
		w("- Status: ", strconv.Itoa(c.StatusCode), ", ", ms(c.DurationMS), " ms\n")
		if c.Error != "" {
			w("- Error: ", md(c.Error), "\n")
		}
		for _, a := range c.FailedAssertions {
			w("- Assertion failed: ", md(assertionLine(a)), "\n")
		}
		w("\nRequest:\n\n", fence(requestText(c.Request)), "\n")
		w("Response:\n\n", fence(responseText(c.Response)), "\n")
	}
	return []byte(b.String()), nil
}

// markdownCoverage writes the per-interface coverage and each interface's parameter ×
// class table (✓ exercised, ✗ applicable but not exercised, blank not applicable).
func markdownCoverage(w func(...string), ifaces []covIface) {
	if len(ifaces) == 0 {
		return
	}
	w("\n| Interface | Parameter × class | Statuses observed | Statuses documented | Documented observed | Schema-conforming responses |\n")
	w("|---|---|---|---|---|---|\n")
	for _, i := range ifaces {
		w("| ", md(i.Name), " | ", md(i.Cells), " | ", md(i.Observed), " | ", md(i.Documented), " | ", md(i.Statuses), " | ", md(i.Schema), " |\n")
	}
	for _, i := range ifaces {
		if len(i.Params) == 0 {
			continue
		}
		w("\n### ", md(i.Name), ": parameter × class\n\n| Parameter | In | Required |")
		for _, c := range coverageClasses {
			w(" ", md(c), " |")
		}
		w("\n|---|---|---|", strings.Repeat(":-:|", len(coverageClasses)), "\n")
		for _, p := range i.Params {
			req := ""
			if p.Required {
				req = "yes"
			}
			w("| ", md(p.Name), " | ", p.In, " | ", req, " |")
			for _, c := range p.Cells {
				w(" ", c.Text, " |")
			}
			w("\n")
		}
		w("\n✓ exercised · ✗ applicable but not exercised · blank: not applicable to the parameter · enum: values sent of each value and one outside\n")
		if i.Unattributed > 0 {
			w("\n", strconv.Itoa(i.Unattributed), " case(s) name no parameter of the definition and are not counted.\n")
		}
	}
}

var mdEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|", "\\", "\\\\", "`", "\\`", "*", "\\*",
	"_", "\\_", "[", "\\[", "]", "\\]", "#", "\\#", "\r\n", " ", "\n", " ", "\r", " ")

// md escapes text for a Markdown line or table cell; raw HTML never passes through.
func md(s string) string { return mdEscaper.Replace(s) }

// fence puts text in a fenced code block longer than any backtick run inside it.
func fence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	s = strings.TrimRight(s, "\n")
	return f + "\n" + s + "\n" + f + "\n"
}

func requestText(q request) string {
	var b strings.Builder
	b.WriteString(q.Method + " " + q.URL + "\n")
	for _, h := range q.Headers {
		b.WriteString(h.Name + ": " + h.Value + "\n")
	}
	if q.Body != "" {
		b.WriteString("\n" + q.Body + "\n")
	}
	if q.BodyTruncated {
		b.WriteString("[body truncated]\n")
	}
	return b.String()
}

func responseText(p response) string {
	var b strings.Builder
	b.WriteString("HTTP " + strconv.Itoa(p.Status) + "\n")
	for _, h := range p.Headers {
		b.WriteString(h.Name + ": " + h.Value + "\n")
	}
	if p.Body != "" {
		b.WriteString("\n" + p.Body + "\n")
	}
	if p.BodyTruncated {
		b.WriteString("[body truncated]\n")
	}
	return b.String()
}
