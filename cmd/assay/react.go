package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/ai"
	"github.com/assay-dev/assay/eventstore"
	cmdhandler "github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/handlers/reactor"
)

// runReact runs the reactors (generate, dispatch, complete, analyse, report) until ctx ends:
// `assay react`.
func runReact(ctx context.Context, cfg Config, _ []string, out io.Writer) error {
	log := newLogger(cfg, out)
	store, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	reg := prometheus.NewRegistry()
	rs, err := startAllReactors(ctx, cfg, store, reg, log)
	if err != nil {
		return err
	}
	ops := newOpsServer(cfg.Get("ASSAY_METRICS_ADDR"), reg, func() error { return nil }, log)
	defer ops.stop()
	return rs.wait()
}

// reactors owns the goroutines of the running reactors.
type reactors struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (r *reactors) wait() error {
	r.wg.Wait()
	return errors.Join(r.errs...)
}

// startReactors is startAllReactors without settings: rules-only generation. It stays
// for the callers written before the settings reached the reactors.
func startReactors(ctx context.Context, store *eventstore.Store, reg prometheus.Registerer, log logrus.FieldLogger) (*reactors, error) {
	return startAllReactors(ctx, Config{}, store, reg, log)
}

// startAllReactors starts the case generator (the LLM when ASSAY_LLM_API_KEY is set, else
// the rules), the dispatcher, the completion reactor, the analyser and the reporter; each
// may run as several replicas (durable consumers are shared, expected sequences keep
// appends single). llm, the one LLM client of the process (nil without a key), bounds
// the calls of every part that uses it.
func startAllReactors(ctx context.Context, cfg Config, store *eventstore.Store, reg prometheus.Registerer, log logrus.FieldLogger) (*reactors, error) {
	llm, err := newLLM(cfg, reg)
	if err != nil {
		return nil, err
	}
	caseLLM, err := ai.NewGenerator(llm, reg)
	if err != nil {
		return nil, err
	}
	handler, err := cmdhandler.New(store, cmdhandler.Config{}, nil)
	if err != nil {
		return nil, err
	}
	dispatch, err := reactor.NewDispatcher(store, reactor.DispatcherConfig{}).Reactor(reactor.Config{}, log, reg)
	if err != nil {
		return nil, err
	}
	complete, err := reactor.NewCompleter(handler, reactor.CompleterConfig{}).Reactor(reactor.Config{}, log, reg)
	if err != nil {
		return nil, err
	}
	genCfg := reactor.Config{}
	if llm != nil { // generations wait on the LLM: as many at once as it takes calls
		genCfg.Parallel = llm.Config().MaxConcurrency
	}
	generate, err := reactor.NewGenerator(handler, reactor.GeneratorConfig{LLM: caseLLM}).Reactor(genCfg, log, reg)
	if err != nil {
		return nil, err
	}
	narrator, err := newNarrator(llm)
	if err != nil {
		return nil, err
	}
	analyze, err := reactor.NewAnalyzer(handler, reactor.AnalyzerConfig{Narrator: narrator}).Reactor(reactor.Config{}, log, reg)
	if err != nil {
		return nil, err
	}
	report, err := reactor.NewReporter(handler).Reactor(reactor.Config{}, log, reg)
	if err != nil {
		return nil, err
	}
	notify, err := startNotifier(ctx, handler, cfg, reg, log)
	if err != nil {
		return nil, err
	}
	rs := &reactors{}
	for name, r := range map[string]*reactor.Reactor{"dispatch": dispatch, "complete": complete, "generate": generate,
		"analyze": analyze, "report": report, "notify": notify} {
		rs.wg.Go(func() {
			if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				rs.mu.Lock()
				rs.errs = append(rs.errs, fmt.Errorf("reactor %s: %w", name, err))
				rs.mu.Unlock()
			}
		})
	}
	return rs, nil
}

// newNarrator writes analyses' narratives through llm, or by the rules when it is nil
// (recorded as such). The reactor tells the log it is still working while the call
// lasts, so the LLM's own timeout applies.
func newNarrator(llm *ai.Client) (*ai.Narrator, error) {
	if llm == nil {
		return ai.NewNarrator(nil, ai.NarratorConfig{})
	}
	calls, fallbacks := llm.Counters()
	return ai.NewNarrator(llm.Model, ai.NarratorConfig{Model: llm.ModelName(), Timeout: llm.Config().Timeout,
		MaxTokens: llm.Config().MaxTokens, Metrics: ai.NarratorMetrics{Calls: calls, Fallbacks: fallbacks}})
}

// newLLM builds the LLM client of the ASSAY_LLM_* settings; nil without a key.
func newLLM(cfg Config, reg prometheus.Registerer) (*ai.Client, error) {
	key := cfg.Get("ASSAY_LLM_API_KEY")
	if key == "" {
		return nil, nil
	}
	c := ai.Config{BaseURL: cfg.Get("ASSAY_LLM_BASE_URL"), APIKey: key, Model: cfg.Get("ASSAY_LLM_MODEL")}
	var errs []error
	if v := cfg.Get("ASSAY_LLM_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		errs = append(errs, settingErr("ASSAY_LLM_TIMEOUT", err))
		c.Timeout = d
	}
	if v := cfg.Get("ASSAY_LLM_MAX_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		errs = append(errs, settingErr("ASSAY_LLM_MAX_CONCURRENCY", err))
		c.MaxConcurrency = n
	}
	if v := cfg.Get("ASSAY_LLM_MAX_TOKENS"); v != "" {
		n, err := strconv.Atoi(v)
		errs = append(errs, settingErr("ASSAY_LLM_MAX_TOKENS", err))
		c.MaxTokens = n
	}
	if v := cfg.Get("ASSAY_LLM_TEMPERATURE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		errs = append(errs, settingErr("ASSAY_LLM_TEMPERATURE", err))
		c.Temperature = f
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ai.NewClient(c, reg)
}

func settingErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
}
