package eventstore_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

func TestAppendOne(t *testing.T) {
	t.Parallel()
	s := start(t)
	out := mustAppend(t, s, eventstore.Expect{"events.test.a": 0}, env("a", 1))
	if len(out) != 1 || out[0].Seq != 1 || out[0].Type != "test.noted" || out[0].Version != 1 {
		t.Fatalf("appended = %+v, want seq 1, type test.noted, version 1", out)
	}
	out = mustAppend(t, s, eventstore.Expect{"events.test.a": 1}, env("a", 2))
	if out[0].Seq != 2 {
		t.Fatalf("second append seq = %d, want 2", out[0].Seq)
	}
}

func TestAppendManyContiguous(t *testing.T) {
	t.Parallel()
	s := start(t)
	mustAppend(t, s, nil, env("other", 0))
	out := mustAppend(t, s, eventstore.Expect{"events.test.a": 0, "events.test.b": 0},
		env("a", 1), env("b", 1), env("a", 2))
	if got, want := seqs(out), []uint64{2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("seqs = %v, want %v", got, want)
	}
	loaded, last, err := s.Load(testCtx(t), "events.test.a", "events.test.b")
	if err != nil {
		t.Fatal(err)
	}
	if last != 4 || !slices.Equal(seqs(loaded), []uint64{2, 3, 4}) {
		t.Fatalf("loaded seqs %v last %d, want [2 3 4] 4", seqs(loaded), last)
	}
}

// A stale expectation on one subject rejects the whole batch: nothing is stored.
func TestAppendBatchIsAtomic(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	mustAppend(t, s, nil, env("a", 1))
	_, err := s.Append(ctx, eventstore.Expect{"events.test.b": 0, "events.test.a": 0},
		env("b", 1), env("b", 2), env("a", 2))
	assertConflict(t, err, jetstream.JSErrCodeStreamWrongLastSequence)
	last, err := s.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last != 1 {
		t.Fatalf("last seq after rejected batch = %d, want 1", last)
	}
	if n, _ := s.LastSubjectSeq(ctx, "events.test.b"); n != 0 {
		t.Fatalf("subject b has seq %d after rejected batch, want none", n)
	}
}

func TestAppendExpectations(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	mustAppend(t, s, eventstore.Expect{"events.test.a": 0}, env("a", 1)) // fresh subject: 0 holds
	mustAppend(t, s, nil, env("noise", 1))

	_, err := s.Append(ctx, eventstore.Expect{"events.test.a": 0}, env("a", 2))
	assertConflict(t, err, jetstream.JSErrCodeStreamWrongLastSequence) // written subject: 0 is stale

	_, err = s.Append(ctx, eventstore.Expect{"events.test.a": 2}, env("a", 2))
	assertConflict(t, err, jetstream.JSErrCodeStreamWrongLastSequence) // seq 2 is another subject's

	out := mustAppend(t, s, eventstore.Expect{"events.test.a": 1}, env("a", 2))
	if out[0].Seq != 3 {
		t.Fatalf("seq = %d, want 3", out[0].Seq)
	}
}

// An expectation on a subject the append does not write to would protect nothing.
func TestAppendRejectsUnusedExpectation(t *testing.T) {
	t.Parallel()
	s := start(t)
	_, err := s.Append(testCtx(t), eventstore.Expect{"events.test.zzz": 0}, env("a", 1))
	if err == nil || errors.Is(err, domain.ErrConflict) {
		t.Fatalf("err = %v, want a plain error", err)
	}
}

// The same Nats-Msg-Id twice inside the window stores one event and answers its seq.
func TestAppendDuplicateSingle(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	e := env("a", 1)
	first := mustAppend(t, s, nil, e)
	mustAppend(t, s, nil, env("b", 1))
	again := mustAppend(t, s, nil, e)
	if again[0].Seq != first[0].Seq {
		t.Fatalf("duplicate answered seq %d, want %d", again[0].Seq, first[0].Seq)
	}
	loaded, _, err := s.Load(ctx, "events.test.a")
	if err != nil || len(loaded) != 1 {
		t.Fatalf("load = %d events, %v; want 1", len(loaded), err)
	}
}

// A batch sent again with the same ids is refused (10201): a conflict, nothing doubled.
func TestAppendBatchResentConflicts(t *testing.T) {
	t.Parallel()
	s := start(t)
	batch := []domain.Envelope{env("a", 1), env("b", 1)}
	mustAppend(t, s, nil, batch...)
	_, err := s.Append(testCtx(t), nil, batch...)
	assertConflict(t, err, 10201)
	if last, _ := s.LastSeq(testCtx(t)); last != 2 {
		t.Fatalf("last seq = %d, want 2", last)
	}
}

func TestAppendValidation(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	dupID := env("a", 1)
	tooMany := make([]domain.Envelope, eventstore.MaxBatch+1)
	for i := range tooMany {
		tooMany[i] = env("a", i)
	}
	cases := map[string][]domain.Envelope{
		"no data":      {{ID: "x", Subject: "events.test.a"}},
		"no id":        {{Subject: "events.test.a", Data: noted{Key: "a"}}},
		"wildcard":     {{ID: "x", Subject: "events.test.*", Data: noted{Key: "a"}}},
		"unknown type": {{ID: "x", Data: renamedUnknown{}}},
		"id twice":     {dupID, dupID},
		"too many":     tooMany,
	}
	for name, envs := range cases {
		if _, err := s.Append(ctx, nil, envs...); err == nil {
			t.Errorf("%s: append succeeded, want an error", name)
		}
	}
	if last, _ := s.LastSeq(ctx); last != 0 {
		t.Fatalf("rejected appends stored %d events", last)
	}
}

type renamedUnknown struct{}

func (renamedUnknown) EventType() string { return "test.not_registered" }
func (renamedUnknown) Subject() string   { return "events.test.unknown" }

func assertConflict(t *testing.T, err error, code jetstream.ErrorCode) {
	t.Helper()
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != code {
		t.Fatalf("err = %v, want API error code %d", err, code)
	}
}
