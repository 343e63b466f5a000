package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
)

// orderedInactive is how soon the server removes a read's consumer if dropOrdered
// could not. A stream holds at most 1,000 consumers by default (nats-server's
// JSDefaultMaxConsumersPerStream) and every Load makes one, so leftovers must not
// linger for the library's default of 5 minutes. A read in progress always has a
// pull request waiting, so it is never inactive.
const orderedInactive = 10 * time.Second

// orderedResets bounds how often a read recreates its consumer after losing it (the
// library's default is forever, with backoff, deaf to the caller's context).
const orderedResets = 3

// readBuffer caps the client buffer of a read: large enough that a 10,000-event
// aggregate streams in a few pull requests, small enough to be cheap per read.
const readBuffer = 4096

// Load reads every event on the filters in stream order and the last sequence they
// had when Load started (0 when empty). It stops at that sequence, so a concurrent
// append neither blocks nor extends it: the caller decides on a consistent prefix and
// states that sequence as its expectation.
func (s *Store) Load(ctx context.Context, filters ...string) ([]domain.Envelope, uint64, error) {
	if len(filters) == 0 {
		return nil, 0, errors.New("eventstore: load: no filter subject")
	}
	if splitLoad(filters) {
		return s.loadSplit(ctx, filters)
	}
	last, err := s.lastOf(ctx, filters)
	if err != nil {
		return nil, 0, fmt.Errorf("eventstore: load %v: %w", filters, err)
	}
	if last == 0 {
		return nil, 0, nil
	}
	var envs []domain.Envelope
	err = s.read(ctx, filters, 1, last, func(env domain.Envelope, pending uint64) error {
		if envs == nil {
			// Sized once from the consumer's count of what follows: growing a slice of
			// envelopes through 10,000 events costs more than decoding them.
			envs = make([]domain.Envelope, 0, min(pending, last)+1)
		}
		envs = append(envs, env)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("eventstore: load %v: %w", filters, err)
	}
	return envs, last, nil
}

// LastSeqOn is the sequence of the last envelope on subject (0 if none): what an
// append to that subject must expect after a Load. Load's own last sequence spans all
// its filters, while the server checks an expectation against the subject alone.
func LastSeqOn(envs []domain.Envelope, subject string) uint64 {
	for i := len(envs) - 1; i >= 0; i-- {
		if envs[i].Subject == subject {
			return envs[i].Seq
		}
	}
	return 0
}

// Replay calls fn for every event with from < seq <= to on the filters (none = the
// whole stream), in order. to == 0 means up to the last sequence when Replay starts,
// so a replay over a live stream ends.
func (s *Store) Replay(ctx context.Context, from, to uint64, filters []string, fn func(domain.Envelope) error) error {
	last, err := s.lastOf(ctx, filters)
	if err != nil {
		return fmt.Errorf("eventstore: replay %v: %w", filters, err)
	}
	if to > 0 && to < last {
		last = to
	}
	if last <= from {
		return nil
	}
	each := func(env domain.Envelope, _ uint64) error { return fn(env) }
	if err := s.read(ctx, filters, from+1, last, each); err != nil {
		return fmt.Errorf("eventstore: replay %v from %d to %d: %w", filters, from, last, err)
	}
	return nil
}

// read passes the events on filters from sequence start through last to fn, through
// an ordered consumer (ephemeral, flow-controlled, resumes by itself after a hiccup).
// It stops as soon as it sees a sequence >= last instead of waiting for a fetch to
// time out: last was read from the stream, so a message at or beyond it will come.
// fn also gets how many messages the consumer still had pending after this one.
func (s *Store) read(ctx context.Context, filters []string, start, last uint64, fn func(domain.Envelope, uint64) error) error {
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    filters,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		InactiveThreshold: orderedInactive,
		MaxResetAttempts:  orderedResets,
	})
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	defer s.dropOrdered(ctx, cons)
	buf := int(min(max(last-start+1, 64), readBuffer))
	it, err := cons.Messages(jetstream.PullMaxMessages(buf))
	if err != nil {
		return fmt.Errorf("ordered consumer messages: %w", err)
	}
	defer it.Stop()
	// Next honours ctx, but a consumer reset inside Next does not: stopping the
	// iterator when ctx ends interrupts that too.
	defer context.AfterFunc(ctx, it.Stop)()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("read from %d: %w", start, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("message metadata: %w", err)
		}
		seq := meta.Sequence.Stream
		if seq > last {
			return nil
		}
		env, err := s.decode(msg.Subject(), msg.Headers(), msg.Data(), seq)
		if err != nil {
			return err
		}
		if err := fn(env, meta.NumPending); err != nil {
			return err
		}
		if seq >= last {
			return nil
		}
	}
}

// dropOrdered deletes the ordered consumer a read used, so a busy command path does
// not leave one idle consumer per load on the server until its inactivity threshold.
// Failure is harmless (the threshold still removes it), so the error is dropped; the
// caller's cancellation must not prevent the clean-up, hence WithoutCancel.
func (s *Store) dropOrdered(ctx context.Context, cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = s.js.DeleteConsumer(ctx, s.cfg.Stream, info.Name)
}
