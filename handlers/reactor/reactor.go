// Package reactor holds the reactors of a batch: the dispatcher, which turns a submitted
// batch into one execution request per case (chains in dependency order), and the
// completion reactor, which completes a batch once every case has a result. Both run on a
// Reactor: a durable consumer loop that hands each event to a handler, acks after
// success, and retries transient failures with backoff.
package reactor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// Config of a Reactor.
type Config struct {
	Name      string        // durable consumer name, required
	Filters   []string      // subjects to consume, required
	BatchSize int           // events per fetch (default 100)
	MaxWait   time.Duration // how long a fetch waits for the first event (default 1s)
	// AckWait: redelivery after this long without ack or progress (default 10s). Every
	// delivery of a fetch is told to be in progress every AckWait/3 until settled
	// (keepAlive), so only a reactor that died or was cut off (a stream leader lost with
	// the deliveries it handed out) lets it run out: it bounds that stall.
	AckWait  time.Duration
	RetryMax time.Duration // longest pause between retries of a transient failure (default 5s)
	// Parallel is how many events of one fetch are handled at once (default 1: one by
	// one, in order). Only for handlers whose events are independent (generation).
	Parallel int
}

func (c *Config) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.MaxWait == 0 {
		c.MaxWait = time.Second
	}
	if c.AckWait == 0 {
		c.AckWait = 10 * time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Second
	}
	if c.Parallel == 0 {
		c.Parallel = 1
	}
}

// Validate reports every bad field.
func (c Config) Validate() error {
	var errs []error
	if !domain.ValidID(c.Name) {
		errs = append(errs, fmt.Errorf("reactor: Name %q must be a non-empty token without '.', '*', '>' or spaces", c.Name))
	}
	if len(c.Filters) == 0 {
		errs = append(errs, errors.New("reactor: Filters are required"))
	}
	if c.BatchSize < 1 || c.BatchSize > 10_000 {
		errs = append(errs, fmt.Errorf("reactor: BatchSize must be between 1 and 10000, got %d", c.BatchSize))
	}
	if c.MaxWait <= 0 {
		errs = append(errs, errors.New("reactor: MaxWait must be positive"))
	}
	if c.AckWait < time.Second {
		errs = append(errs, errors.New("reactor: AckWait must be at least 1s"))
	}
	if c.RetryMax <= 0 {
		errs = append(errs, errors.New("reactor: RetryMax must be positive"))
	}
	if c.Parallel < 1 || c.Parallel > 1024 {
		errs = append(errs, fmt.Errorf("reactor: Parallel must be between 1 and 1024, got %d", c.Parallel))
	}
	return errors.Join(errs...)
}

// HandleFunc reacts to one event. A nil error acks it; an error wrapped by Permanent is
// logged and acked; any other error is transient: the event is retried with backoff.
type HandleFunc func(ctx context.Context, env domain.Envelope) error

// permanentError marks a failure that retrying cannot cure.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: the reactor logs it and acks the event.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent is true for an error marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Reactor is a durable consumer loop around a HandleFunc. Several replicas may run with
// the same Name: the server spreads the events among them, so a handler must be idempotent
// and must not assume it sees every event of a batch.
type Reactor struct {
	store   *eventstore.Store
	cfg     Config
	handle  HandleFunc
	log     logrus.FieldLogger
	metrics *metrics
}

// New checks cfg and builds a Reactor. reg may be nil (no metrics); log may be nil.
func New(store *eventstore.Store, cfg Config, handle HandleFunc, log logrus.FieldLogger, reg prometheus.Registerer) (*Reactor, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil || handle == nil {
		return nil, errors.New("reactor: store and handler are required")
	}
	if log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		log = l
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Reactor{store: store, cfg: cfg, handle: handle, log: log.WithField("reactor", cfg.Name), metrics: m}, nil
}

// Run consumes until ctx ends, then returns nil. Every goroutine it starts has ended when
// it returns.
func (r *Reactor) Run(ctx context.Context) error {
	cons := r.open(ctx)
	if cons == nil {
		return nil // ctx ended before the consumer could be opened
	}
	for attempt := 1; ctx.Err() == nil; {
		ds, err := cons.Fetch(ctx, r.cfg.BatchSize, r.cfg.MaxWait)
		if err != nil {
			if ctx.Err() == nil {
				r.pause(ctx, "fetch", err, attempt)
				attempt++
			}
			continue
		}
		attempt = 1
		slices.SortFunc(ds, func(a, b *eventstore.Delivery) int { return cmp.Compare(a.Seq, b.Seq) })
		// Deliveries wait behind the handling of those before them: all stay ours.
		stop := eventstore.KeepAlive(ds, r.cfg.AckWait/3)
		if r.cfg.Parallel > 1 {
			r.processParallel(ctx, ds)
		} else {
			r.processInOrder(ctx, ds)
		}
		stop()
	}
	return nil
}

// processInOrder handles the deliveries one by one; on stop, what is not done is
// handed back.
func (r *Reactor) processInOrder(ctx context.Context, ds []*eventstore.Delivery) {
	for i, d := range ds {
		if !r.process(ctx, d) {
			for _, rest := range ds[i:] {
				_ = rest.Nak(0) // stopping: hand them back now rather than after AckWait
			}
			return
		}
	}
}

// processParallel handles up to Parallel deliveries at once, each acked when done; on
// stop, what is not done is handed back.
func (r *Reactor) processParallel(ctx context.Context, ds []*eventstore.Delivery) {
	sem := make(chan struct{}, r.cfg.Parallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, d := range ds {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			_ = d.Nak(0)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if !r.process(ctx, d) {
				_ = d.Nak(0)
			}
		})
	}
}

// open creates or binds the durable, retrying until it works or ctx ends (nil then).
func (r *Reactor) open(ctx context.Context) *eventstore.Consumer {
	for attempt := 1; ; attempt++ {
		cons, err := r.store.Durable(ctx, eventstore.ConsumerConfig{Name: r.cfg.Name, Filters: r.cfg.Filters,
			AckWait: r.cfg.AckWait, MaxAckPending: 2 * r.cfg.BatchSize})
		if err == nil || ctx.Err() != nil {
			return cons
		}
		r.pause(ctx, "open the durable consumer", err, attempt)
	}
}

// process handles one delivery until it is done (acked) or ctx ends (false).
func (r *Reactor) process(ctx context.Context, d *eventstore.Delivery) bool {
	if d.Err != nil {
		// An event this binary cannot decode (a newer type or version, a corrupt body) is
		// logged and acked, not retried: a reactor consumes a shared stream it does not own,
		// and halting on one event would stall every batch behind it, while retrying cannot
		// make the event decodable. A deploy that knows the type resumes from the live
		// stream; a batch whose event was skipped can be replayed by resetting the durable.
		r.log.WithError(d.Err).WithField("seq", d.Seq).WithField("subject", d.Env.Subject).Error("undecodable event skipped")
		r.metrics.poison.WithLabelValues(r.cfg.Name).Inc()
		r.ack(ctx, d)
		return true
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := r.handle(ctx, d.Env) // keepAlive tells the server it is in progress
		switch {
		case err == nil:
			r.metrics.handled.WithLabelValues(r.cfg.Name).Inc()
			r.metrics.latency.WithLabelValues(r.cfg.Name).Observe(time.Since(start).Seconds())
			r.ack(ctx, d)
			return true
		case ctx.Err() != nil:
			return false
		case IsPermanent(err):
			r.log.WithError(err).WithField("seq", d.Seq).WithField("type", d.Env.Type).Error("event cannot be handled; skipped")
			r.metrics.poison.WithLabelValues(r.cfg.Name).Inc()
			r.ack(ctx, d)
			return true
		}
		r.metrics.retries.WithLabelValues(r.cfg.Name).Inc()
		_ = d.InProgress() // still ours while we retry: no redelivery to another replica meanwhile
		r.pause(ctx, fmt.Sprintf("handle %s seq %d", d.Env.Type, d.Seq), err, attempt)
		if ctx.Err() != nil {
			return false
		}
	}
}

func (r *Reactor) ack(ctx context.Context, d *eventstore.Delivery) {
	if err := d.Ack(ctx); err != nil {
		// The event comes back after AckWait; handlers are idempotent.
		r.log.WithError(err).WithField("seq", d.Seq).Debug("ack failed")
	}
}

func (r *Reactor) pause(ctx context.Context, what string, err error, attempt int) {
	d := min(time.Duration(1<<min(attempt, 10))*50*time.Millisecond, r.cfg.RetryMax)
	r.log.WithError(err).WithField("retry_in", d.String()).Warn(what + " failed; retrying")
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

type metrics struct {
	handled *prometheus.CounterVec
	retries *prometheus.CounterVec
	poison  *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// newMetrics registers the reactor metrics; several reactors share them (by label), so
// an already registered collector is reused.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_reactor_events_handled_total",
			Help: "Events a reactor handled."}, []string{"reactor"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_reactor_retries_total",
			Help: "Transient failures a reactor retried."}, []string{"reactor"}),
		poison: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_reactor_skipped_total",
			Help: "Events a reactor could not decode or handle and skipped."}, []string{"reactor"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "assay_reactor_handle_seconds",
			Help: "Time to handle one event.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, []string{"reactor"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.handled, err = register(reg, m.handled); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.poison, err = register(reg, m.poison); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("reactor: register metrics: %w", err)
	}
	return c, nil
}
