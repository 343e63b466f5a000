package views

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
)

// backends are the servers the one suite runs on: the real Redis of the test environment
// (skipped locally without it, failing under CI) and miniredis, the embedded mode's server.
var backends = []struct {
	name   string
	open   func(testing.TB) redis.UniversalClient
	shared bool // other tests (of other packages too) use the server at the same time
}{
	{"redis", openRedis, true},
	{"miniredis", openMiniredis, false},
}

func openRedis(tb testing.TB) redis.UniversalClient {
	opt, err := redis.ParseURL(testenv.RedisURL(tb))
	if err != nil {
		tb.Fatalf("parse %s: %v", testenv.EnvRedisURL, err)
	}
	rdb := redis.NewClient(opt)
	tb.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("ping redis: %v", err)
	}
	return rdb
}

func openMiniredis(tb testing.TB) redis.UniversalClient {
	mr := miniredis.RunT(tb)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// fixture is one test's views: its own key prefix on a shared server, removed afterwards.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	rdb    redis.UniversalClient
	prefix string
	shared bool
}

func newFixture(tb testing.TB, rdb redis.UniversalClient, shared bool) *fixture {
	var b [6]byte
	_, _ = rand.Read(b[:])
	f := &fixture{t: tb, ctx: context.Background(), rdb: rdb, shared: shared, prefix: "t" + hex.EncodeToString(b[:])}
	tb.Cleanup(func() {
		ctx := context.Background()
		var batch []string
		it := rdb.Scan(ctx, 0, "{"+f.prefix+"}*", 1000).Iterator()
		for it.Next(ctx) {
			if batch = append(batch, it.Val()); len(batch) == 1000 {
				_ = rdb.Unlink(ctx, batch...).Err()
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			_ = rdb.Unlink(ctx, batch...).Err()
		}
	})
	return f
}

func (f *fixture) views(cfg Config) *Views {
	cfg.KeyPrefix = f.prefix
	return New(f.rdb, cfg)
}

func (f *fixture) apply(p interface {
	Apply(context.Context, int64, []domain.Envelope, uint64) error
}, epoch int64, evs []domain.Envelope) {
	f.t.Helper()
	if err := p.Apply(f.ctx, epoch, evs, evs[len(evs)-1].Seq); err != nil {
		f.t.Fatalf("apply %d events: %v", len(evs), err)
	}
}

func (f *fixture) checksum(v *Views) string {
	f.t.Helper()
	sum, err := v.Checksum(f.ctx)
	if err != nil {
		f.t.Fatalf("checksum: %v", err)
	}
	return sum
}

// keysOf counts the keys of a namespace.
func (f *fixture) keysOf(n ns) int {
	f.t.Helper()
	keys, err := f.rdb.Keys(f.ctx, n.pattern()).Result()
	if err != nil {
		f.t.Fatalf("keys: %v", err)
	}
	return len(keys)
}

// history builds envelopes with consecutive stream sequences.
type history struct {
	seq uint64
	evs []domain.Envelope
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func (h *history) add(events ...domain.Event) []domain.Envelope {
	start := len(h.evs)
	for _, e := range events {
		h.seq++
		h.evs = append(h.evs, domain.Envelope{ID: fmt.Sprintf("ev%d", h.seq), Type: e.EventType(), Version: 1,
			Subject: e.Subject(), Time: t0.Add(time.Duration(h.seq) * time.Millisecond), Seq: h.seq, Data: e})
	}
	return h.evs[start:]
}

func submit(appID, batchID string, cases map[string]string) batch.Submitted {
	s := batch.Submitted{AppID: appID, BatchID: batchID, OwnerID: "u1", Environment: app.Environment{Name: "staging"}, At: t0}
	for _, id := range slices.Sorted(maps.Keys(cases)) {
		s.Cases = append(s.Cases, testcase.Case{ID: id, InterfaceID: cases[id]})
	}
	return s
}

func result(appID, batchID, caseID, ifaceID, outcome string, ms float64) batch.CaseExecuted {
	return batch.CaseExecuted{AppID: appID, BatchID: batchID, CaseID: caseID, InterfaceID: ifaceID,
		Outcome: outcome, DurationMS: ms, At: t0.Add(time.Second)}
}

// lifecycle is the hand-built history: a batch of 3 cases, their results (passed, failed,
// errored), completion, analysis and report.
func lifecycle(h *history, appID, batchID string) []domain.Envelope {
	start := len(h.evs)
	h.add(submit(appID, batchID, map[string]string{"c1": "i1", "c2": "i1", "c3": "i2"}),
		result(appID, batchID, "c1", "i1", batch.Passed, 12.5),
		result(appID, batchID, "c2", "i1", batch.Failed, 40),
		result(appID, batchID, "c3", "i2", batch.Errored, 5000),
		batch.Completed{AppID: appID, BatchID: batchID, DurationMS: 1500, At: t0.Add(1500 * time.Millisecond),
			Totals:  batch.Totals{Total: 3, Passed: 1, Failed: 1, Errored: 1},
			Latency: batch.Latency{P50: 12.5, P95: 40, P99: 40}},
		batch.Analyzed{AppID: appID, BatchID: batchID, Narrator: "rules", Revision: 1, At: t0.Add(2 * time.Second)},
		batch.ReportGenerated{AppID: appID, BatchID: batchID, Formats: []string{"json"}, Revision: 1, At: t0.Add(3 * time.Second)})
	return h.evs[start:]
}
