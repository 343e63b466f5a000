package runner

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// Appender is the part of the log a runner writes to (*eventstore.Store).
type Appender interface {
	Append(ctx context.Context, expect eventstore.Expect, envs ...domain.Envelope) ([]domain.Envelope, error)
}

// Config tunes a Runner.
type Config struct {
	Name         string        // recorded in each result; default "runner"
	Concurrency  int           // requests in flight; default 64
	Evaluators   int           // goroutines evaluating responses (CPU work); default GOMAXPROCS
	AppendWindow time.Duration // how long results gather before one append; default 5ms
	// AppendMax: results per atomic append; default 250, at most eventstore.MaxBatch.
	// Each waiting result holds its request's message until acked: at 1,000 in flight,
	// 3 batches of 1,000 (gathering, 2 appending) held more than 3 of 250 do, and a
	// fsyncing log already takes atomic batches of 100 at ~37,000 results/s.
	AppendMax int
	Appenders int // appends in flight at once; default 2
	// AppendTimeout bounds one append; default 10s. An atomic batch whose commit was
	// sent to a stream leader that then went away is never answered: only this ends it
	// (its jobs are then handed back, and a result that was stored after all comes back
	// as a dropped duplicate).
	AppendTimeout time.Duration
	// StopTimeout: once ctx ends, how long requests in flight and results not yet
	// appended still have; then what is left is cancelled, its jobs handed back (they
	// are delivered again, to this runner or another) and Run returns; default 10s.
	StopTimeout time.Duration
	// Heartbeat: while a case runs longer than this, its delivery is told it is in
	// progress this often, so a slow case is not delivered (and sent) again; default 15s.
	Heartbeat  time.Duration
	Logger     logrus.FieldLogger
	Registerer prometheus.Registerer // optional
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = "runner"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Evaluators <= 0 {
		c.Evaluators = runtime.GOMAXPROCS(0)
	}
	if c.AppendWindow <= 0 {
		c.AppendWindow = 5 * time.Millisecond
	}
	if c.AppendMax <= 0 {
		c.AppendMax = 250
	}
	c.AppendMax = min(c.AppendMax, eventstore.MaxBatch)
	if c.Appenders <= 0 {
		c.Appenders = 2
	}
	if c.AppendTimeout <= 0 {
		c.AppendTimeout = 10 * time.Second
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 10 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
}

// Stats count what a runner did since it was built.
type Stats struct {
	Executed   int64 // requests executed
	Recorded   int64 // results appended by this runner
	Duplicates int64 // results dropped because the case already had one (a redelivery)
	Retried    int64 // jobs handed back (Nak) because their result could not be appended
}

// Runner executes jobs from a source and records their results.
type Runner struct {
	log  Appender
	exec *Executor
	cfg  Config
	m    metrics
	lim  *limits // per-batch concurrency and rate (limits.go)

	executed, recorded, duplicates, retried atomic.Int64
}

type metrics struct {
	cases      *prometheus.CounterVec
	latency    prometheus.Histogram
	inFlight   prometheus.Gauge
	duplicates prometheus.Counter
	appends    *prometheus.CounterVec
}

func newMetrics(name string, reg prometheus.Registerer) (metrics, error) {
	labels := prometheus.Labels{"runner": name}
	m := metrics{
		cases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assay_runner_cases_total", Help: "Cases executed, by outcome.", ConstLabels: labels,
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "assay_runner_request_duration_seconds", Help: "Duration of case requests, body read included.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "assay_runner_in_flight", Help: "Case requests in flight.", ConstLabels: labels,
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "assay_runner_duplicates_total", Help: "Results dropped because the case already had one (redelivered requests).", ConstLabels: labels,
		}),
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assay_runner_appends_total", Help: "Result appends, by kind (batch, single) and result (ok, conflict, error).", ConstLabels: labels,
		}, []string{"kind", "result"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.cases, m.latency, m.inFlight, m.duplicates, m.appends} {
			if err := reg.Register(c); err != nil {
				return m, err
			}
		}
	}
	return m, nil
}

// New builds a runner writing results to log.
func New(log Appender, exec *Executor, cfg Config) (*Runner, error) {
	if log == nil || exec == nil {
		return nil, errors.New("runner: nil appender or executor")
	}
	cfg.setDefaults()
	m, err := newMetrics(cfg.Name, cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("runner: register metrics: %w", err)
	}
	return &Runner{log: log, exec: exec, cfg: cfg, m: m, lim: newLimits()}, nil
}

// Stats is a snapshot of the runner's counters.
func (r *Runner) Stats() Stats {
	return Stats{Executed: r.executed.Load(), Recorded: r.recorded.Load(), Duplicates: r.duplicates.Load(), Retried: r.retried.Load()}
}

// Run takes jobs from src until ctx ends or src fails. At most Concurrency requests
// are in flight; results are appended in atomic batches and each job is acknowledged
// only once its result is durable. Each batch's own Concurrency and RatePerSecond
// (carried by its requests) bound its requests further (limits.go). When ctx ends,
// requests in flight still finish (bounded by their timeout) and their results are
// appended before Run returns, within StopTimeout (stop.go); jobs still waiting for
// their batch's limits are handed back unexecuted.
func (r *Runner) Run(ctx context.Context, src Source) error {
	// bg outlives ctx by at most StopTimeout: the in-flight work's grace.
	bg, release := r.grace(ctx)
	defer release()
	// collect takes results as they come (up to AppendMax while the appenders are busy),
	// so a deeper buffer would only hold more results (and their bodies) in memory.
	results := make(chan pending, min(r.cfg.Concurrency, 128))
	batches := make(chan []pending) // unbuffered: a batch is cut when an appender is free

	var appenders sync.WaitGroup
	appenders.Go(func() { r.collect(results, batches) })
	for range r.cfg.Appenders {
		appenders.Go(func() {
			for b := range batches {
				r.flush(bg, b)
			}
		})
	}

	// Concurrency workers wait on the requests; a few evaluators (one per CPU: it is CPU
	// work) run the assertions and build the results. A fixed pool rather than a
	// goroutine per job, and the deep evaluation (JSON, schema validation) kept off the
	// wide pool: a goroutine's stack stays as grown as the deepest call it made, so
	// Concurrency workers that also evaluated would each hold a stack of 32 KB, not 8.
	jobs := make(chan Job)
	sent := make(chan sentJob, r.cfg.Evaluators)
	var workers, evaluators sync.WaitGroup
	for range r.cfg.Concurrency {
		workers.Go(func() {
			for j := range jobs {
				r.work(ctx, bg, j, sent)
			}
		})
	}
	for range r.cfg.Evaluators {
		evaluators.Go(func() {
			for s := range sent {
				results <- r.conclude(s)
			}
		})
	}
	handle := func(hctx context.Context, j Job) error {
		select {
		case jobs <- j:
			return nil
		case <-hctx.Done():
			return hctx.Err()
		}
	}
	err := src.Run(ctx, handle)
	close(jobs)
	workers.Wait()
	close(sent)
	evaluators.Wait()
	close(results)
	appenders.Wait()
	return err
}
