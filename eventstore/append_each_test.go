package eventstore_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// Each event stands alone: of two on one subject expecting 0 only the first is stored,
// one on a subject already written is refused, and the others are stored regardless.
func TestAppendEach(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	mustAppend(t, s, nil, env("taken", 1))
	out, errs, err := s.AppendEach(ctx, eventstore.Expect{"events.test.a": 0, "events.test.b": 0, "events.test.taken": 0},
		env("a", 1), env("b", 1), env("a", 2), env("taken", 2), env("free", 1))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true, true, false} { // conflict?
		if got := errors.Is(errs[i], domain.ErrConflict); got != want || (!want && errs[i] != nil) {
			t.Fatalf("event %d: err %v, want conflict %v", i, errs[i], want)
		}
	}
	if got := []uint64{out[0].Seq, out[1].Seq, out[4].Seq}; !slices.Equal(got, []uint64{2, 3, 4}) {
		t.Fatalf("seqs %v, want [2 3 4]", got)
	}
	loaded, _, err := s.Load(ctx, "events.test.a")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].Data.(noted).N != 1 {
		t.Fatalf("events.test.a holds %+v, want the first event only", loaded)
	}
}

func TestAppendEachRefusesBadEvents(t *testing.T) {
	t.Parallel()
	s := start(t)
	if _, _, err := s.AppendEach(testCtx(t), nil, domain.Envelope{ID: "x"}); err == nil {
		t.Fatal("an envelope without data was accepted")
	}
	if out, errs, err := s.AppendEach(testCtx(t), nil); out != nil || errs != nil || err != nil {
		t.Fatalf("nothing to append: %v %v %v", out, errs, err)
	}
}
