package ai

import (
	"bytes"
	"context"
	_ "embed" // the narration prompt
	"encoding/json"
	"errors"
	"fmt"
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
	Timeout     time.Duration // one call's limit (default 20s; assay uses the LLM client's timeout)
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
