package ai

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tmc/langchaingo/llms"

	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// NoKeyReason is the fallback reason without an LLM (the reactor records the same words).
const NoKeyReason = "no LLM configured"

// purposeGenerate labels the generation's metrics.
const purposeGenerate = "generate"

// Generator produces an interface's cases with the LLM, and falls back to domain/casegen
// when there is no key, the call times out or fails, or the answer stays unreadable after
// one repair attempt. Safe for concurrent use; the Client bounds the calls in flight.
type Generator struct {
	client  *Client // nil: no LLM, every generation falls back
	metrics *metrics
}

// NewGenerator builds a Generator; client may be nil (no key), reg may be nil.
func NewGenerator(client *Client, reg prometheus.Registerer) (*Generator, error) {
	if client != nil {
		return &Generator{client: client, metrics: client.metrics}, nil
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Generator{metrics: m}, nil
}

// Generate returns def's cases and how they were made. opt is the rule generator's
// (seed, cap, ids: the same for both paths, so the ids stay derived from the generation);
// opt.Classes is ignored. The error is ctx's only: when the caller stops, nothing is to be
// recorded; every other failure ends in the rule-based cases with the reason.
func (g *Generator) Generate(ctx context.Context, def iface.Definition, opt casegen.Options, hints string) ([]testcase.Case, iface.GenerationInfo, error) {
	start := time.Now()
	rules := casegen.Generate(def, casegen.Options{Seed: opt.Seed})
	if g.client == nil {
		return g.fallback(def, opt, iface.GenerationInfo{}, LabelNoKey, NoKeyReason, start)
	}
	info := iface.GenerationInfo{Generator: "llm", Model: g.client.ModelName(), PromptVersion: PromptVersion}
	msgs, err := GenerateMessages(def, g.ask(opt.MaxCases), hints)
	if err != nil {
		return g.fallback(def, opt, info, LabelError, "error: "+err.Error(), start)
	}
	answer, u, err := g.client.Call(ctx, purposeGenerate, msgs)
	info.TokensIn, info.TokensOut = u.TokensIn, u.TokensOut
	if err != nil {
		return g.callFailed(ctx, def, opt, info, err, start)
	}
	raw, _, perr := parseCases(answer)
	if perr != nil {
		// One repair attempt: the model sees its answer and why it could not be read.
		fix := append(msgs, llms.TextParts(llms.ChatMessageTypeAI, clip(answer, 20000)),
			llms.TextParts(llms.ChatMessageTypeHuman, "Your answer could not be read ("+perr.Error()+
				"). Answer again with only the JSON object of the answer schema: no prose, no code fence."))
		answer, u, err = g.client.Call(ctx, purposeGenerate, fix)
		info.TokensIn, info.TokensOut = info.TokensIn+u.TokensIn, info.TokensOut+u.TokensOut
		if err != nil {
			if ctx.Err() != nil {
				return nil, info, ctx.Err()
			}
			return g.fallback(def, opt, info, LabelGarbage, clip(fmt.Sprintf("garbage: %v; the repair call failed: %v", perr, err), 500), start)
		}
		if raw, _, err = parseCases(answer); err != nil {
			return g.fallback(def, opt, info, LabelGarbage, clip("garbage after a repair attempt: "+err.Error(), 500), start)
		}
	}
	var base testcase.Request
	if len(rules) > 0 && rules[0].Class == testcase.Valid {
		base = rules[0].Request
	}
	b, err := newBuilder(def, base)
	if err != nil {
		return g.fallback(def, opt, info, LabelError, "error: "+err.Error(), start)
	}
	for i, rc := range raw {
		b.add(i, rc)
	}
	info.Dropped = b.dropped
	if len(b.accepted) == 0 {
		return g.fallback(def, opt, info, LabelGarbage, fmt.Sprintf("garbage: all %d cases of the answer failed validation", len(raw)), start)
	}
	cases := b.finish(rules, opt)
	info.DurationMS = time.Since(start).Milliseconds()
	return cases, info, nil
}

// tokensPerCase is about what one compact case costs in answer tokens.
const tokensPerCase = 120

// ask is how many cases to ask for: the cap, or fewer when more would not fit in the
// answer's token limit (a cut answer loses its last cases; the rules fill the cells they left).
func (g *Generator) ask(maxCases int) int {
	n := g.client.cfg.MaxTokens / tokensPerCase
	if maxCases > 0 {
		n = min(n, maxCases)
	}
	return max(n, 1)
}

// callFailed falls back after a failed call: a timeout or another error.
func (g *Generator) callFailed(ctx context.Context, def iface.Definition, opt casegen.Options, info iface.GenerationInfo, err error, start time.Time) ([]testcase.Case, iface.GenerationInfo, error) {
	switch {
	case ctx.Err() != nil:
		return nil, info, ctx.Err()
	case errors.Is(err, ErrTimeout):
		return g.fallback(def, opt, info, LabelTimeout, "timeout: "+err.Error(), start)
	}
	return g.fallback(def, opt, info, LabelError, clip("error: "+err.Error(), 500), start)
}

// fallback generates with the rules, keeping what the LLM attempt cost in info.
func (g *Generator) fallback(def iface.Definition, opt casegen.Options, info iface.GenerationInfo, label, reason string, start time.Time) ([]testcase.Case, iface.GenerationInfo, error) {
	g.metrics.fallbacks.WithLabelValues(purposeGenerate, label).Inc()
	opt.Classes = nil
	cases := casegen.Generate(def, opt)
	info.Generator, info.FallbackReason = "rules", reason
	info.DurationMS = time.Since(start).Milliseconds()
	return cases, info, nil
}
