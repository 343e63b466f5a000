package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/assay-dev/assay/eventstore"
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
