package views

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/projections"
)

// suite runs on every backend; each case has its own key prefix, so all run in parallel.
var suite = []struct {
	name string
	run  func(*testing.T, *fixture)
}{
	{"Lifecycle", testLifecycle},
	{"StaleEpoch", testStaleEpoch},
	{"IdempotentWithoutCheckpoint", testIdempotentWithoutCheckpoint},
	{"ChunkingDoesNotMatter", testChunking},
	{"RebuildPromote", testRebuildPromote},
	{"Discard", testDiscard},
	{"HealthWindowAndSlowest", testHealthWindowAndSlowest},
	{"Poison", testPoison},
	{"PartialExecMovesNoCheckpoint", testPartialExec},
	{"ScriptFlush", testScriptFlush},
}

func TestViews(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			rdb := b.open(t)
			for _, c := range suite {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, newFixture(t, rdb, b.shared))
				})
			}
		})
	}
}

func testLifecycle(t *testing.T, f *fixture) {
	v := f.views(Config{})
	r := v.Reader()
	var h history
	evs := lifecycle(&h, "a1", "b1")

	f.apply(v, 0, evs[:3]) // submitted, passed, failed
	p, found, err := r.BatchProgress(f.ctx, "b1")
	if err != nil || !found {
		t.Fatalf("progress: %v found=%v", err, found)
	}
	want := BatchProgress{ID: "b1", AppID: "a1", Environment: "staging", Status: "running", Total: 3, Done: 2,
		Passed: 1, Failed: 1, StartedAt: t0}
	if p != want {
		t.Fatalf("running progress:\n got %+v\nwant %+v", p, want)
	}

	f.apply(v, 0, evs[3:])
	p, _, err = r.BatchProgress(f.ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	want = BatchProgress{ID: "b1", AppID: "a1", Environment: "staging", Status: "reported", Total: 3, Done: 3,
		Passed: 1, Failed: 1, Errored: 1, StartedAt: t0, CompletedAt: t0.Add(1500 * time.Millisecond),
		DurationMS: 1500, Latency: batch.Latency{P50: 12.5, P95: 40, P99: 40}}
	if p != want {
		t.Fatalf("final progress:\n got %+v\nwant %+v", p, want)
	}
	if _, found, _ := r.BatchProgress(f.ctx, "nope"); found {
		t.Fatal("an unknown batch was found")
	}
	if id, found, err := r.LatestBatch(f.ctx, "a1"); err != nil || !found || id != "b1" {
		t.Fatalf("latest = %q %v %v", id, found, err)
	}
	wantHealth(t, f, r, "i1", Health{Count: 2, Passed: 1, PassRate: 0.5})
	wantHealth(t, f, r, "i2", Health{Count: 1}) // errored counts; it got no response, so it is not "slow"
	slow, err := r.Slowest(f.ctx, "a1", 0)
	if err != nil || len(slow) != 1 || slow[0] != (Slow{InterfaceID: "i1", DurationMS: 40}) {
		t.Fatalf("slowest = %+v, %v", slow, err)
	}
	if cp, err := v.Checkpoint(f.ctx); err != nil || cp != (projections.Checkpoint{Seq: h.seq}) {
		t.Fatalf("checkpoint = %+v, %v", cp, err)
	}

	// A second batch of the app becomes its latest; replaying everything changes nothing.
	h.add(submit("a1", "b2", map[string]string{"c1": "i1"}))
	f.apply(v, 0, h.evs[len(h.evs)-1:])
	sum := f.checksum(v)
	f.apply(v, 0, h.evs)
	if f.checksum(v) != sum {
		t.Fatal("applying the same events again changed the views")
	}
	if id, _, _ := r.LatestBatch(f.ctx, "a1"); id != "b2" {
		t.Fatalf("latest = %q, want b2", id)
	}
	if n, err := f.rdb.ZCard(f.ctx, v.keys.ns(0).latest("a1")).Result(); err != nil || n != 1 {
		t.Fatalf("the latest view holds %d batches (%v), want 1", n, err)
	}
}

func wantHealth(t *testing.T, f *fixture, r *Reader, iface string, want Health) {
	t.Helper()
	got, err := r.InterfaceHealth(f.ctx, iface)
	if err != nil || got != want {
		t.Fatalf("health of %s = %+v, %v; want %+v", iface, got, err, want)
	}
}

func testStaleEpoch(t *testing.T, f *fixture) {
	v := f.views(Config{})
	var h history
	evs := lifecycle(&h, "a1", "b1")
	f.apply(v, 0, evs[:4])
	sum, cp := f.checksum(v), mustCheckpoint(t, f, v)

	err := v.Apply(f.ctx, 1, evs[4:], h.seq)
	if !errors.Is(err, projections.ErrEpochChanged) {
		t.Fatalf("apply with a stale epoch: %v, want ErrEpochChanged", err)
	}
	if f.checksum(v) != sum || mustCheckpoint(t, f, v) != cp {
		t.Fatal("a refused apply changed the views or the checkpoint")
	}
}

func mustCheckpoint(t *testing.T, f *fixture, p projections.Projection) projections.Checkpoint {
	t.Helper()
	cp, err := p.Checkpoint(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// testIdempotentWithoutCheckpoint runs the scripts directly, bypassing the checkpoint: the
// whole history again, its prefixes and suffixes, and every event alone, leave the views as
// one pass did, for a finished batch (b1) and a running one (b2).
func testIdempotentWithoutCheckpoint(t *testing.T, f *fixture) {
	v := f.views(Config{HealthWindow: 2})
	var h history
	lifecycle(&h, "a1", "b1")
	h.add(submit("a1", "b2", map[string]string{"c1": "i1", "c2": "i1", "c3": "i2"}),
		result("a1", "b2", "c1", "i1", batch.Passed, 3), result("a1", "b2", "c3", "i2", batch.Failed, 7))
	n := v.keys.ns(0)
	var ops []op // one call per event, so every event can be replayed alone
	for _, env := range h.evs {
		o, err := compile(v.cfg, n, env)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, *o)
	}
	if err := loadScripts(f.ctx, f.rdb); err != nil {
		t.Fatal(err)
	}
	run := func(ops []op) { t.Helper(); runOps(t, f, n, ops) }
	run(ops)
	sum := f.checksum(v)
	for i := range ops {
		run(ops[:i])
		run(ops[i:])
		run(ops[i : i+1])
		if f.checksum(v) != sum {
			t.Fatalf("replaying event %d (%s) without the checkpoint guard changed the views", i, h.evs[i].Type)
		}
	}
	// The same through Apply's plan, where results in a row share a script call.
	all, err := compileAll(v.cfg, n, h.evs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.ops) >= len(ops) {
		t.Fatalf("the plan has %d calls for %d events: results were not grouped", len(all.ops), len(ops))
	}
	run(all.ops)
	run(all.ops[1:])
	if f.checksum(v) != sum {
		t.Fatal("replaying grouped results changed the views")
	}
	if p, _, _ := v.Reader().BatchProgress(f.ctx, "b1"); p.Done != 3 || p.Passed != 1 || p.Status != "reported" {
		t.Fatalf("b1 after replays: %+v", p)
	}
	if p, _, _ := v.Reader().BatchProgress(f.ctx, "b2"); p.Done != 2 || p.Passed != 1 || p.Failed != 1 || p.Status != "running" {
		t.Fatalf("b2 after replays: %+v", p)
	}
}

// runOps runs script calls in one MULTI/EXEC, with no checkpoint.
func runOps(t *testing.T, f *fixture, n ns, ops []op) {
	t.Helper()
	cmds, err := f.rdb.TxPipelined(f.ctx, func(p redis.Pipeliner) error {
		for _, o := range ops {
			o.s.queue(f.ctx, p, o.keys, o.args...)
		}
		p.Del(f.ctx, n.applying())
		return nil
	})
	if err = errors.Join(err, cmdsErr(cmds)); err != nil {
		t.Fatal(err)
	}
}
