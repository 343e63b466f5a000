package runner

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
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
	AppendMax     int
	Appenders     int           // appends in flight at once; default 2
	AppendTimeout time.Duration // one append; default 30s
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
		c.AppendTimeout = 30 * time.Second
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

// pending is an executed job waiting for its result to be appended.
type pending struct {
	job Job
	env domain.Envelope
}

// Run takes jobs from src until ctx ends or src fails. At most Concurrency requests
// are in flight; results are appended in atomic batches and each job is acknowledged
// only once its result is durable. Each batch's own Concurrency and RatePerSecond
// (carried by its requests) bound its requests further (limits.go). When ctx ends,
// requests in flight still finish (bounded by their timeout) and their results are
// appended before Run returns; jobs still waiting for their batch's limits are handed
// back unexecuted.
func (r *Runner) Run(ctx context.Context, src Source) error {
	bg := context.WithoutCancel(ctx)
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

// sentJob is a job whose request has had its answer, waiting for its evaluation.
type sentJob struct {
	job Job
	x   exchange
}

// work sends one job's request under its batch's limits and passes it on for
// evaluation. A job waiting for its batch's limits holds its worker; when ctx ends
// meanwhile it is handed back unexecuted.
func (r *Runner) work(ctx, bg context.Context, j Job, sent chan<- sentJob) {
	release, err := r.lim.acquire(ctx, j.Request, r.cfg.Heartbeat, beat(j))
	if err != nil {
		if j.Nak != nil {
			_ = j.Nak(0)
		}
		return
	}
	r.m.inFlight.Inc()
	stop := r.heartbeat(j)
	x := r.exec.roundTrip(bg, j.Request)
	stop()
	r.m.inFlight.Dec()
	release()
	sent <- sentJob{job: j, x: x}
}

// beat tells j's delivery it is in progress; nil when it cannot.
func beat(j Job) func() {
	if j.InProgress == nil {
		return nil
	}
	return func() { _ = j.InProgress() }
}

// conclude evaluates a sent job and builds its result envelope.
func (r *Runner) conclude(s sentJob) pending {
	j := s.job
	res := r.exec.conclude(j.Request, s.x)
	res.Runner = r.cfg.Name
	r.executed.Add(1)
	r.m.cases.WithLabelValues(res.Outcome).Inc()
	r.m.latency.Observe(res.DurationMS / 1000)
	correlation := j.Meta.CorrelationID
	if correlation == "" {
		correlation = j.EventID
	}
	// The request (its assertions, schemas) is not needed to settle the job: drop it
	// rather than hold it while the result waits for its append.
	j.Request = batch.CaseExecutionRequested{}
	return pending{job: j, env: domain.Envelope{
		ID:      uuid.Must(uuid.NewV7()).String(),
		Subject: res.Subject(),
		Meta: domain.Metadata{
			RequestID:     j.Meta.RequestID,
			UserID:        domain.System,
			CorrelationID: correlation,
			CausationID:   j.EventID,
		},
		Data: res,
	}}
}

// heartbeat tells the job's delivery it is in progress every Heartbeat until stopped.
func (r *Runner) heartbeat(j Job) (stop func()) {
	timeout := DefaultTimeout
	if j.Request.TimeoutMS > 0 {
		timeout = time.Duration(j.Request.TimeoutMS) * time.Millisecond
	}
	if j.InProgress == nil || timeout < r.cfg.Heartbeat {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(r.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := j.InProgress(); err != nil {
					r.cfg.Logger.WithFields(logrus.Fields{"case": j.Request.CaseID, "err": err}).Warn("runner: in progress failed")
				}
			}
		}
	}()
	return func() { close(done) }
}

// collect groups results. The first result of a batch opens a window of AppendWindow;
// once it has passed (or AppendMax results have gathered) the batch goes to the first
// free appender, and while every appender is busy it keeps gathering up to AppendMax:
// each atomic batch has a fixed cost on the server (a staging store, an fsync), so a
// busy log gets bigger batches.
func (r *Runner) collect(results <-chan pending, batches chan<- []pending) {
	defer close(batches)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		b      []pending
		window <-chan time.Time
		ripe   bool // the window has passed
		in     = results
	)
	for in != nil || len(b) > 0 {
		var out chan<- []pending
		if len(b) > 0 && (ripe || in == nil || len(b) >= r.cfg.AppendMax) {
			out = batches
		}
		recv := in
		if len(b) >= r.cfg.AppendMax {
			recv = nil
		}
		select {
		case p, ok := <-recv:
			if !ok {
				in = nil
				continue
			}
			if len(b) == 0 {
				b = make([]pending, 0, min(r.cfg.AppendMax, 128)) // grows only as far as the log lags
				timer.Reset(r.cfg.AppendWindow)
				window, ripe = timer.C, false
			}
			b = append(b, p)
		case <-window:
			window, ripe = nil, true
		case out <- b:
			timer.Stop()
			b, window, ripe = nil, nil, false
		}
	}
}

// flush appends a batch atomically, each result expecting its subject to be empty. A
// refused batch means one of its cases already has a result (a redelivered request):
// then each result is appended alone and a conflict there is that duplicate, dropped.
// Atomic, though results of different cases need no atomicity: an atomic batch costs
// the server one fsync where results published one by one cost one each (with
// SyncAlways, the durable setting, ~4,000 events/s against ~34,000 in batches of 1,000).
func (r *Runner) flush(ctx context.Context, b []pending) {
	// The same case twice in one batch (delivered again while its first result waits)
	// would escape the expectation, which covers a subject's first message only.
	seen := make(map[string]struct{}, len(b))
	var main, again []pending
	for _, p := range b {
		if _, dup := seen[p.env.Subject]; dup {
			again = append(again, p)
			continue
		}
		seen[p.env.Subject] = struct{}{}
		main = append(main, p)
	}
	defer func() {
		for _, p := range again {
			r.single(ctx, p)
		}
	}()
	if len(main) == 1 {
		r.single(ctx, main[0])
		return
	}
	expect := make(eventstore.Expect, len(main))
	envs := make([]domain.Envelope, len(main))
	for i, p := range main {
		expect[p.env.Subject] = 0
		envs[i] = p.env
	}
	actx, cancel := context.WithTimeout(ctx, r.cfg.AppendTimeout)
	_, err := r.log.Append(actx, expect, envs...)
	cancel()
	switch {
	case err == nil:
		r.m.appends.WithLabelValues("batch", "ok").Inc()
		r.recorded.Add(int64(len(main)))
		for _, p := range main {
			r.ack(ctx, p)
		}
	case errors.Is(err, domain.ErrConflict):
		r.m.appends.WithLabelValues("batch", "conflict").Inc()
		for _, p := range main {
			r.single(ctx, p)
		}
	default:
		r.m.appends.WithLabelValues("batch", "error").Inc()
		r.cfg.Logger.WithFields(logrus.Fields{"results": len(main), "err": err}).Error("runner: appending results failed; requests handed back")
		for _, p := range main {
			r.nak(p)
		}
	}
}

// single appends one result; a conflict means the case already has its result.
func (r *Runner) single(ctx context.Context, p pending) {
	actx, cancel := context.WithTimeout(ctx, r.cfg.AppendTimeout)
	_, err := r.log.Append(actx, eventstore.Expect{p.env.Subject: 0}, p.env)
	cancel()
	r.settle(ctx, p, "single", err)
}

// settle acknowledges a job whose result was appended (err nil) or was a duplicate (a
// conflict), and hands it back otherwise.
func (r *Runner) settle(ctx context.Context, p pending, kind string, err error) {
	switch {
	case err == nil:
		r.m.appends.WithLabelValues(kind, "ok").Inc()
		r.recorded.Add(1)
	case errors.Is(err, domain.ErrConflict):
		r.m.appends.WithLabelValues(kind, "conflict").Inc()
		r.duplicates.Add(1)
		r.m.duplicates.Inc()
		r.cfg.Logger.WithFields(logrus.Fields{"subject": p.env.Subject, "attempt": p.job.Attempt}).Debug("runner: case already has a result; duplicate dropped")
	default:
		r.m.appends.WithLabelValues(kind, "error").Inc()
		r.cfg.Logger.WithFields(logrus.Fields{"subject": p.env.Subject, "err": err}).Error("runner: appending a result failed; request handed back")
		r.nak(p)
		return
	}
	r.ack(ctx, p)
}

func (r *Runner) ack(ctx context.Context, p pending) {
	if p.job.Ack == nil {
		return
	}
	if err := p.job.Ack(ctx); err != nil {
		// A lost ack only means a redelivery, which ends as a dropped duplicate.
		r.cfg.Logger.WithFields(logrus.Fields{"subject": p.env.Subject, "err": err}).Warn("runner: ack failed")
	}
}

func (r *Runner) nak(p pending) {
	r.retried.Add(1)
	if p.job.Nak == nil {
		return
	}
	if err := p.job.Nak(time.Second); err != nil {
		r.cfg.Logger.WithFields(logrus.Fields{"subject": p.env.Subject, "err": err}).Warn("runner: nak failed")
	}
}
