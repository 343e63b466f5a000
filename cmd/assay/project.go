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
	"github.com/assay-dev/assay/projections"
)

// runProject runs every projection until ctx ends: `assay project`.
func runProject(ctx context.Context, cfg Config, _ []string, out io.Writer) error {
	log := newLogger(cfg, out)
	store, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	rs, err := openReadSide(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer rs.close()
	reg := prometheus.NewRegistry()
	engines, err := startProjectors(ctx, store, rs, reg, log)
	if err != nil {
		return err
	}
	ops := newOpsServer(cfg.Get("ASSAY_METRICS_ADDR"), reg, readiness(engines), log)
	defer ops.stop()
	return engines.wait()
}

// projectors owns the goroutines of the running engines.
type projectors struct {
	engines []*projections.Engine
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
}

func (p *projectors) wait() error {
	p.wg.Wait()
	return errors.Join(p.errs...)
}

// startProjectors starts one engine per projection. In-process views start empty, so they
// are rebuilt from the log first.
func startProjectors(ctx context.Context, store *eventstore.Store, rs *readSide, reg prometheus.Registerer, log logrus.FieldLogger) (*projectors, error) {
	m := projections.NewMetrics(reg)
	p := &projectors{}
	for _, proj := range []projections.Projection{rs.tables, rs.views} {
		e, err := projections.NewEngine(store, proj, rs.tables, projections.EngineConfig{NotifyConn: store.JetStream().Conn()}, m, log)
		if err != nil {
			return nil, err
		}
		p.engines = append(p.engines, e)
		p.wg.Go(func() {
			if err := e.Run(ctx); err != nil {
				p.mu.Lock()
				p.errs = append(p.errs, fmt.Errorf("projection %s: %w", proj.Name(), err))
				p.mu.Unlock()
			}
		})
	}
	return p, nil
}

// waiter answers read-your-writes from the engines in this process.
func (p *projectors) waiter() projections.Waiter {
	all := make(projections.All, len(p.engines))
	for i, e := range p.engines {
		all[i] = e
	}
	return all
}

func readiness(ps ...*projectors) func() error {
	return func() error {
		var errs []error
		for _, p := range ps {
			for _, e := range p.engines {
				if s := e.Status(); s.State == projections.StateHalted {
					errs = append(errs, fmt.Errorf("projection %s halted at event %d (%s): %s", s.Name, s.Halt.Seq, s.Halt.EventType, s.Halt.Reason))
				}
			}
		}
		return errors.Join(errs...)
	}
}
