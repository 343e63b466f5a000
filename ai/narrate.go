package ai

import (
	"bytes"
	"context"
	_ "embed" // the narration prompt
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/assay-dev/assay/domain/analysis"
)

// NarratePromptVersion names the narration prompt.
const NarratePromptVersion = "narrate.v1"

//go:embed prompts/narrate.v1.md
var narratePrompt string

const narrUserMarker = "<!-- user -->\n"

var narrTemplate = template.Must(template.New(NarratePromptVersion).Option("missingkey=error").
	Parse(narratePrompt[strings.Index(narratePrompt, narrUserMarker)+len(narrUserMarker):]))

// Fallback reasons of a narration (also the reason label of the fallbacks metric).
const (
	NarrateNoModel = "no_model"
	NarrateTimeout = "timeout"
	NarrateError   = "error"
	NarrateGarbage = "garbage"
)

// NarratorMetrics are counters another part registered (the generation client registers
// assay_llm_calls_total{purpose,outcome} and assay_llm_fallbacks_total{purpose,reason}); a
// nil one is not counted. The narrator counts with purpose "narrate".
type NarratorMetrics struct {
	Calls     *prometheus.CounterVec // labels purpose, outcome (ok, error, timeout, garbage)
	Fallbacks *prometheus.CounterVec // labels purpose, reason
}

// NarratorConfig tunes a Narrator.
type NarratorConfig struct {
	Model       string        // the model's name, asked for and recorded with every narration
	Timeout     time.Duration // one call's limit (default 20s: under the reactor's 30s AckWait)
	MaxTokens   int           // default 1500
	Temperature float64       // default 0 (the facts are fixed; the wording may be plain)
	Metrics     NarratorMetrics
}

func (c *NarratorConfig) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 20 * time.Second
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = 1500
	}
}

// Validate reports every bad setting.
func (c NarratorConfig) Validate() error {
	var errs []error
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if c.MaxTokens < 0 {
		errs = append(errs, errors.New("max tokens must not be negative"))
	}
	if c.Temperature < 0 || c.Temperature > 2 {
		errs = append(errs, errors.New("temperature must be within 0 and 2"))
	}
	return errors.Join(errs...)
}

// Narrator has an LLM write an analysis's narrative and one root-cause hypothesis per
// failure cluster. Whatever goes wrong, the analysis keeps the rules' words and the
// narration says why (Fallback); the numbers are never the model's.
type Narrator struct {
	model llms.Model
	cfg   NarratorConfig
}

// NewNarrator builds a Narrator; a nil model (or a nil *Narrator) always falls back to the
// rules, with the reason no_model.
func NewNarrator(model llms.Model, cfg NarratorConfig) (*Narrator, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ai: narrator config: %w", err)
	}
	return &Narrator{model: model, cfg: cfg}, nil
}

// Narrate asks the model. It fails only when ctx ends (the caller is stopping: nothing
// should be recorded); a timeout of its own, an error or an unusable answer give the rules'
// narration with the reason.
func (n *Narrator) Narrate(ctx context.Context, a analysis.Analysis) (analysis.Narration, error) {
	if n == nil || n.model == nil {
		return n.fallback(NarrateNoModel, "no LLM configured"), nil
	}
	msgs, facts, err := NarrateMessages(a)
	if err != nil {
		return n.fallback(NarrateError, err.Error()), nil
	}
	cctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	opts := []llms.CallOption{llms.WithMaxTokens(n.cfg.MaxTokens), llms.WithTemperature(n.cfg.Temperature),
		openai.WithLegacyMaxTokensField()} // max_tokens: what OpenAI-compatible servers (DeepSeek) read
	if n.cfg.Model != "" {
		opts = append(opts, llms.WithModel(n.cfg.Model))
	}
	resp, err := n.model.GenerateContent(cctx, msgs, opts...)
	switch {
	case ctx.Err() != nil:
		return analysis.Narration{}, fmt.Errorf("ai: narrate batch %s: %w", a.BatchID, ctx.Err())
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || cctx.Err() != nil):
		n.count(NarrateTimeout)
		return n.fallback(NarrateTimeout, fmt.Sprintf("no answer within %s", n.cfg.Timeout)), nil
	case err != nil:
		n.count(NarrateError)
		return n.fallback(NarrateError, narrClip(err.Error(), 200)), nil
	case len(resp.Choices) == 0 || resp.Choices[0] == nil:
		n.count(NarrateGarbage)
		return n.fallback(NarrateGarbage, "the answer has no choice"), nil
	}
	out, err := parseNarration(resp.Choices[0].Content, a, facts)
	if err != nil {
		n.count(NarrateGarbage)
		return n.fallback(NarrateGarbage, err.Error()), nil
	}
	n.count("ok")
	out.Model = n.cfg.Model
	return out, nil
}

func (n *Narrator) fallback(reason, detail string) analysis.Narration {
	if n == nil {
		return analysis.Narration{Narrator: analysis.NarratorRules, Fallback: reason + ": " + detail}
	}
	if m := n.cfg.Metrics.Fallbacks; m != nil {
		m.With(prometheus.Labels{"purpose": "narrate", "reason": reason}).Inc()
	}
	return analysis.Narration{Narrator: analysis.NarratorRules, Fallback: reason + ": " + detail}
}

func (n *Narrator) count(outcome string) {
	if m := n.cfg.Metrics.Calls; m != nil {
		m.With(prometheus.Labels{"purpose": "narrate", "outcome": outcome}).Inc()
	}
}

// narrCluster is one cluster as the model sees it.
type narrCluster struct {
	Cluster        int            `json:"cluster"`
	Interface      string         `json:"interface"`
	Check          string         `json:"check"`
	Status         int            `json:"status"`
	Count          int            `json:"count"`
	Classes        map[string]int `json:"classes"`
	RuleHypothesis string         `json:"rule_hypothesis"`
}

// narrFacts is what the model is told: the analysis without case ids and per-parameter
// detail, which cost tokens and explain nothing.
type narrFacts struct {
	Totals          analysis.Totals         `json:"totals"`
	Latency         analysis.Latency        `json:"latency_ms"`
	Canceled        bool                    `json:"canceled"`
	Interfaces      []narrInterface         `json:"interfaces"`
	Clusters        []narrCluster           `json:"clusters"`
	PreviousBatches int                     `json:"previous_batches"`
	Regressions     int                     `json:"regressions"`
	Flaky           int                     `json:"flaky"`
	Coverage        analysis.CoverageTotals `json:"coverage"`
	Untested        map[string][]string     `json:"untested,omitempty"`
}

type narrInterface struct {
	Interface string           `json:"interface"`
	Totals    analysis.Totals  `json:"totals"`
	Latency   analysis.Latency `json:"latency_ms"`
}

// narrUntested caps the untested cells the model is shown.
const narrUntested = 30

func narrFactsOf(a analysis.Analysis) narrFacts {
	f := narrFacts{Totals: a.Totals, Latency: a.Latency, Canceled: a.Canceled, PreviousBatches: len(a.PreviousBatches),
		Regressions: len(a.Regressions), Flaky: len(a.Flaky), Coverage: a.Coverage.Totals, Interfaces: []narrInterface{},
		Clusters: []narrCluster{}}
	names := map[string]string{}
	for _, i := range a.Interfaces {
		names[i.InterfaceID] = strings.TrimSpace(i.Method + " " + i.Path)
		if names[i.InterfaceID] == "" {
			names[i.InterfaceID] = i.InterfaceID
		}
		f.Interfaces = append(f.Interfaces, narrInterface{Interface: names[i.InterfaceID], Totals: i.Totals, Latency: i.Latency})
	}
	for i, c := range a.Clusters {
		f.Clusters = append(f.Clusters, narrCluster{Cluster: i + 1, Interface: names[c.InterfaceID], Check: c.Check,
			Status: c.Status, Count: c.Count, Classes: c.Classes, RuleHypothesis: string(c.Hypothesis.Label) + ": " + c.Hypothesis.Text})
	}
	shown := 0
	for _, ic := range a.Coverage.Interfaces {
		for _, p := range ic.Parameters {
			for _, c := range p.Possible {
				if shown < narrUntested && !narrContains(p.Exercised, c) {
					if f.Untested == nil {
						f.Untested = map[string][]string{}
					}
					k := names[ic.InterfaceID] + " " + p.Name
					f.Untested[k] = append(f.Untested[k], c)
					shown++
				}
			}
		}
	}
	return f
}

func narrContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// NarrateMessages renders the narration prompt for a: the system message and the user
// message; facts is the JSON the model is shown.
func NarrateMessages(a analysis.Analysis) ([]llms.MessageContent, []byte, error) {
	facts, err := json.MarshalIndent(narrFactsOf(a), "", " ")
	if err != nil {
		return nil, nil, fmt.Errorf("ai: render the facts: %w", err)
	}
	var b bytes.Buffer
	if err := narrTemplate.Execute(&b, map[string]any{"BatchID": a.BatchID, "Facts": string(facts)}); err != nil {
		return nil, nil, fmt.Errorf("ai: render the narration prompt: %w", err)
	}
	system := strings.TrimSpace(narratePrompt[:strings.Index(narratePrompt, narrUserMarker)])
	return []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, system),
		llms.TextParts(llms.ChatMessageTypeHuman, b.String()),
	}, facts, nil
}

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
