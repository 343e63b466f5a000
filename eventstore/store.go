// Package eventstore is the log: one JetStream stream holding every event, with
// optimistic concurrency per subject, atomic multi-event appends, fast ordered reads
// and durable consumers for projectors and reactors. See DESIGN.md, "The log".
package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
)

// Store appends to and reads from the events stream. It is safe for concurrent use:
// it holds no mutable state beyond the JetStream handles.
type Store struct {
	js      jetstream.JetStream
	stream  jetstream.Stream
	catalog *domain.Catalog
	cfg     Config
}

// Open ensures the stream exists with the log's settings and returns a Store.
// CreateOrUpdateStream makes it idempotent: every process may call it at start.
func Open(ctx context.Context, nc *nats.Conn, catalog *domain.Catalog, cfg Config) (*Store, error) {
	if nc == nil {
		return nil, errors.New("eventstore: open: nil connection")
	}
	if catalog == nil {
		return nil, errors.New("eventstore: open: nil catalog")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("eventstore: open: config: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("eventstore: open: jetstream: %w", err)
	}
	stream, err := js.CreateOrUpdateStream(ctx, streamConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("eventstore: open: ensure stream %s: %w", cfg.Stream, err)
	}
	return &Store{js: js, stream: stream, catalog: catalog, cfg: cfg}, nil
}

// streamConfig is the log's stream. History is the product: no age or size limit,
// and nobody may delete or purge. Atomic publish lets one command append several
// events all or nothing.
func streamConfig(cfg Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               cfg.Stream,
		Description:        "assay event log",
		Subjects:           cfg.Subjects,
		Retention:          jetstream.LimitsPolicy,
		Storage:            jetstream.FileStorage,
		MaxAge:             0,
		Replicas:           cfg.Replicas,
		Duplicates:         cfg.DuplicateWindow,
		DenyDelete:         true,
		DenyPurge:          true,
		AllowAtomicPublish: true,
	}
}

// JetStream is the underlying handle, for tools and tests that need raw access.
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Catalog is the catalog events are encoded and decoded with.
func (s *Store) Catalog() *domain.Catalog { return s.catalog }

// StreamName is the name of the stream holding the log.
func (s *Store) StreamName() string { return s.cfg.Stream }

// LastSeq is the stream's last sequence, for measuring how far a consumer lags.
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("eventstore: stream %s info: %w", s.cfg.Stream, err)
	}
	return info.State.LastSeq, nil
}

// LastSubjectSeq is the last sequence stored on a subject or wildcard filter, 0 if none.
func (s *Store) LastSubjectSeq(ctx context.Context, filter string) (uint64, error) {
	msg, err := s.stream.GetLastMsgForSubject(ctx, filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("eventstore: last sequence of %s: %w", filter, err)
	}
	return msg.Sequence, nil
}

// lastOf is the highest last sequence over several filters (0 when all are empty).
func (s *Store) lastOf(ctx context.Context, filters []string) (uint64, error) {
	if len(filters) == 0 {
		return s.LastSeq(ctx)
	}
	var last uint64
	for _, f := range filters {
		seq, err := s.LastSubjectSeq(ctx, f)
		if err != nil {
			return 0, err
		}
		last = max(last, seq)
	}
	return last, nil
}

// ErrNoEvent: no message is stored at that sequence.
var ErrNoEvent = errors.New("eventstore: no event at that sequence")

// Get reads the event stored at seq. A message that does not decode is returned with the
// error, its envelope partly filled (Seq, Subject, Type), like a durable delivery.
func (s *Store) Get(ctx context.Context, seq uint64) (domain.Envelope, error) {
	msg, err := s.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return domain.Envelope{Seq: seq}, fmt.Errorf("%w: %d", ErrNoEvent, seq)
	}
	if err != nil {
		return domain.Envelope{Seq: seq}, fmt.Errorf("eventstore: get %d: %w", seq, err)
	}
	return s.Decode(msg.Subject, msg.Header, msg.Data, msg.Sequence)
}
