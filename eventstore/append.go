package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/assay-dev/assay/domain"
)

// MaxBatch is the most events one Append stores atomically: nats-server's default
// atomic batch limit (JetStreamLimits.MaxBatchSize, error 10199 beyond it).
const MaxBatch = 1000

// Expect maps a subject to the last sequence that subject must have (0 = the subject
// must be empty). A subject absent from the map carries no expectation.
type Expect map[string]uint64

// Append stores envelopes and returns them with Seq (and Type, Version, Subject, Time)
// filled, in order. One envelope is a plain publish; several are one atomic batch,
// stored all or nothing. A broken expectation is an error wrapping domain.ErrConflict.
func (s *Store) Append(ctx context.Context, expect Expect, envs ...domain.Envelope) ([]domain.Envelope, error) {
	if len(envs) == 0 {
		return nil, nil
	}
	if len(envs) > MaxBatch {
		return nil, fmt.Errorf("eventstore: append %d events: at most %d are atomic", len(envs), MaxBatch)
	}
	out, msgs, err := s.prepare(expect, envs)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 1 {
		seq, err := s.publishOne(ctx, msgs[0])
		if err != nil {
			return nil, err
		}
		out[0].Seq = seq
		return out, nil
	}
	last, err := s.publishBatch(ctx, msgs)
	if err != nil {
		return nil, err
	}
	// An atomic batch is committed as one contiguous run of sequences ending at last.
	first := last - uint64(len(out)) + 1
	for i := range out {
		out[i].Seq = first + uint64(i)
	}
	return out, nil
}

// prepare completes the envelopes and builds their messages. The expected sequence of
// a subject goes on the first message of that subject only: the server checks a later
// one against the batch's own earlier write and rejects it (10164).
func (s *Store) prepare(expect Expect, envs []domain.Envelope) ([]domain.Envelope, []*nats.Msg, error) {
	out := make([]domain.Envelope, len(envs))
	msgs := make([]*nats.Msg, len(envs))
	ids := make(map[string]struct{}, len(envs))
	expected := make(map[string]struct{}, len(expect))
	for i, env := range envs {
		data, err := s.complete(&env)
		if err != nil {
			return nil, nil, fmt.Errorf("eventstore: append event %d: %w", i, err)
		}
		if _, dup := ids[env.ID]; dup {
			return nil, nil, fmt.Errorf("eventstore: append event %d: id %q appears twice", i, env.ID)
		}
		ids[env.ID] = struct{}{}
		msg := &nats.Msg{Subject: env.Subject, Header: s.headers(env), Data: data}
		if seq, ok := expect[env.Subject]; ok {
			if _, done := expected[env.Subject]; !done {
				msg.Header[jetstream.ExpectedLastSubjSeqHeader] = []string{strconv.FormatUint(seq, 10)}
				expected[env.Subject] = struct{}{}
			}
		}
		out[i], msgs[i] = env, msg
	}
	// An expectation on a subject nothing is written to would silently protect
	// nothing: refuse it rather than let a caller believe it holds.
	for subj := range expect {
		if _, ok := expected[subj]; !ok {
			return nil, nil, fmt.Errorf("eventstore: append: expectation on %q, but no event is appended to it", subj)
		}
	}
	return out, msgs, nil
}

// complete fills Type, Version, Subject (from the event when empty) and Time (now when
// zero, in UTC) and returns the encoded data.
func (s *Store) complete(env *domain.Envelope) ([]byte, error) {
	if env.Data == nil {
		return nil, errors.New("no data")
	}
	if env.ID == "" {
		return nil, fmt.Errorf("%s: no id", env.Data.EventType())
	}
	data, version, err := s.catalog.Encode(env.Data)
	if err != nil {
		return nil, err
	}
	env.Type, env.Version, env.Seq = env.Data.EventType(), version, 0
	if env.Subject == "" {
		env.Subject = env.Data.Subject()
	}
	if env.Subject == "" || strings.ContainsAny(env.Subject, "*> \t\r\n") {
		return nil, fmt.Errorf("%s %s: subject %q is not a literal subject", env.Type, env.ID, env.Subject)
	}
	if env.Time.IsZero() {
		env.Time = time.Now()
	}
	env.Time = env.Time.UTC()
	return data, nil
}

// publishOne is a plain publish. A duplicate ack (same Nats-Msg-Id inside the window)
// means the event is already stored: that is success, at the original sequence.
func (s *Store) publishOne(ctx context.Context, msg *nats.Msg) (uint64, error) {
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		return 0, appendErr(msg.Subject, err)
	}
	return ack.Sequence, nil
}

// publishBatch publishes msgs as one atomic batch and returns the last sequence.
// "Too many batches in flight" is answered to the first message, before anything is
// staged, so the whole batch is simply tried again after a short pause.
func (s *Store) publishBatch(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
	what := fmt.Sprintf("batch of %d from %s", len(msgs), msgs[0].Subject)
	pause := time.Millisecond
	for {
		ack, err := jetstreamext.PublishMsgBatch(ctx, s.js, msgs)
		if err == nil {
			return ack.Sequence, nil
		}
		if !hasCode(err, jetstreamext.JSErrCodeAtomicPublishTooManyInflight) {
			return 0, appendErr(what, err)
		}
		if err := sleep(ctx, pause); err != nil {
			return 0, fmt.Errorf("eventstore: append %s: too many batches in flight: %w", what, err)
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// appendErr wraps a publish error; a broken expectation (10071), an expectation on a
// subject written earlier in the same batch (10164) and a re-sent batch (10201) are
// conflicts: the caller reloads and decides again.
func appendErr(what string, err error) error {
	if hasCode(err, jetstream.JSErrCodeStreamWrongLastSequence,
		jetstream.JSErrCodeStreamWrongLastSequenceConstant,
		jetstreamext.JSErrCodeBatchPublishDuplicateMsgID) {
		return fmt.Errorf("eventstore: append %s: %w: %w", what, domain.ErrConflict, err)
	}
	return fmt.Errorf("eventstore: append %s: %w", what, err)
}

func hasCode(err error, codes ...jetstream.ErrorCode) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.ErrorCode == c {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
