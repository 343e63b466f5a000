package tables_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
)

func TestSQLite(t *testing.T) { suite(t, openSQLite) }

func TestMySQL(t *testing.T) { suite(t, openMySQL) }

// suite is every behaviour, run on each backend.
func suite(t *testing.T, open opener) {
	t.Run("each event changes what it should", func(t *testing.T) { testEachEvent(t, open) })
	t.Run("history gives the expected rows", func(t *testing.T) { testReads(t, open) })
	t.Run("applying again changes nothing", func(t *testing.T) { testIdempotent(t, open) })
	t.Run("stale epoch changes nothing", func(t *testing.T) { testStaleEpoch(t, open) })
	t.Run("poison rolls the whole apply back", func(t *testing.T) { testPoison(t, open) })
	t.Run("counters across applies and replays", func(t *testing.T) { testCounters(t, open) })
	t.Run("rebuild equals live and swaps without a gap", func(t *testing.T) { testRebuild(t, open) })
	t.Run("discard drops the shadow", func(t *testing.T) { testDiscard(t, open) })
	t.Run("skip resolves and moves the checkpoint", func(t *testing.T) { testSkip(t, open) })
	t.Run("checkpoints", func(t *testing.T) { testCheckpoints(t, open) })
	t.Run("recover a promotion stopped half-way", func(t *testing.T) { testRecover(t, open) })
}

// testEachEvent applies the history one event per Apply: every event type of the catalog is
// there, and each changes the tables unless the projection ignores its type.
func testEachEvent(t *testing.T, open opener) {
	p := tables.New(open(t))
	h := fullHistory()
	seen := map[string]bool{}
	before := checksum(t, p)
	for _, env := range h.events {
		seen[env.Type] = true
		apply(t, p, []domain.Envelope{env})
		after := checksum(t, p)
		changed := !maps.Equal(before, after)
		if ignored := slices.Contains(tables.Ignored, env.Type); changed == ignored {
			t.Errorf("event %d (%s): changed=%v, ignored=%v", env.Seq, env.Type, changed, ignored)
		}
		before = after
	}
	for _, typ := range catalog.New().Types() {
		if !seen[typ] {
			t.Errorf("the history lacks %s: add it (and handle or ignore it)", typ)
		}
	}
	cp, err := p.Checkpoint(context.Background())
	if err != nil || cp.Seq != h.seq {
		t.Fatalf("checkpoint %+v, %v; want seq %d", cp, err, h.seq)
	}
}

func testIdempotent(t *testing.T, open opener) {
	p := tables.New(open(t))
	h := fullHistory()
	apply(t, p, h.events)
	want := checksum(t, p)
	ctx := context.Background()
	cp, _ := p.Checkpoint(ctx)
	// The whole history again, then each event alone, then in two halves reversed.
	if err := p.Apply(ctx, cp.Epoch, h.events, h.seq); err != nil {
		t.Fatal(err)
	}
	for _, env := range h.events {
		if err := p.Apply(ctx, cp.Epoch, []domain.Envelope{env}, env.Seq); err != nil {
			t.Fatal(err)
		}
	}
	half := len(h.events) / 2
	for _, part := range [][]domain.Envelope{h.events[half:], h.events[:half]} {
		if err := p.Apply(ctx, cp.Epoch, part, part[len(part)-1].Seq); err != nil {
			t.Fatal(err)
		}
	}
	if got := checksum(t, p); !maps.Equal(got, want) {
		t.Fatalf("applying again changed the tables:\n got %v\nwant %v", got, want)
	}
	if after, _ := p.Checkpoint(ctx); after != cp {
		t.Fatalf("checkpoint moved from %+v to %+v (it never goes back)", cp, after)
	}
}

func testStaleEpoch(t *testing.T, open opener) {
	p := tables.New(open(t))
	h := fullHistory()
	apply(t, p, h.events[:10])
	want, ctx := checksum(t, p), context.Background()
	cp, _ := p.Checkpoint(ctx)
	err := p.Apply(ctx, cp.Epoch+1, h.events[10:], h.seq)
	if !errors.Is(err, projections.ErrEpochChanged) {
		t.Fatalf("Apply with a stale epoch: %v, want ErrEpochChanged", err)
	}
	if got, _ := p.Checkpoint(ctx); got != cp || !maps.Equal(checksum(t, p), want) {
		t.Fatalf("a stale Apply changed something: checkpoint %+v → %+v", cp, got)
	}
}

func testPoison(t *testing.T, open opener) {
	p := tables.New(open(t))
	h := fullHistory()
	apply(t, p, h.events[:5])
	want, ctx := checksum(t, p), context.Background()
	cp, _ := p.Checkpoint(ctx)
	good := h.events[5:12]
	bad := domain.Envelope{ID: "bad", Type: "app.created", Seq: h.seq + 1, Time: base,
		Data: app.Created{AppID: "a9", OwnerID: ownerU1, App: app.Definition{Name: strings.Repeat("x", 201)}}}
	err := p.Apply(ctx, cp.Epoch, append(slices.Clone(good), bad), bad.Seq)
	var pe *projections.PoisonError
	if !errors.As(err, &pe) || pe.Seq != bad.Seq || pe.Type != "app.created" || !errors.Is(err, projections.ErrPoison) {
		t.Fatalf("Apply with a poison event: %v, want a PoisonError at %d", err, bad.Seq)
	}
	if !strings.Contains(err.Error(), "apps.name") {
		t.Errorf("the reason should name the column: %v", err)
	}
	if got, _ := p.Checkpoint(ctx); got != cp || !maps.Equal(checksum(t, p), want) {
		t.Fatalf("a poisoned Apply changed something: checkpoint %+v → %+v", cp, got)
	}
	for _, d := range []domain.Event{nil, app.Created{AppID: "a9", OwnerID: "u1", App: app.Definition{Name: "nul\x00"}}} {
		bad.Data = d
		if err := p.Apply(ctx, cp.Epoch, []domain.Envelope{bad}, bad.Seq); !errors.As(err, &pe) {
			t.Errorf("Apply(%#v): %v, want a PoisonError", d, err)
		}
	}
}

func testCheckpoints(t *testing.T, open opener) {
	p, ctx := tables.New(open(t)), context.Background()
	if cp, err := p.Checkpoint(ctx); err != nil || cp != (projections.Checkpoint{}) {
		t.Fatalf("a new projection's checkpoint: %+v, %v", cp, err)
	}
	if err := p.SetCheckpoint(ctx, "views", projections.Checkpoint{Seq: 42, Epoch: 3}); err != nil {
		t.Fatal(err)
	}
	apply(t, p, fullHistory().events[:3])
	if err := p.ResetCheckpoint(ctx, "views"); err != nil {
		t.Fatal(err)
	}
	rows, err := p.Checkpoints(ctx)
	if err != nil || len(rows) != 2 || rows[0].Name != tables.Name || rows[0].Seq != 3 ||
		rows[1].Name != "views" || rows[1].Seq != 0 || rows[1].Epoch != 4 || rows[1].UpdatedAt.IsZero() {
		t.Fatalf("checkpoints: %+v, %v", rows, err)
	}
}
