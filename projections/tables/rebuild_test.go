package tables_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
)

func testCounters(t *testing.T, open opener) {
	db := open(t)
	p, r, ctx := tables.New(db, tables.WithInsertChunk(2, 0)), tables.NewReader(db), context.Background()
	h := fullHistory()
	sub := seqOf(t, h, "batch.submitted", 0)
	first := seqOf(t, h, "batch.case_executed", 0)
	apply(t, p, h.events[:sub])
	check := func(passed, failed, errored int) {
		t.Helper()
		b, err := r.GetBatch(ctx, ownerU1, batchB1)
		if err != nil || b.Status != "running" || b.Total != 3 || b.Passed != passed || b.Failed != failed || b.Errored != errored {
			t.Fatalf("GetBatch = %+v, %v; want running 3 total, %d/%d/%d", b, err, passed, failed, errored)
		}
	}
	check(0, 0, 0)
	apply(t, p, h.events[sub:first]) // the execution requests
	apply(t, p, h.events[first-1:first])
	check(1, 0, 0)
	cp, _ := p.Checkpoint(ctx)
	// A replay: the first result again, with the next two (chunks of 2: one chunk has a duplicate).
	if err := p.Apply(ctx, cp.Epoch, h.events[first-1:first+2], first+2); err != nil {
		t.Fatal(err)
	}
	check(1, 1, 1)
	if err := p.Apply(ctx, cp.Epoch, h.events[first-1:first+2], first+2); err != nil {
		t.Fatal(err)
	}
	check(1, 1, 1)
	apply(t, p, h.events[first+2:])
	if b, err := r.GetBatch(ctx, ownerU1, batchB1); err != nil || b.Status != "reported" || b.Passed != 1 {
		t.Fatalf("GetBatch after completion = %+v, %v", b, err)
	}
	whole := tables.New(open(t))
	apply(t, whole, h.events)
	if a, b := checksum(t, p), checksum(t, whole); !maps.Equal(a, b) {
		t.Fatalf("applied in pieces with replays %v != applied at once %v", a, b)
	}
}

// readLoop queries the live tables until stop closes; it fails if it ever sees them empty.
func readLoop(r *tables.Reader, stop <-chan struct{}, reads *atomic.Int64) error {
	ctx := context.Background()
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		apps, err := r.ListApps(ctx, ownerU1, tables.Page{})
		if err != nil || len(apps.Items) != 1 {
			return fmt.Errorf("ListApps = %+v, %v", apps, err)
		}
		res, err := r.ListResults(ctx, ownerU1, batchB1, "", tables.Page{})
		if err != nil || len(res.Items) != results1 {
			return fmt.Errorf("ListResults = %d items, %v", len(res.Items), err)
		}
		if l, err := r.ListCases(ctx, ownerU1, "i1", tables.Page{}); err != nil || len(l.Items) != 3 {
			return fmt.Errorf("ListCases = %d items, %v", len(l.Items), err)
		}
		reads.Add(1)
	}
}

func testRebuild(t *testing.T, open opener) {
	db := open(t)
	// Chunks of 2 results: the prepared INSERT is used before and after the tables swap.
	live, ctx := tables.New(db, tables.WithInsertChunk(2, 0)), context.Background()
	h := fullHistory()
	for i := 0; i < len(h.events); i += 7 {
		apply(t, live, h.events[i:min(i+7, len(h.events))])
	}
	want := checksum(t, live)
	before, _ := live.Checkpoint(ctx)

	shadow := newShadow(t, live)
	apply(t, shadow, h.events)
	if got := checksum(t, shadow); !maps.Equal(got, want) {
		t.Fatalf("rebuild != live:\n%v\n%v", got, want)
	}
	stop, reads := make(chan struct{}), &atomic.Int64{}
	var wg sync.WaitGroup
	var readErr error
	wg.Add(1)
	go func() { defer wg.Done(); readErr = readLoop(tables.NewReader(db), stop, reads) }()
	time.Sleep(30 * time.Millisecond)
	if err := live.Promote(ctx, shadow); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d reads while promoting", reads.Load())
	if readErr != nil || reads.Load() == 0 {
		t.Fatalf("a reader during Promote: %v (%d reads)", readErr, reads.Load())
	}
	if got := checksum(t, live); !maps.Equal(got, want) {
		t.Fatalf("after Promote: %v, want %v", got, want)
	}
	after, _ := live.Checkpoint(ctx)
	if after.Seq != h.seq || after.Epoch != before.Epoch+1 {
		t.Fatalf("checkpoint after Promote %+v (before %+v)", after, before)
	}
	if err := live.Apply(ctx, before.Epoch, nil, h.seq); !errors.Is(err, projections.ErrEpochChanged) {
		t.Fatalf("Apply in the old epoch: %v, want ErrEpochChanged", err)
	}
	if rows, err := live.Checkpoints(ctx); err != nil || len(rows) != 1 {
		t.Fatalf("the shadow checkpoint should be gone: %+v, %v", rows, err)
	}

	// As of a sequence: the live projection continues from there in the new epoch.
	half := len(h.events) / 2
	shadow = newShadow(t, live)
	apply(t, shadow, h.events[:half])
	if err := live.Promote(ctx, shadow); err != nil {
		t.Fatal(err)
	}
	cp, _ := live.Checkpoint(ctx)
	if cp.Seq != h.events[half-1].Seq || cp.Epoch != after.Epoch+1 {
		t.Fatalf("checkpoint after an as-of rebuild: %+v", cp)
	}
	apply(t, live, h.events[half:])
	if got := checksum(t, live); !maps.Equal(got, want) {
		t.Fatalf("as-of rebuild + the rest != live: %v, want %v", got, want)
	}
}

func newShadow(t *testing.T, live *tables.Tables) *tables.Tables {
	t.Helper()
	s, err := live.Shadow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := s.Checkpoint(context.Background())
	if lc, _ := live.Checkpoint(context.Background()); err != nil || cp.Seq != 0 || cp.Epoch != lc.Epoch+1 || s.Name() != "tables_rebuild" {
		t.Fatalf("shadow %s checkpoint %+v, %v", s.Name(), cp, err)
	}
	for table, sum := range checksum(t, s.(*tables.Tables)) {
		if !strings.HasPrefix(sum, "0:") {
			t.Fatalf("a new shadow's %s is not empty: %s", table, sum)
		}
	}
	return s.(*tables.Tables)
}

func testDiscard(t *testing.T, open opener) {
	db := open(t)
	live, ctx := tables.New(db), context.Background()
	h := fullHistory()
	apply(t, live, h.events)
	want := checksum(t, live)
	s := newShadow(t, live)
	apply(t, s, h.events[:5])
	if err := live.Discard(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checksum(ctx); err == nil {
		t.Fatal("the shadow's tables are still there")
	}
	if rows, _ := live.Checkpoints(ctx); len(rows) != 1 || !maps.Equal(checksum(t, live), want) {
		t.Fatalf("after Discard: checkpoints %+v", rows)
	}
}

func testSkip(t *testing.T, open opener) {
	db := open(t)
	live, ctx := tables.New(db), context.Background()
	h := fullHistory()
	apply(t, live, h.events[:5])
	const poison = 8
	f := projections.Failure{Projection: tables.Name, Seq: poison, EventType: h.events[poison-1].Type, Reason: "bad"}
	for range 2 {
		if err := live.RecordFailure(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := live.OpenFailure(ctx, tables.Name); err != nil || got == nil || *got != f {
		t.Fatalf("OpenFailure = %+v, %v", got, err)
	}
	if err := live.Skip(ctx, tables.Name, poison+1); !errors.Is(err, tables.ErrNoOpenFailure) {
		t.Fatalf("Skip where nothing failed: %v", err)
	}
	if err := live.Skip(ctx, tables.Name, poison); err != nil {
		t.Fatal(err)
	}
	if got, err := live.OpenFailure(ctx, tables.Name); err != nil || got != nil {
		t.Fatalf("OpenFailure after Skip = %+v, %v", got, err)
	}
	if cp, _ := live.Checkpoint(ctx); cp.Seq != poison {
		t.Fatalf("checkpoint after Skip = %+v, want %d", cp, poison)
	}
	if err := live.Skip(ctx, tables.Name, poison); !errors.Is(err, tables.ErrNoOpenFailure) || !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Skip twice: %v", err)
	}
	// The skipped event stays out: of the live tables and of a rebuild.
	apply(t, live, h.events[5:])
	without := tables.New(open(t))
	apply(t, without, append(append([]domain.Envelope{}, h.events[:poison-1]...), h.events[poison:]...))
	shadow := newShadow(t, live)
	apply(t, shadow, h.events)
	if a, b, c := checksum(t, live), checksum(t, without), checksum(t, shadow); !maps.Equal(a, b) || !maps.Equal(a, c) {
		t.Fatalf("live %v\nwithout the skipped event %v\nrebuild %v", a, b, c)
	}
}
