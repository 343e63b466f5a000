package ai

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Fallback reasons as metric labels (the Grafana dashboard uses them).
const (
	LabelNoKey   = "no_key"
	LabelTimeout = "timeout"
	LabelError   = "error"
	LabelGarbage = "garbage"
)

// metrics of the LLM calls; the names are used by the Grafana dashboard.
type metrics struct {
	calls     *prometheus.CounterVec   // purpose, outcome (ok, timeout, error)
	tokens    *prometheus.CounterVec   // purpose, direction (in, out)
	fallbacks *prometheus.CounterVec   // purpose, reason (no_key, timeout, error, garbage)
	seconds   *prometheus.HistogramVec // purpose
}

// newMetrics registers the metrics on reg (nil: unregistered). Several clients and
// generators may share a registry, so an already registered collector is reused.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_llm_calls_total",
			Help: "LLM calls by purpose and outcome (ok, timeout, error)."}, []string{"purpose", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_llm_tokens_total",
			Help: "LLM tokens by purpose and direction (in: prompt, out: completion)."}, []string{"purpose", "direction"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_llm_fallbacks_total",
			Help: "Times the rule-based path replaced the LLM, by purpose and reason."}, []string{"purpose", "reason"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "assay_llm_call_seconds",
			Help: "Duration of one LLM call, queueing excluded.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}, []string{"purpose"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.calls, err = register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.tokens, err = register(reg, m.tokens); err != nil {
		return nil, err
	}
	if m.fallbacks, err = register(reg, m.fallbacks); err != nil {
		return nil, err
	}
	if m.seconds, err = register(reg, m.seconds); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("ai: register metrics: %w", err)
	}
	return c, nil
}
