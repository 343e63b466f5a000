package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/assay-dev/assay/eventstore"
	cmdhandler "github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/handlers/reactor"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/runner"
)

// pipeline is what `assay react`, `assay runner` and `assay project` run, composed in this
// process on one log: the reactors, a runner on the JetStream source, and the projectors
// into SQLite and in-process Redis views in a temporary data directory.
type pipeline struct {
	rs   *readSide
	stop func() error
}

func testConfig(t testing.TB, settings map[string]string) Config {
	t.Helper()
	cfg, err := loadConfig("", settings, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startPipeline starts the pipeline; stop (also run by t.Cleanup) ends it and returns what
// its parts returned.
func startPipeline(t testing.TB, store *eventstore.Store, runners int) *pipeline {
	t.Helper()
	cfg := testConfig(t, map[string]string{"ASSAY_DATA_DIR": t.TempDir(), "ASSAY_RUNNER_CONCURRENCY": "64"})
	log := testLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	rs, err := openReadSide(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	engines, err := startProjectors(ctx, store, rs, reg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	reacts, err := startReactors(ctx, store, reg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	runErrs := make(chan error, runners)
	for range runners {
		go func() { runErrs <- runCases(ctx, cfg, store, prometheus.NewRegistry(), log) }()
	}
	p := &pipeline{rs: rs}
	var stopped bool
	var result error
	p.stop = func() error {
		if stopped {
			return result
		}
		stopped = true
		cancel()
		done := make(chan error, 1)
		go func() {
			errs := []error{engines.wait(), reacts.wait()}
			for range runners {
				if err := <-runErrs; err != nil && !errors.Is(err, context.Canceled) {
					errs = append(errs, err)
				}
			}
			done <- errors.Join(errs...)
		}()
		select {
		case result = <-done:
		case <-time.After(30 * time.Second):
			result = errors.New("the pipeline did not stop within 30s")
		}
		rs.close()
		return result
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("pipeline: %v", err)
		}
	})
	return p
}

// startShortAckPipeline is the pipeline with every consumer's AckWait set to ackWait: the
// projectors (tables and views), the dispatcher, completer, analyser and reporter, and one
// runner on the JetStream source. After a leader change, deliveries the old leader handed
// out are redelivered only after AckWait (30 s for reactors and projections by default,
// 2 min for runners), so a failover test with the defaults waits that long now and then.
func startShortAckPipeline(t *testing.T, store *eventstore.Store, ackWait time.Duration) *pipeline {
	t.Helper()
	cfg := testConfig(t, map[string]string{"ASSAY_DATA_DIR": t.TempDir()})
	log := testLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rs, err := openReadSide(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	handler, err := cmdhandler.New(store, cmdhandler.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := reactor.Config{AckWait: ackWait}
	var parts []func(context.Context) error
	for _, mk := range []func() (*reactor.Reactor, error){
		func() (*reactor.Reactor, error) {
			return reactor.NewDispatcher(store, reactor.DispatcherConfig{}).Reactor(rc, log, nil)
		},
		func() (*reactor.Reactor, error) {
			return reactor.NewCompleter(handler, reactor.CompleterConfig{}).Reactor(rc, log, nil)
		},
		func() (*reactor.Reactor, error) {
			return reactor.NewAnalyzer(handler, reactor.AnalyzerConfig{}).Reactor(rc, log, nil)
		},
		func() (*reactor.Reactor, error) { return reactor.NewReporter(handler).Reactor(rc, log, nil) },
	} {
		r, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, r.Run)
	}
	m := projections.NewMetrics(prometheus.NewRegistry())
	for _, proj := range []projections.Projection{rs.tables, rs.views} {
		e, err := projections.NewEngine(store, proj, rs.tables, projections.EngineConfig{AckWait: ackWait, NotifyConn: store.JetStream().Conn()}, m, log)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, e.Run)
	}
	exec := runner.NewExecutor(runner.ExecutorConfig{})
	t.Cleanup(exec.Close)
	r, err := runner.New(store, exec, runner.Config{Concurrency: 64, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	src, err := runner.NewJetStreamSource(store, runner.JetStreamConfig{Prefetch: 64, AckWait: ackWait, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	parts = append(parts, func(ctx context.Context) error { return r.Run(ctx, src) })
	return runParts(t, ctx, cancel, rs, parts)
}

// runParts runs each part until stop; stop returns what they returned (a cancellation is
// not an error).
func runParts(t *testing.T, ctx context.Context, cancel context.CancelFunc, rs *readSide, parts []func(context.Context) error) *pipeline {
	errs := make(chan error, len(parts))
	slow := make(chan string, len(parts)) // logged by stop: a goroutine may outlive the test
	var stopAt atomic.Value
	stopAt.Store(time.Now().Add(time.Hour))
	for i, run := range parts {
		go func() {
			err := run(ctx)
			if d := time.Since(stopAt.Load().(time.Time)); ctx.Err() != nil && d > 2*time.Second {
				slow <- fmt.Sprintf("part %d of %d (the last is the runner) took %v to stop", i+1, len(parts), d.Round(time.Millisecond))
			}
			errs <- err
		}()
	}
	p := &pipeline{rs: rs}
	var once sync.Once
	var result error
	p.stop = func() error {
		once.Do(func() {
			stopAt.Store(time.Now())
			cancel()
			var all []error
			deadline := time.After(30 * time.Second)
		wait:
			for range parts {
				select {
				case err := <-errs:
					if err != nil && !errors.Is(err, context.Canceled) {
						all = append(all, err)
					}
				case <-deadline:
					all = append(all, errors.New("the pipeline did not stop within 30s"))
					break wait
				}
			}
			rs.close()
			result = errors.Join(all...)
			for len(slow) > 0 {
				t.Log(<-slow)
			}
		})
		return result
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("pipeline: %v", err)
		}
	})
	return p
}
