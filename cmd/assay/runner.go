package main

import (
	"context"
	"io"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/bridge"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/runner"
)

// runRunner executes cases until ctx ends: `assay runner` — from RabbitMQ when
// ASSAY_AMQP_URL is set (the bridge feeds it), else straight from JetStream.
func runRunner(ctx context.Context, cfg Config, _ []string, out io.Writer) error {
	log := newLogger(cfg, out)
	store, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	reg := prometheus.NewRegistry()
	ops := newOpsServer(cfg.Get("ASSAY_METRICS_ADDR"), reg, func() error { return nil }, log)
	defer ops.stop()
	return runCases(ctx, cfg, store, reg, log)
}

// jetStreamPrefetch bounds a JetStream runner's fetches.
const jetStreamPrefetch = 256

// runCases runs one runner on the log until ctx ends; requests in flight finish first.
func runCases(ctx context.Context, cfg Config, store *eventstore.Store, reg prometheus.Registerer, log logrus.FieldLogger) error {
	conc, err := strconv.Atoi(cfg.Get("ASSAY_RUNNER_CONCURRENCY"))
	if err != nil {
		return err
	}
	exec := runner.NewExecutor(runner.ExecutorConfig{AllowPrivateMetadata: cfg.Get("ASSAY_RUNNER_ALLOW_METADATA") == "true"})
	defer exec.Close()
	r, err := runner.New(store, exec, runner.Config{Concurrency: conc, Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	var src runner.Source
	if url := cfg.Get("ASSAY_AMQP_URL"); url != "" {
		src, err = runner.NewAMQPSource(runner.AMQPConfig{URL: url, Prefetch: conc, Logger: log, Registerer: reg,
			Results: store, RunnerName: runnerName()})
	} else {
		// Fetches of a few hundred keep even 1,000 requests in flight fed, and hold far
		// fewer decoded requests than fetches of the concurrency would (2 fetchers ahead).
		prefetch := min(conc, jetStreamPrefetch)
		src, err = runner.NewJetStreamSource(store, runner.JetStreamConfig{Prefetch: prefetch, Logger: log, Registerer: reg,
			Results: store, MaxAckPending: conc + 4*prefetch + 2*eventstore.MaxBatch})
	}
	if err != nil {
		return err
	}
	return r.Run(ctx, src)
}

// runBridge republishes execution requests onto RabbitMQ until ctx ends: `assay bridge`.
func runBridge(ctx context.Context, cfg Config, _ []string, out io.Writer) error {
	log := newLogger(cfg, out)
	store, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	reg := prometheus.NewRegistry()
	b, err := bridge.New(store, bridge.Config{URL: cfg.Get("ASSAY_AMQP_URL"), Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	ops := newOpsServer(cfg.Get("ASSAY_METRICS_ADDR"), reg, b.Ready, log)
	defer ops.stop()
	return b.Run(ctx)
}

// runnerName names this runner in the results it records itself (a case whose request
// could not be decoded): the host, which is the pod in Kubernetes.
func runnerName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return "runner@" + h
	}
	return "runner"
}
