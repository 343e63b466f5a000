package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

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
	rs, err := startReactors(ctx, store, reg, log)
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

// startReactors starts the case generator (rules; the LLM comes with the AI issue), the
// dispatcher and the completion reactor; each may run as several
// replicas (durable consumers are shared, expected sequences keep appends single).
func startReactors(ctx context.Context, store *eventstore.Store, reg prometheus.Registerer, log logrus.FieldLogger) (*reactors, error) {
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
	generate, err := reactor.NewGenerator(handler, reactor.GeneratorConfig{}).Reactor(reactor.Config{}, log, reg)
	if err != nil {
		return nil, err
	}
	analyze, err := reactor.NewAnalyzer(handler, reactor.AnalyzerConfig{}).Reactor(reactor.Config{}, log, reg)
	if err != nil {
		return nil, err
	}
	report, err := reactor.NewReporter(handler).Reactor(reactor.Config{}, log, reg)
	if err != nil {
		return nil, err
	}
	rs := &reactors{}
	for name, r := range map[string]*reactor.Reactor{"dispatch": dispatch, "complete": complete, "generate": generate,
		"analyze": analyze, "report": report} {
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
