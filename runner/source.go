package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
)

// Job is one execution request handed to a Handler. Whoever accepts a job (the Handler
// returns nil) settles it exactly once: Ack when its result is durable, Nak to have it
// delivered again.
type Job struct {
	Request batch.CaseExecutionRequested
	EventID string          // the request event's id: the result's causation
	Meta    domain.Metadata // the request event's metadata (correlation, request id)
	Attempt int             // 1 on first delivery

	Ack        func(ctx context.Context) error
	Nak        func(delay time.Duration) error
	InProgress func() error // optional: extend the delivery's deadline
}

// Handler takes a job. It may block (back-pressure) and returns an error only when the
// source should stop; the job is then not settled and will be delivered again.
type Handler func(ctx context.Context, j Job) error

// Source delivers jobs until ctx ends or the handler fails. A RabbitMQ source
// implements the same interface.
type Source interface {
	Run(ctx context.Context, h Handler) error
}

// ExecFilter selects every execution request of every batch of every app.
const ExecFilter = domain.SubjectRoot + ".app.*.batch.*.exec.*"

// JetStreamConfig tunes a JetStreamSource.
type JetStreamConfig struct {
	Name     string // durable name; default "runner"
	Filter   string // default ExecFilter
	Prefetch int    // messages fetched at once; default 64 (a few hundred feed even 1,000 in flight)
	Fetchers int    // fetches in flight at once (each decodes its messages); default 2
	// AckWait: default 30s. Every delivery fetched and not yet settled is told to be in
	// progress every AckWait/3 (keeper), however long it waits for a slot, runs or waits
	// for its append; AckWait bounds how long the deliveries of a runner that died, or
	// those lost with a stream leader, stay unseen.
	AckWait time.Duration
	MaxWait time.Duration // how long one fetch waits for messages; default 1s
	// MaxAckPending bounds the messages delivered and not yet settled (executing, waiting
	// for their append, being appended); default 4×Prefetch + 2×eventstore.MaxBatch.
	MaxAckPending int
	// Results, when set (the runner's log), ends errored the case an undecodable
	// request names (by its subject) before the request is terminated, so its batch can
	// complete; the result expects its subject empty, so it never doubles a real one.
	Results    Appender
	Logger     logrus.FieldLogger
	Registerer prometheus.Registerer
}

// JetStreamSource delivers execution requests from a durable pull consumer on the log.
type JetStreamSource struct {
	store       *eventstore.Store
	cfg         JetStreamConfig
	undecodable atomic.Int64
	abandoned   atomic.Int64
	undecMetric prometheus.Counter
}

// NewJetStreamSource prepares a source; the durable is created or updated by Run.
func NewJetStreamSource(store *eventstore.Store, cfg JetStreamConfig) (*JetStreamSource, error) {
	if store == nil {
		return nil, errors.New("runner: jetstream source: nil store")
	}
	if cfg.Name == "" {
		cfg.Name = "runner"
	}
	if cfg.Filter == "" {
		cfg.Filter = ExecFilter
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 64
	}
	if cfg.Fetchers <= 0 {
		cfg.Fetchers = 2
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Second
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = 4*cfg.Prefetch + 2*eventstore.MaxBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = logrus.StandardLogger()
	}
	s := &JetStreamSource{store: store, cfg: cfg}
	s.undecMetric = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "assay_runner_undecodable_total", Help: "Execution requests that could not be decoded and were terminated.",
		ConstLabels: prometheus.Labels{"durable": cfg.Name},
	})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.undecMetric); err != nil {
			return nil, fmt.Errorf("runner: jetstream source: register metrics: %w", err)
		}
	}
	return s, nil
}

// Undecodable is how many messages were terminated because they could not be decoded.
func (s *JetStreamSource) Undecodable() int64 { return s.undecodable.Load() }

// Abandoned is how many cases this source ended errored because their request could
// not be decoded.
func (s *JetStreamSource) Abandoned() int64 { return s.abandoned.Load() }

// Run fetches and hands over jobs until ctx ends (then it returns nil) or h fails.
// The next fetches run while the last one's jobs are handed over (Fetchers goroutines
// run fetchAhead): a fetch is a round trip to the server plus the decoding of every
// message, and the handler blocks while the runner is full, so fetching only once it
// has taken everything would leave the runner idle meanwhile.
func (s *JetStreamSource) Run(ctx context.Context, h Handler) error {
	cons, err := s.store.Durable(ctx, eventstore.ConsumerConfig{
		Name: s.cfg.Name, Filters: []string{s.cfg.Filter},
		AckWait: s.cfg.AckWait, MaxAckPending: s.cfg.MaxAckPending,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("runner: jetstream source: %w", err)
	}
	fctx, stop := context.WithCancel(ctx)
	// Unbuffered: each fetcher holds at most one fetch it could not hand over yet, so at
	// most Fetchers×Prefetch messages wait beside the one being handed over.
	fetched := make(chan []*eventstore.Delivery)
	k := newKeeper()
	var fetchers, keeping sync.WaitGroup
	kctx, stopKeeping := context.WithCancel(context.WithoutCancel(ctx))
	keeping.Go(func() { k.run(kctx, s.cfg.AckWait/3) })
	// Kept alive until Run returns: the runner's StopTimeout is shorter than AckWait.
	defer func() { stopKeeping(); keeping.Wait() }()
	for range s.cfg.Fetchers {
		fetchers.Go(func() { s.fetchAhead(fctx, cons, k, fetched) })
	}
	go func() { fetchers.Wait(); close(fetched) }()
	defer func() {
		stop()
		for ds := range fetched { // fetched, never handed over: deliver them again soon
			nakAll(ds)
		}
	}()
	for ds := range fetched {
		for i, d := range ds {
			job, ok := s.job(d, k)
			if !ok {
				continue
			}
			if err := h(ctx, job); err != nil {
				// Those not handed over are redelivered after AckWait; say so now.
				nakAll(ds[i:])
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("runner: jetstream source: handler: %w", err)
			}
		}
	}
	return nil
}

// fetchAhead fetches until ctx ends and sends each non-empty fetch to out.
func (s *JetStreamSource) fetchAhead(ctx context.Context, cons *eventstore.Consumer, k *keeper, out chan<- []*eventstore.Delivery) {
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		ds, err := cons.Fetch(ctx, s.cfg.Prefetch, s.cfg.MaxWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.cfg.Logger.WithFields(logrus.Fields{"durable": s.cfg.Name, "err": err, "pause": pause}).Warn("runner: fetch failed, retrying")
			if sleepCtx(ctx, pause) != nil {
				return
			}
			pause = min(2*pause, 5*time.Second)
			continue
		}
		pause = 100 * time.Millisecond
		if len(ds) == 0 {
			continue
		}
		k.add(ds)
		select {
		case out <- ds:
		case <-ctx.Done():
			nakAll(ds)
			return
		}
	}
}

func nakAll(ds []*eventstore.Delivery) {
	for _, d := range ds {
		_ = d.Nak(0)
	}
}

// job turns a delivery into a job; a message that can never run is terminated.
func (s *JetStreamSource) job(d *eventstore.Delivery, k *keeper) (Job, bool) {
	req, ok := d.Env.Data.(batch.CaseExecutionRequested)
	if d.Err == nil && !ok {
		d.Err = fmt.Errorf("event %s on %s is not an execution request", d.Env.Type, d.Env.Subject)
	}
	if d.Err != nil {
		s.undecodable.Add(1)
		s.undecMetric.Inc()
		s.cfg.Logger.WithFields(logrus.Fields{"seq": d.Seq, "subject": d.Env.Subject, "type": d.Env.Type, "err": d.Err}).
			Error("runner: undecodable execution request terminated")
		s.abandon(d)
		if err := d.Term("undecodable: " + d.Err.Error()); err != nil {
			s.cfg.Logger.WithFields(logrus.Fields{"seq": d.Seq, "err": err}).Warn("runner: term failed")
		}
		return Job{}, false
	}
	// The job carries the request; the delivery keeps only what settles it, so that a
	// request is not held decoded twice while its result waits for its append.
	d.Env.Data = nil
	return Job{
		Request: req,
		EventID: d.Env.ID,
		Meta:    d.Env.Meta,
		Attempt: int(d.NumDelivered),
		Ack: func(ctx context.Context) error {
			k.drop(d)
			return d.Ack(ctx)
		},
		Nak: func(delay time.Duration) error {
			k.drop(d)
			return d.Nak(delay)
		},
		InProgress: d.InProgress,
	}, true
}

// abandon ends errored the case an undecodable request's subject names (it will never
// be delivered again), so its batch can complete; the result expects its subject empty.
func (s *JetStreamSource) abandon(d *eventstore.Delivery) {
	appID, batchID, caseID, ok := execSubjectIDs(d.Env.Subject)
	if !ok || s.cfg.Results == nil {
		return
	}
	correlation := d.Env.Meta.CorrelationID
	if correlation == "" {
		correlation = d.Env.ID
	}
	recorded, err := appendErrored(context.Background(), s.cfg.Results, appID, batchID, caseID, s.cfg.Name,
		"the execution request could not be decoded: "+d.Err.Error(), domain.Metadata{CorrelationID: correlation, CausationID: d.Env.ID})
	l := s.cfg.Logger.WithFields(logrus.Fields{"seq": d.Seq, "subject": d.Env.Subject})
	switch {
	case err != nil:
		l.WithField("err", err).Warn("runner: could not end the case of an undecodable request")
	case recorded:
		s.abandoned.Add(1)
		l.Warn("runner: the case of an undecodable request ended errored")
	}
}

// execSubjectIDs splits <root>.app.<app>.batch.<batch>.exec.<case>.
func execSubjectIDs(subject string) (appID, batchID, caseID string, ok bool) {
	t := strings.Split(subject, ".")
	if len(t) != 7 || t[0] != domain.SubjectRoot || t[1] != "app" || t[3] != "batch" || t[5] != "exec" {
		return "", "", "", false
	}
	return t[2], t[4], t[6], true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
