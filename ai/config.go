package ai

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config of the LLM client (ASSAY_LLM_* settings).
type Config struct {
	BaseURL        string        // OpenAI-compatible endpoint (default DeepSeek's)
	APIKey         string        // required
	Model          string        // default deepseek-chat
	Timeout        time.Duration // one call, queueing excluded (default 60s)
	MaxConcurrency int           // calls in flight at once, shared by every caller (default 8)
	MaxTokens      int           // longest answer (default 4096)
	Temperature    float64       // default 0.2: precise cases, not creative ones
}

// Defaults.
const (
	DefaultBaseURL        = "https://api.deepseek.com"
	DefaultModel          = "deepseek-chat"
	DefaultTimeout        = 60 * time.Second
	DefaultMaxConcurrency = 8
	DefaultMaxTokens      = 4096
	DefaultTemperature    = 0.2
)

func (c *Config) setDefaults() {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	// 0 means unset (Watermill style); for near-greedy decoding set e.g. 0.01.
	if c.Temperature == 0 {
		c.Temperature = DefaultTemperature
	}
}

// Validate reports every bad field.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("ai: BaseURL %q must be an http(s) URL", c.BaseURL))
	}
	if c.APIKey == "" {
		errs = append(errs, errors.New("ai: APIKey is required"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("ai: Timeout must be positive"))
	}
	if c.MaxConcurrency < 1 || c.MaxConcurrency > 1024 {
		errs = append(errs, fmt.Errorf("ai: MaxConcurrency must be between 1 and 1024, got %d", c.MaxConcurrency))
	}
	if c.MaxTokens < 1 || c.MaxTokens > 1_000_000 {
		errs = append(errs, fmt.Errorf("ai: MaxTokens must be between 1 and 1000000, got %d", c.MaxTokens))
	}
	if !(c.Temperature >= 0 && c.Temperature <= 2) {
		errs = append(errs, fmt.Errorf("ai: Temperature must be between 0 and 2, got %v", c.Temperature))
	}
	return errors.Join(errs...)
}
