package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
)

// ConsumerConfig describes a durable pull consumer: explicit acks and a small client
// buffer, because projectors and reactors checkpoint what they applied.
type ConsumerConfig struct {
	Name          string        // durable name, required
	Filters       []string      // default: the stream's subjects
	StartAfter    uint64        // when created: DeliverByStartSequence from StartAfter+1 (0 = all)
	AckWait       time.Duration // default 30s
	MaxAckPending int           // default 1000
	MaxDeliver    int           // default -1 (unlimited; poison handling is the caller's)
}

func (c *ConsumerConfig) setDefaults(streamSubjects []string) {
	if len(c.Filters) == 0 {
		c.Filters = streamSubjects
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 1000
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = -1
	}
}

// Consumer is one handle on a durable consumer; several handles (in one process or
// many) with the same name share its deliveries.
type Consumer struct {
	store *Store
	cons  jetstream.Consumer
	name  string
}

// Durable creates the durable consumer or updates it. Its start position is only set
// when it is created: the server refuses to move it, and a restarted projector must
// resume where the consumer is, not where its configuration once said.
func (s *Store) Durable(ctx context.Context, cfg ConsumerConfig) (*Consumer, error) {
	if !domain.ValidID(cfg.Name) {
		return nil, fmt.Errorf("eventstore: durable %q: name must be a non-empty token without '.', '*', '>' or spaces", cfg.Name)
	}
	cfg.setDefaults(s.cfg.Subjects)
	jc := jetstream.ConsumerConfig{
		Durable:        cfg.Name,
		FilterSubjects: cfg.Filters,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        cfg.AckWait,
		MaxAckPending:  cfg.MaxAckPending,
		MaxDeliver:     cfg.MaxDeliver,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	if cfg.StartAfter > 0 {
		jc.DeliverPolicy, jc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, cfg.StartAfter+1
	}
	existing, err := s.stream.Consumer(ctx, cfg.Name)
	switch {
	case err == nil:
		was := existing.CachedInfo().Config
		jc.DeliverPolicy, jc.OptStartSeq, jc.OptStartTime = was.DeliverPolicy, was.OptStartSeq, was.OptStartTime
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, fmt.Errorf("eventstore: durable %s: look up: %w", cfg.Name, err)
	}
	cons, err := s.stream.CreateOrUpdateConsumer(ctx, jc)
	if err != nil {
		return nil, fmt.Errorf("eventstore: durable %s: create or update: %w", cfg.Name, err)
	}
	return &Consumer{store: s, cons: cons, name: cfg.Name}, nil
}

// DeleteDurable removes a durable consumer (a projection rebuild starts a new one).
// A consumer that does not exist is already deleted: no error.
func (s *Store) DeleteDurable(ctx context.Context, name string) error {
	err := s.stream.DeleteConsumer(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("eventstore: delete durable %s: %w", name, err)
	}
	return nil
}

// Name is the durable name.
func (c *Consumer) Name() string { return c.name }

// Info is the consumer's state on the server (pending, ack floor, …).
func (c *Consumer) Info(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	info, err := c.cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventstore: durable %s info: %w", c.name, err)
	}
	return info, nil
}
