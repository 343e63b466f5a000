// Package command is the one path every command takes: load the aggregate's events from
// the log, decide, append expecting the sequences it decided on; on a conflict load and
// decide again (bounded), then answer the conflict.
package command

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// Config tunes the handler.
type Config struct {
	// MaxAttempts bounds decide-append rounds when the aggregate changes underneath.
	MaxAttempts int
	// Now is the clock; commands carry the time, events are stamped with it.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
}

// Validate reports every bad setting.
func (c Config) Validate() error {
	if c.MaxAttempts < 1 {
		return errors.New("command: MaxAttempts must be at least 1")
	}
	return nil
}

// Handler runs commands against the event store.
type Handler struct {
	store *eventstore.Store
	cfg   Config
	obs   Observer
}

// Observer hears how each command ended (metrics); nil-safe.
type Observer interface {
	CommandHandled(kind string, err error, attempts int)
}

// New makes a handler.
func New(store *eventstore.Store, cfg Config, obs Observer) (*Handler, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Handler{store: store, cfg: cfg, obs: obs}, nil
}

// Now is the handler's clock, for commands' times.
func (h *Handler) Now() time.Time { return h.cfg.Now() }

// Store is the event store behind the handler.
func (h *Handler) Store() *eventstore.Store { return h.store }

// Result is what a command appended: Seq is the stream sequence of its last event (or, when
// it appended nothing, the aggregate's last sequence).
type Result struct {
	Seq    uint64
	Events []domain.Envelope
	// Replayed is true when the command id was seen before and nothing was appended.
	Replayed bool
}

// Handle is the generic path for any aggregate: filters select its events in the log.
func Handle[S, C any](ctx context.Context, h *Handler, d domain.Decider[S, C], filters []string, meta domain.Metadata, cmd C) (Result, error) {
	kind := fmt.Sprintf("%T", cmd)
	res, attempts, err := handle(ctx, h, d, filters, meta, cmd)
	if h.obs != nil {
		h.obs.CommandHandled(kind, err, attempts)
	}
	return res, err
}

func handle[S, C any](ctx context.Context, h *Handler, d domain.Decider[S, C], filters []string, meta domain.Metadata, cmd C) (Result, int, error) {
	if meta.CorrelationID == "" {
		meta.CorrelationID = meta.CommandID
	}
	for attempt := 1; ; attempt++ {
		res, err := once(ctx, h, d, filters, meta, cmd)
		if err == nil || !errors.Is(err, errAppendConflict) {
			return res, attempt, err
		}
		if attempt >= h.cfg.MaxAttempts {
			return Result{}, attempt, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return Result{}, attempt, err
		}
	}
}

// backoff waits a random while that grows with the attempt, so writers that collided
// do not collide again in lockstep.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(attempt) * int64(5*time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errAppendConflict marks a conflict of the append (not of the decision), the one worth retrying.
var errAppendConflict = errors.New("the aggregate changed while the command was decided")

func once[S, C any](ctx context.Context, h *Handler, d domain.Decider[S, C], filters []string, meta domain.Metadata, cmd C) (Result, error) {
	history, last, err := h.store.Load(ctx, filters...)
	if err != nil {
		return Result{}, fmt.Errorf("load %v: %w", filters, err)
	}
	if prev, ok := alreadyHandled(history, meta.CommandID); ok {
		return prev, nil
	}
	state := d.Initial()
	lastBySubject := make(map[string]uint64)
	for _, env := range history {
		state = d.Evolve(state, env.Data)
		lastBySubject[env.Subject] = env.Seq
	}
	events, err := d.Decide(state, cmd)
	if err != nil || len(events) == 0 {
		return Result{Seq: last}, err
	}
	envs, expect, err := h.envelopes(events, filters, lastBySubject, meta)
	if err != nil {
		return Result{}, err
	}
	stored, err := h.store.Append(ctx, expect, envs...)
	if errors.Is(err, domain.ErrConflict) {
		return Result{}, fmt.Errorf("%w: %w", errAppendConflict, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("append: %w", err)
	}
	return Result{Seq: stored[len(stored)-1].Seq, Events: stored}, nil
}

// alreadyHandled finds the events a command with this id appended before.
func alreadyHandled(history []domain.Envelope, commandID string) (Result, bool) {
	if commandID == "" {
		return Result{}, false
	}
	var r Result
	for _, env := range history {
		if env.Meta.CommandID == commandID {
			r.Events = append(r.Events, env)
			r.Seq = env.Seq
		}
	}
	r.Replayed = len(r.Events) > 0
	return r, r.Replayed
}

func (h *Handler) envelopes(events []domain.Event, filters []string, last map[string]uint64, meta domain.Metadata) ([]domain.Envelope, eventstore.Expect, error) {
	now := h.cfg.Now()
	envs := make([]domain.Envelope, len(events))
	expect := eventstore.Expect{}
	for i, e := range events {
		subj := e.Subject()
		if !coveredBy(subj, filters) {
			return nil, nil, fmt.Errorf("command: event %s on %s is outside the aggregate %v", e.EventType(), subj, filters)
		}
		if _, ok := expect[subj]; !ok {
			expect[subj] = last[subj]
		}
		envs[i] = domain.Envelope{ID: eventID(meta.CommandID, i), Type: e.EventType(), Subject: subj, Time: now, Meta: meta, Data: e}
	}
	return envs, expect, nil
}

// eventID derives event ids from the command id, so a command sent twice carries the same
// Nats-Msg-Id and the stream's duplicate window is a second guard.
func eventID(commandID string, i int) string {
	if commandID == "" {
		return uuid.Must(uuid.NewV7()).String()
	}
	return uuid.NewSHA1(idSpace, fmt.Appendf(nil, "%s/%d", commandID, i)).String()
}

var idSpace = uuid.MustParse("6f1d1d3e-4c1a-4c39-9a55-2d6b1b8f0a11")

// NewID is a fresh sortable id (UUIDv7) for new aggregates and commands.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// coveredBy says whether a subject matches one of the filters (with * and > wildcards).
func coveredBy(subject string, filters []string) bool {
	for _, f := range filters {
		if subjectMatches(f, subject) {
			return true
		}
	}
	return false
}

func subjectMatches(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, t := range ft {
		switch {
		case t == ">":
			return len(st) > i
		case i >= len(st):
			return false
		case t != "*" && t != st[i]:
			return false
		}
	}
	return len(ft) == len(st)
}
