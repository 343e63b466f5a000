package ai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"
)

// ErrTimeout is a call that did not answer within Config.Timeout.
var ErrTimeout = errors.New("ai: the LLM did not answer in time")

// NewModel builds the OpenAI-compatible langchaingo model of cfg (defaults applied).
func NewModel(cfg Config) (llms.Model, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Own transport: enough idle connections for MaxConcurrency calls to one host (the
	// default keeps 2, and every further call would open a new TLS connection).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.MaxConcurrency
	m, err := openai.New(openai.WithBaseURL(cfg.BaseURL), openai.WithToken(cfg.APIKey), openai.WithModel(cfg.Model),
		openai.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		return nil, fmt.Errorf("ai: build the model: %w", err)
	}
	return m, nil
}

// Usage is what one call consumed.
type Usage struct {
	TokensIn, TokensOut int
	Duration            time.Duration
}

// Add sums two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{TokensIn: u.TokensIn + o.TokensIn, TokensOut: u.TokensOut + o.TokensOut, Duration: u.Duration + o.Duration}
}

// Client is the LLM shared by every caller (generation, narratives): one model, one
// limit on the calls in flight, one set of metrics. Safe for concurrent use.
type Client struct {
	Model   llms.Model
	cfg     Config
	sem     chan struct{}
	metrics *metrics
}

// NewClient builds the model of cfg and the limiter; reg may be nil (no metrics).
func NewClient(cfg Config, reg prometheus.Registerer) (*Client, error) {
	cfg.setDefaults()
	m, err := NewModel(cfg)
	if err != nil {
		return nil, err
	}
	return NewClientWithModel(m, cfg, reg)
}

// NewClientWithModel wraps an existing model (a test double, another provider).
// cfg.APIKey is not checked: the model carries its own credentials.
func NewClientWithModel(model llms.Model, cfg Config, reg prometheus.Registerer) (*Client, error) {
	if cfg.APIKey == "" {
		cfg.APIKey = "-"
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	met, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Client{Model: model, cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrency), metrics: met}, nil
}

// ModelName is the configured model.
func (c *Client) ModelName() string { return c.cfg.Model }

// Call sends messages and returns the first choice's text. purpose labels the metrics
// (generate, narrate). It waits for a free slot (bounded by ctx), then gives the model
// Config.Timeout; a call past it returns an error wrapping ErrTimeout. ctx's own end
// returns ctx's error.
func (c *Client) Call(ctx context.Context, purpose string, messages []llms.MessageContent) (string, Usage, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", Usage{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	cctx, cancel := context.WithTimeoutCause(ctx, c.cfg.Timeout, ErrTimeout)
	defer cancel()
	start := time.Now()
	resp, err := c.Model.GenerateContent(cctx, messages, llms.WithModel(c.cfg.Model), llms.WithMaxTokens(c.cfg.MaxTokens),
		llms.WithTemperature(c.cfg.Temperature), openai.WithLegacyMaxTokensField())
	u := Usage{Duration: time.Since(start)}
	c.metrics.seconds.WithLabelValues(purpose).Observe(u.Duration.Seconds())
	switch {
	case err == nil && (resp == nil || len(resp.Choices) == 0):
		err = errors.New("ai: the LLM answered no choice")
	case err != nil && ctx.Err() != nil:
		c.metrics.calls.WithLabelValues(purpose, "canceled").Inc()
		return "", u, ctx.Err()
	case err != nil && errors.Is(context.Cause(cctx), ErrTimeout):
		c.metrics.calls.WithLabelValues(purpose, LabelTimeout).Inc()
		return "", u, fmt.Errorf("%w (%s)", ErrTimeout, c.cfg.Timeout)
	}
	if err != nil {
		c.metrics.calls.WithLabelValues(purpose, LabelError).Inc()
		return "", u, fmt.Errorf("ai: LLM call: %w", err)
	}
	ch := resp.Choices[0]
	u.TokensIn, u.TokensOut = intInfo(ch.GenerationInfo, "PromptTokens"), intInfo(ch.GenerationInfo, "CompletionTokens")
	c.metrics.calls.WithLabelValues(purpose, "ok").Inc()
	c.metrics.tokens.WithLabelValues(purpose, "in").Add(float64(u.TokensIn))
	c.metrics.tokens.WithLabelValues(purpose, "out").Add(float64(u.TokensOut))
	return ch.Content, u, nil
}

// Fallback counts one replacement of the LLM by the rule-based path (reason: a Label*).
func (c *Client) Fallback(purpose, reason string) {
	c.metrics.fallbacks.WithLabelValues(purpose, reason).Inc()
}

// intInfo reads a token count from a choice's GenerationInfo (langchaingo's openai puts
// PromptTokens and CompletionTokens there as ints).
func intInfo(m map[string]any, k string) int {
	switch v := m[k].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	}
	return 0
}

// Counters are the client's assay_llm_calls_total{purpose,outcome} and
// assay_llm_fallbacks_total{purpose,reason}, for another caller of the same client (the
// narrator) to count in the same series.
func (c *Client) Counters() (calls, fallbacks *prometheus.CounterVec) {
	return c.metrics.calls, c.metrics.fallbacks
}

// Config is the client's configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }
