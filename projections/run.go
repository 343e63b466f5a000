package projections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// Run feeds the projection until ctx ends. Transient failures (a database that went away)
// are retried with backoff; a poison event halts the projection until an operator skips it.
func (e *Engine) Run(ctx context.Context) error {
	defer e.setStatus(func(s *Status) { s.State = StateStopped })
	cp, cons, err := e.start(ctx)
	if err != nil {
		return err
	}
	var held []*eventstore.Delivery // fetched but not yet applied (while halted)
	lagTick := time.NewTicker(time.Second)
	defer lagTick.Stop()
	defer func() { nakAll(held) }()
	for ctx.Err() == nil {
		if e.Status().State == StateHalted {
			if cp, err = e.waitForSkip(ctx, cp); err != nil {
				continue
			}
		}
		ds := held
		if len(ds) == 0 {
			if ds, err = cons.Fetch(ctx, e.cfg.BatchSize, e.cfg.MaxWait); err != nil {
				if ctx.Err() == nil { // a fetch ended by our own stop is not a failure
					e.pause(ctx, "fetch", err, 1)
				}
				continue
			}
		}
		stop := eventstore.KeepAlive(ds, e.cfg.AckWait/3)
		held, cp, err = e.process(ctx, cp, ds)
		stop()
		switch {
		case errors.Is(err, ErrEpochChanged):
			nakAll(ds)
			held = nil
			if cp, cons, err = e.start(ctx); err != nil {
				return err
			}
		case err != nil && ctx.Err() == nil:
			e.pause(ctx, "read the stream", err, 1)
		}
		select {
		case <-lagTick.C:
			e.observeLag(ctx, cp.Seq)
		default:
		}
	}
	return nil
}

// start reads the checkpoint and makes sure the durable consumer delivers everything after
// it: a consumer that already acknowledged past the checkpoint (the tables were rebuilt or
// swapped) is recreated from there.
func (e *Engine) start(ctx context.Context) (Checkpoint, *eventstore.Consumer, error) {
	for attempt := 1; ; attempt++ {
		cp, cons, err := e.open(ctx)
		if err == nil {
			f, ferr := e.failures.OpenFailure(ctx, e.proj.Name())
			if ferr == nil {
				e.setStatus(func(s *Status) {
					s.Seq, s.Epoch, s.State, s.Halt = cp.Seq, cp.Epoch, StateRunning, f
					if f != nil {
						s.State = StateHalted
					}
				})
				return cp, cons, nil
			}
			err = ferr
		}
		if ctx.Err() != nil {
			return cp, nil, ctx.Err()
		}
		e.pause(ctx, "start", err, attempt)
	}
}

func (e *Engine) open(ctx context.Context) (Checkpoint, *eventstore.Consumer, error) {
	cp, err := e.proj.Checkpoint(ctx)
	if err != nil {
		return cp, nil, fmt.Errorf("read checkpoint: %w", err)
	}
	cfg := eventstore.ConsumerConfig{Name: ConsumerName(e.proj.Name()), StartAfter: cp.Seq,
		AckWait: e.cfg.AckWait, MaxAckPending: 2 * e.cfg.BatchSize}
	cons, err := e.store.Durable(ctx, cfg)
	if err != nil {
		return cp, nil, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return cp, nil, err
	}
	if info.AckFloor.Stream > cp.Seq {
		// Another replica may have committed and acked since cp was read. It acks only
		// after committing, so a checkpoint read after the consumer's info is at or past
		// its floor, unless the read model really is behind (restored, replaced).
		if cp, err = e.proj.Checkpoint(ctx); err != nil {
			return cp, nil, fmt.Errorf("read checkpoint: %w", err)
		}
		cfg.StartAfter = cp.Seq
	}
	if info.AckFloor.Stream > cp.Seq {
		e.log.WithField("checkpoint", cp.Seq).WithField("consumer_floor", info.AckFloor.Stream).Warn("consumer is ahead of the checkpoint; recreating it")
		if err := e.store.DeleteDurable(ctx, cfg.Name); err != nil {
			return cp, nil, err
		}
		if cons, err = e.store.Durable(ctx, cfg); err != nil {
			return cp, nil, err
		}
	}
	return cp, cons, nil
}

// process applies one fetched batch: skips what the checkpoint covers, fills any gap
// from the stream itself (a delivery can overtake another, and the checkpoint must never
// pass an event that was not applied), applies the rest in one transaction, halts at a
// poison event (applying what came before it), and acks what is applied. It returns the
// deliveries still held (from the poison event on).
func (e *Engine) process(ctx context.Context, cp Checkpoint, ds []*eventstore.Delivery) ([]*eventstore.Delivery, Checkpoint, error) {
	slices.SortFunc(ds, func(a, b *eventstore.Delivery) int { return cmp.Compare(a.Seq, b.Seq) })
	events, poison, through, err := e.contiguous(ctx, cp.Seq, ds)
	if err != nil {
		return ds, cp, err
	}
	applied, err := e.apply(ctx, cp.Epoch, events, through)
	var pe *PoisonError
	if errors.As(err, &pe) {
		poison = pe
	} else if err != nil {
		if ctx.Err() != nil {
			nakAll(ds) // stopping: hand them back at once rather than after AckWait
		}
		return ds, cp, err
	}
	cp.Seq = max(cp.Seq, applied)
	e.ack(ctx, ds, cp.Seq)
	e.setStatus(func(s *Status) { s.Seq = cp.Seq })
	if poison != nil {
		e.halt(ctx, poison)
		return ds[indexOfSeq(ds, cp.Seq+1):], cp, nil
	}
	return nil, cp, nil
}

// contiguous turns sorted deliveries into the gapless run of events after `after`, reading
// missing sequences from the stream. It stops before a poison event.
func (e *Engine) contiguous(ctx context.Context, after uint64, ds []*eventstore.Delivery) ([]domain.Envelope, *PoisonError, uint64, error) {
	var events []domain.Envelope
	next := after + 1
	take := func(env domain.Envelope, decodeErr error) *PoisonError {
		if decodeErr != nil {
			return &PoisonError{Seq: env.Seq, Type: env.Type, Reason: decodeErr}
		}
		events = append(events, env)
		return nil
	}
	for _, d := range ds {
		for ; next < d.Seq; next++ {
			env, err := e.store.Get(ctx, next)
			switch {
			case errors.Is(err, eventstore.ErrNoEvent):
				continue
			case err != nil && env.Type == "" && !errors.Is(err, domain.ErrUnknownEvent):
				return nil, nil, 0, err // the stream could not be read: try again later
			}
			if p := take(env, err); p != nil {
				return events, p, next - 1, nil
			}
		}
		if d.Seq < next {
			continue // at or below what is applied, or a duplicate delivery
		}
		if p := take(d.Env, d.Err); p != nil {
			return events, p, d.Seq - 1, nil
		}
		next = d.Seq + 1
	}
	return events, nil, next - 1, nil
}

// apply commits events through `through`, retrying transient failures. When the projection
// names a poison event, what precedes it is applied and the poison error returned.
func (e *Engine) apply(ctx context.Context, epoch int64, events []domain.Envelope, through uint64) (uint64, error) {
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := e.proj.Apply(ctx, epoch, events, through)
		var pe *PoisonError
		switch {
		case err == nil:
			e.observeApplied(len(events), time.Since(start), through)
			return through, nil
		case errors.As(err, &pe):
			i := indexOfEnv(events, pe.Seq)
			if i <= 0 {
				return 0, pe
			}
			if _, err := e.apply(ctx, epoch, events[:i], events[i-1].Seq); err != nil {
				return 0, err
			}
			return events[i-1].Seq, pe
		case errors.Is(err, ErrEpochChanged), ctx.Err() != nil:
			return 0, err
		}
		e.pause(ctx, "apply", err, attempt)
	}
}

func (e *Engine) ack(ctx context.Context, ds []*eventstore.Delivery, through uint64) {
	for _, d := range ds {
		if d.Seq > through {
			return
		}
		if err := d.Ack(ctx); err != nil {
			// Not fatal: a redelivered event is at or below the checkpoint and skipped.
			e.log.WithError(err).WithField("seq", d.Seq).Debug("ack failed")
		}
	}
}

func (e *Engine) observeApplied(n int, took time.Duration, through uint64) {
	name := e.proj.Name()
	e.metrics.applied.WithLabelValues(name).Add(float64(n))
	e.metrics.batchSize.WithLabelValues(name).Observe(float64(n))
	e.metrics.latency.WithLabelValues(name).Observe(took.Seconds())
	if nc := e.cfg.NotifyConn; nc != nil {
		_ = nc.Publish(CheckpointSubject(name), []byte(strconv.FormatUint(through, 10)))
	}
}

func (e *Engine) observeLag(ctx context.Context, seq uint64) {
	if last, err := e.store.LastSeq(ctx); err == nil && last >= seq {
		e.metrics.lag.WithLabelValues(e.proj.Name()).Set(float64(last - seq))
	}
}

func nakAll(ds []*eventstore.Delivery) {
	for _, d := range ds {
		_ = d.Nak(0)
	}
}

func indexOfSeq(ds []*eventstore.Delivery, seq uint64) int {
	for i, d := range ds {
		if d.Seq == seq {
			return i
		}
	}
	return len(ds)
}

func indexOfEnv(es []domain.Envelope, seq uint64) int {
	for i, e := range es {
		if e.Seq == seq {
			return i
		}
	}
	return -1
}
