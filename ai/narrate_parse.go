package ai

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/analysis"
)

// narrAnswer is the answer's shape; fields are read loosely.
type narrAnswer struct {
	Narrative  string `json:"narrative"`
	Hypotheses []struct {
		Cluster json.Number `json:"cluster"`
		Label   string      `json:"label"`
		Text    string      `json:"text"`
	} `json:"hypotheses"`
}

// parseNarration reads the model's answer: the first JSON object holding a narrative,
// wherever it is (code fences and prose around it are skipped). A narrative that states a
// number the facts do not hold is refused; a hypothesis with an unknown label, or for no
// cluster, is dropped (its cluster keeps the rules' one) and the drop is noted in Fallback.
func parseNarration(text string, a analysis.Analysis, facts []byte) (analysis.Narration, error) {
	ans, ok := narrFind(text)
	if !ok {
		return analysis.Narration{}, errors.New("no JSON object with a narrative in the answer")
	}
	if bad, ok := narrStrayNumber(ans.Narrative, facts, len(a.Clusters)); ok {
		return analysis.Narration{}, fmt.Errorf("the narrative states %s, a number the analysis does not hold", bad)
	}
	out := analysis.Narration{Narrative: strings.TrimSpace(ans.Narrative), Narrator: analysis.NarratorLLM,
		Hypotheses: make([]analysis.Hypothesis, len(a.Clusters))}
	var dropped []string
	for i, h := range ans.Hypotheses {
		idx := i
		if n, err := h.Cluster.Int64(); err == nil {
			idx = int(n) - 1
		}
		label, known := analysis.ParseLabel(h.Label)
		switch {
		case idx < 0 || idx >= len(a.Clusters):
			dropped = append(dropped, fmt.Sprintf("cluster %s does not exist", h.Cluster))
		case !known:
			dropped = append(dropped, fmt.Sprintf("cluster %d: unknown label %q", idx+1, narrClip(h.Label, 40)))
		case strings.TrimSpace(h.Text) == "":
			dropped = append(dropped, fmt.Sprintf("cluster %d: no text", idx+1))
		case out.Hypotheses[idx].Label == "":
			out.Hypotheses[idx] = analysis.Hypothesis{Label: label, Text: narrClip(strings.TrimSpace(h.Text), 1000), By: analysis.NarratorLLM}
		}
	}
	missing := 0
	for _, h := range out.Hypotheses {
		if h.Label == "" {
			missing++
		}
	}
	if missing > 0 {
		out.Fallback = fmt.Sprintf("rules' hypothesis kept for %d of %d clusters", missing, len(a.Clusters))
		if len(dropped) > 0 {
			out.Fallback += " (" + strings.Join(dropped, "; ") + ")"
		}
	}
	return out, nil
}

// narrFind decodes the first JSON object of text that has a non-empty narrative.
func narrFind(text string) (narrAnswer, bool) {
	for i := 0; i < len(text); i++ {
		j := strings.IndexByte(text[i:], '{')
		if j < 0 {
			break
		}
		i += j
		dec := json.NewDecoder(strings.NewReader(text[i:]))
		dec.UseNumber()
		var ans narrAnswer
		if dec.Decode(&ans) == nil && strings.TrimSpace(ans.Narrative) != "" {
			return ans, true
		}
	}
	return narrAnswer{}, false
}

// narrNumber is a number in prose; one glued to letters (p95, 5xx, v1) is a name, not a number.
var narrNumber = regexp.MustCompile(`[A-Za-z_]*\d+(?:[.,]\d+)*[A-Za-z_]*`)

// narrStrayNumber returns the first number of the narrative that is neither a number of the
// facts, nor a share of them written as a percentage, nor a cluster's number.
func narrStrayNumber(narrative string, facts []byte, clusters int) (string, bool) {
	var known []float64
	for _, m := range regexp.MustCompile(`-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?`).FindAllString(string(facts), -1) {
		if f, err := strconv.ParseFloat(m, 64); err == nil {
			known = append(known, f, f*100)
		}
	}
	for i := 0; i <= clusters; i++ {
		known = append(known, float64(i))
	}
	for _, m := range narrNumber.FindAllString(narrative, -1) {
		if m[0] < '0' || m[0] > '9' || (m[len(m)-1] < '0' || m[len(m)-1] > '9') {
			continue
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", ""), 64)
		if err != nil {
			continue
		}
		ok := false
		for _, k := range known {
			// rounding to a whole or one decimal is fine: 33.3% of 0.3333
			if math.Abs(f-k) <= 0.5 && (f == math.Trunc(f) || math.Abs(f-k) <= 0.05) {
				ok = true
				break
			}
		}
		if !ok {
			return m, true
		}
	}
	return "", false
}

func narrClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}
