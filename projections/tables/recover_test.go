package tables_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/uptrace/bun/dialect"

	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
)

// A MySQL promotion stopped half-way: the live checkpoint's epoch is -(next epoch). Before
// the RENAME, Recover undoes it; after, it finishes it. Live Applies wait meanwhile.
func testRecover(t *testing.T, open opener) {
	db := open(t)
	if db.Dialect().Name() != dialect.MySQL {
		t.Skip("SQLite promotes in one transaction")
	}
	live, ctx := tables.New(db), context.Background()
	h := fullHistory()
	apply(t, live, h.events[:20])
	cp, _ := live.Checkpoint(ctx)
	stopped := projections.Checkpoint{Seq: cp.Seq, Epoch: -(cp.Epoch + 1)}

	// Stopped before the RENAME.
	shadow := newShadow(t, live)
	apply(t, shadow, h.events)
	if err := live.SetCheckpoint(ctx, tables.Name, stopped); err != nil {
		t.Fatal(err)
	}
	if err := live.Apply(ctx, cp.Epoch, h.events[20:], h.seq); !errors.Is(err, projections.ErrEpochChanged) {
		t.Fatalf("Apply in the old epoch during a promotion: %v", err)
	}
	if err := live.Apply(ctx, stopped.Epoch, h.events[20:], h.seq); !errors.Is(err, tables.ErrPromoting) {
		t.Fatalf("Apply in the promotion's epoch must wait (a transient error): %v", err)
	}
	if err := live.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := live.Checkpoint(ctx); got != cp {
		t.Fatalf("after undoing: %+v, want %+v", got, cp)
	}

	// Stopped after the RENAME.
	want := checksum(t, shadow)
	if err := live.SetCheckpoint(ctx, tables.Name, stopped); err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for _, tb := range migrations.Projected() {
		pairs = append(pairs, tb.Name+" TO "+tb.Name+"_old", tb.Name+"_rebuild TO "+tb.Name)
	}
	if _, err := db.ExecContext(ctx, "RENAME TABLE "+strings.Join(pairs, ", ")); err != nil {
		t.Fatal(err)
	}
	if err := live.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := live.Checkpoint(ctx); got.Seq != h.seq || got.Epoch != cp.Epoch+1 {
		t.Fatalf("after finishing: %+v", got)
	}
	if got := checksum(t, live); !maps.Equal(got, want) {
		t.Fatalf("after finishing: %v, want the shadow's %v", got, want)
	}
	n, err := db.NewSelect().TableExpr("information_schema.TABLES").Where("TABLE_SCHEMA = DATABASE()").
		Where("TABLE_NAME LIKE ?", "%\\_old").Count(ctx)
	if err != nil || n != 0 {
		t.Fatalf("old tables left: %d, %v", n, err)
	}
}
