package views

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/projections"
)

func testHealthWindowAndSlowest(t *testing.T, f *fixture) {
	v := f.views(Config{HealthWindow: 5, SlowestPerApp: 3})
	r := v.Reader()
	var h history
	windowHistory(&h)
	f.apply(v, 0, h.evs)

	wantHealth(t, f, r, "hot", Health{Count: 5, Passed: 3, PassRate: 0.6})
	wantHealth(t, f, r, "cold", Health{})
	slow, err := r.Slowest(f.ctx, "a1", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Slow{{"i1", 2000}, {"hot", 1200}, {"i2", 700}}
	if fmt.Sprint(slow) != fmt.Sprint(want) {
		t.Fatalf("slowest = %v, want %v", slow, want)
	}
	if two, _ := r.Slowest(f.ctx, "a1", 2); len(two) != 2 || two[0].InterfaceID != "i1" {
		t.Fatalf("slowest 2 = %v", two)
	}

	// Slow results slide out of the window: hot's slowest becomes its slowest recent one.
	for i := range 5 {
		id := fmt.Sprintf("z%d", i)
		h.add(submit("a1", "bz"+id, map[string]string{id: "hot"}), result("a1", "bz"+id, id, "hot", batch.Passed, 10))
	}
	f.apply(v, 0, h.evs[len(h.evs)-10:])
	wantHealth(t, f, r, "hot", Health{Count: 5, Passed: 5, PassRate: 1})
	slow, _ = r.Slowest(f.ctx, "a1", 0)
	if want := []Slow{{"i1", 2000}, {"i2", 700}, {"i3", 300}}; fmt.Sprint(slow) != fmt.Sprint(want) {
		t.Fatalf("slowest after the window slid = %v, want %v", slow, want)
	}

	// A deleted interface leaves health and the slowest view.
	f.apply(v, 0, h.add(iface.Deleted{AppID: "a1", InterfaceID: "i1"}))
	wantHealth(t, f, r, "i1", Health{})
	if slow, _ = r.Slowest(f.ctx, "a1", 1); len(slow) != 1 || slow[0].InterfaceID != "i2" {
		t.Fatalf("slowest after deleting i1 = %v", slow)
	}
}

func testPoison(t *testing.T, f *fixture) {
	v := f.views(Config{})
	var h history
	evs := lifecycle(&h, "a1", "b1")
	f.apply(v, 0, evs[:2])
	sum, cp := f.checksum(v), mustCheckpoint(t, f, v)

	for name, bad := range map[string]domain.Event{
		"outcome":  result("a1", "b1", "c2", "i1", "exploded", 1),
		"duration": result("a1", "b1", "c2", "i1", batch.Passed, math.NaN()),
		"id":       result("a1", "b1", "c.2", "i1", batch.Passed, 1),
	} {
		var h2 history
		h2.seq = h.seq - 1
		good := h2.add(evs[2].Data, bad)
		err := v.Apply(f.ctx, 0, good, good[1].Seq)
		var pe *projections.PoisonError
		if !errors.As(err, &pe) || pe.Seq != good[1].Seq || !errors.Is(err, projections.ErrPoison) {
			t.Fatalf("%s: %v, want a poison error at %d", name, err, good[1].Seq)
		}
		if f.checksum(v) != sum || mustCheckpoint(t, f, v) != cp {
			t.Fatalf("%s: a poisoned apply changed something", name)
		}
	}
	// Data of the wrong type under a known name is poison too.
	wrong := domain.Envelope{Type: "batch.case_executed", Seq: h.seq + 1, Data: batch.Completed{}}
	var pe *projections.PoisonError
	if err := v.Apply(f.ctx, 0, []domain.Envelope{wrong}, wrong.Seq); !errors.As(err, &pe) {
		t.Fatalf("wrong data type: %v", err)
	}
	// At or below the checkpoint it is skipped (a skipped poison event stays skipped).
	f.apply(v, 0, h.evs[2:])
	if err := v.Apply(f.ctx, 0, []domain.Envelope{{Type: "batch.case_executed", Seq: 2}}, 2); err != nil {
		t.Fatalf("an event below the checkpoint was looked at: %v", err)
	}
}

// testPartialExec: a command failing inside EXEC (here WRONGTYPE on a damaged key) does not
// roll the others back, so the checkpoint must not move; once the key is repaired, the retry
// applies everything.
func testPartialExec(t *testing.T, f *fixture) {
	v := f.views(Config{})
	var h history
	evs := lifecycle(&h, "a1", "b1")
	f.apply(v, 0, evs[:1])
	cp := mustCheckpoint(t, f, v)
	bad := v.keys.ns(0).health("i2")
	if err := f.rdb.Set(f.ctx, bad, "not a zset", 0).Err(); err != nil {
		t.Fatal(err)
	}
	err := v.Apply(f.ctx, 0, evs[1:], h.seq)
	if err == nil || errors.As(err, new(*projections.PoisonError)) {
		t.Fatalf("apply over a damaged key: %v, want a transient error", err)
	}
	if got := mustCheckpoint(t, f, v); got != cp {
		t.Fatalf("checkpoint moved to %+v after a failed command", got)
	}
	if err := f.rdb.Del(f.ctx, bad).Err(); err != nil {
		t.Fatal(err)
	}
	f.apply(v, 0, evs[1:])
	p, _, _ := v.Reader().BatchProgress(f.ctx, "b1")
	if p.Status != "reported" || p.Passed != 1 || p.Failed != 1 || p.Errored != 1 || p.Done != 3 {
		t.Fatalf("progress after the retry: %+v", p)
	}
	wantHealth(t, f, v.Reader(), "i2", Health{Count: 1})
}

// testScriptFlush: a server that lost its scripts answers NOSCRIPT inside EXEC; nothing
// moves, the scripts are loaded again and the apply goes through.
func testScriptFlush(t *testing.T, f *fixture) {
	if f.shared {
		t.Skip("SCRIPT FLUSH would disturb the other tests sharing this server; runs on miniredis")
	}
	f = newFixture(t, openMiniredis(t), false) // a server of its own: the flush must not reach the other tests
	v := f.views(Config{})
	var h history
	evs := lifecycle(&h, "a1", "b1")
	f.apply(v, 0, evs[:2])
	if err := f.rdb.ScriptFlush(f.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	f.apply(v, 0, evs[2:])
	if p, _, _ := v.Reader().BatchProgress(f.ctx, "b1"); p.Status != "reported" || p.Done != 3 {
		t.Fatalf("progress after a script flush: %+v", p)
	}
}

// windowHistory: results for "hot" that overflow a window of 5, four interfaces with one
// result each, and a canceled result of "cold".
func windowHistory(h *history) {
	cases := map[string]string{}
	for i := range 12 {
		cases[fmt.Sprintf("k%02d", i)] = "hot"
	}
	h.add(submit("a1", "b1", cases))
	// hot: 12 results k00…k11 taking 100·(i+1) ms, but k00 5000 ms. k00…k06 failed, then
	// k07 passed, k08 failed, k09 passed, k10 errored (no response: no duration), k11 passed.
	// Only k07…k11 stay in the window: 3 of 5 passed, and the slowest is k11's 1200 ms.
	for i := range 12 {
		outcome, ms := batch.Failed, float64(100*(i+1))
		switch i {
		case 0:
			ms = 5000
		case 7, 9, 11:
			outcome = batch.Passed
		case 10:
			outcome = batch.Errored
		}
		h.add(result("a1", "b1", fmt.Sprintf("k%02d", i), "hot", outcome, ms))
	}
	// Four more interfaces with one result each; Slowest lists 3 unless told.
	for i, ms := range []float64{50, 2000, 700, 300} {
		id := fmt.Sprintf("i%d", i)
		h.add(submit("a1", "x"+id, map[string]string{"c": id}), result("a1", "x"+id, "c", id, batch.Passed, ms))
	}
	h.add(result("a1", "b1", "never", "cold", batch.Canceled, 0)) // canceled: not part of health
}
