package views

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
)

// Run on the real Redis:
//
//	ASSAY_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test ./projections/views/ -run '^$' -bench . -benchtime 3s
//
// BenchmarkApply applies batch.case_executed events 1,000 per Apply (one MULTI/EXEC each,
// a script per event: counters, health window, slowest); BenchmarkCeilingHSET is the same
// server's ceiling, 1,000 plain HSETs per pipeline. Compare the two figures of one run.
const benchEvents = 1000

func BenchmarkApply(b *testing.B) {
	f := newFixture(b, openRedis(b), true)
	v := f.views(Config{})
	var h history
	// One running batch; its cases are spread over 20 interfaces, so health windows fill
	// and trim (window 100) as in a long-lived system.
	f.apply(v, 0, h.add(submit("a1", "b1", map[string]string{"c0": "i0"})))
	n := 0
	next := func() []domain.Envelope {
		h.evs = h.evs[:0]
		for range benchEvents {
			outcome := []string{batch.Passed, batch.Passed, batch.Failed, batch.Errored}[n%4]
			h.add(result("a1", "b1", fmt.Sprintf("c%d", n), fmt.Sprintf("i%d", n%20), outcome, float64(n%997)))
			n++
		}
		return h.evs
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		evs := next()
		b.StartTimer()
		if err := v.Apply(ctx, 0, evs, evs[len(evs)-1].Seq); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
	if p, _, err := v.Reader().BatchProgress(ctx, "b1"); err != nil || p.Done != n {
		b.Fatalf("done = %d, want %d (%v)", p.Done, n, err)
	}
}

func BenchmarkCeilingHSET(b *testing.B) {
	f := newFixture(b, openRedis(b), true)
	ctx := context.Background()
	key := "{" + f.prefix + "}:ceiling:"
	n := 0
	for b.Loop() {
		_, err := f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for range benchEvents {
				p.HSet(ctx, key+fmt.Sprint(n), "outcome", "passed", "duration_ms", n%997)
				n++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "keys/s")
}
