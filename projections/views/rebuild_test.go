package views

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/projections"
)

// bigHistory is many batches of the lifecycle, so a promote has keys to delete.
func bigHistory(batches int) *history {
	var h history
	for i := range batches {
		lifecycle(&h, fmt.Sprintf("a%d", i%7), fmt.Sprintf("b%d", i))
	}
	return &h
}

// replay applies a history in chunks, as the engine would.
func replay(t *testing.T, f *fixture, p projections.Projection, evs []domain.Envelope, chunk int) {
	t.Helper()
	cp := mustCheckpoint(t, f, p)
	for i := 0; i < len(evs); i += chunk {
		f.apply(p, cp.Epoch, evs[i:min(i+chunk, len(evs))])
	}
}

// testChunking: one event per Apply and all of them in one Apply (results grouped into
// shared script calls, windows trimmed within a call) build the same views.
func testChunking(t *testing.T, f *fixture) {
	h := bigHistory(40)
	one := f.views(Config{HealthWindow: 3})
	replay(t, f, one, h.evs, 1)
	f2 := newFixture(t, f.rdb, f.shared)
	all := f2.views(Config{HealthWindow: 3})
	replay(t, f2, all, h.evs, len(h.evs))
	if f.checksum(one) != f2.checksum(all) {
		t.Fatal("applying one event at a time and all at once built different views")
	}
}

func testRebuildPromote(t *testing.T, f *fixture) {
	v := f.views(Config{HealthWindow: 10})
	h := bigHistory(300)
	replay(t, f, v, h.evs, 1000)
	live := f.checksum(v)

	sh, err := v.Shadow(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp := mustCheckpoint(t, f, sh); cp != (projections.Checkpoint{}) {
		t.Fatalf("a new shadow's checkpoint is %+v", cp)
	}
	replay(t, f, sh, h.evs, 250)
	if f.checksum(v) != live {
		t.Fatal("building the shadow changed the live views")
	}

	// Readers read in a loop across the switch and the deletion of the old keys.
	err = readingWhile(t, f, v, 300, func() error { return v.Promote(f.ctx, sh) })
	if err != nil {
		t.Fatal(err)
	}
	if got := f.checksum(v); got != live {
		t.Fatalf("rebuilt views differ from the live ones: %s vs %s", got, live)
	}
	if cp := mustCheckpoint(t, f, v); cp != (projections.Checkpoint{Seq: h.seq, Epoch: 1}) {
		t.Fatalf("live checkpoint after promote = %+v", cp)
	}
	if n := f.keysOf(v.keys.ns(0)); n != 0 {
		t.Fatalf("%d keys of the old generation left", n)
	}
	// The old live writer and the promoted shadow's writer both learn of the swap.
	more := h.add(submitted1("a1", "late"))
	if err := v.Apply(f.ctx, 0, more, h.seq); !errors.Is(err, projections.ErrEpochChanged) {
		t.Fatalf("old epoch apply after promote: %v", err)
	}
	if err := sh.Apply(f.ctx, 0, more, h.seq); !errors.Is(err, projections.ErrEpochChanged) {
		t.Fatalf("promoted shadow apply: %v", err)
	}
	if err := v.Discard(f.ctx, sh); err == nil {
		t.Fatal("discarding the live generation worked")
	}
	f.apply(v, 1, more)
	if id, _, _ := v.Reader().LatestBatch(f.ctx, "a1"); id != "late" {
		t.Fatalf("latest after the new epoch's apply = %q", id)
	}
}

// readingWhile runs fn while 4 readers read batches b0…b<batches-1> in a loop, each of which
// must always be found; reads start before fn and go on after it.
func readingWhile(t *testing.T, f *fixture, v *Views, batches int, fn func() error) error {
	stop := make(chan struct{})
	var reads, misses atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := v.Reader()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("b%d", i%batches)
				if _, found, err := r.BatchProgress(f.ctx, id); err != nil || !found {
					misses.Add(1)
					t.Errorf("batch %s during promote: found=%v err=%v", id, found, err)
				}
				reads.Add(1)
			}
		})
	}
	waitReads(&reads, 50)
	err := fn()
	waitReads(&reads, reads.Load()+50)
	close(stop)
	wg.Wait()
	t.Logf("%d reads around the promote, %d misses", reads.Load(), misses.Load())
	return err
}

func waitReads(reads *atomic.Int64, n int64) {
	for reads.Load() < n {
		time.Sleep(time.Millisecond)
	}
}

func submitted1(appID, batchID string) domain.Event {
	return submit(appID, batchID, map[string]string{"c1": "i1"})
}

func testDiscard(t *testing.T, f *fixture) {
	v := f.views(Config{})
	h := bigHistory(20)
	replay(t, f, v, h.evs, 1000)
	live, cp := f.checksum(v), mustCheckpoint(t, f, v)

	p, err := v.Shadow(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sh := p.(*Shadow)
	replay(t, f, sh, h.evs[:50], 20)
	if n := f.keysOf(v.keys.ns(sh.gen)); n == 0 {
		t.Fatal("the shadow wrote no keys")
	}
	if err := v.Discard(f.ctx, sh); err != nil {
		t.Fatal(err)
	}
	if n := f.keysOf(v.keys.ns(sh.gen)); n != 0 {
		t.Fatalf("%d keys of the discarded shadow left", n)
	}
	if err := sh.Apply(f.ctx, 0, h.evs[50:60], h.evs[59].Seq); !errors.Is(err, projections.ErrEpochChanged) {
		t.Fatalf("discarded shadow apply: %v", err)
	}
	if err := v.Promote(f.ctx, sh); err == nil {
		t.Fatal("a discarded shadow was promoted")
	}
	if f.checksum(v) != live || mustCheckpoint(t, f, v) != cp {
		t.Fatal("the shadow's life changed the live views")
	}
	// A later shadow gets a new generation, never the discarded one's.
	p2, err := v.Shadow(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g := p2.(*Shadow).gen; g <= sh.gen {
		t.Fatalf("second shadow's generation %d ≤ %d", g, sh.gen)
	}
	if err := v.Discard(f.ctx, p2); err != nil {
		t.Fatal(err)
	}
}
