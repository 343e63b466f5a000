package projections_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
)

// benchEvents is how many events the rebuild benchmark appends (ASSAY_BENCH_EVENTS).
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("ASSAY_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// fillResults appends batches of 1,000 cases: submitted, 1,000 requests, 1,000 results,
// completed — a log made mostly of batch.case_executed, like a busy deployment's.
func fillResults(b *testing.B, s *eventstore.Store, n int) uint64 {
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	env := app.Environment{Name: "e", BaseURL: "http://127.0.0.1:1"}
	appCreated := app.Created{AppID: "app", OwnerID: "u", App: app.Definition{Name: "bench", Environments: []app.Environment{env}}, At: at}
	if _, err := s.Append(ctx, nil, envelope(appCreated, "app-created")); err != nil {
		b.Fatal(err)
	}
	written := 1
	for bi := 0; written < n; bi++ {
		id := fmt.Sprintf("b%05d", bi)
		cases := make([]testcase.Case, 1000)
		for i := range cases {
			cases[i] = testcase.Case{ID: fmt.Sprintf("c%04d", i), InterfaceID: "if", Name: "case", Class: "valid", Priority: "P2",
				Enabled: true, Source: "rules", Request: testcase.Request{Method: "GET", Path: "/pets"}}
		}
		sub := batch.Submitted{AppID: "app", BatchID: id, OwnerID: "u", Environment: env, Cases: cases, Settings: batch.Settings{Concurrency: 10, TimeoutMS: 1000}, At: at}
		appendAll(b, s, []domain.Event{sub})
		var reqs, results []domain.Event
		for i, c := range cases {
			reqs = append(reqs, batch.CaseExecutionRequested{AppID: "app", BatchID: id, CaseID: c.ID, InterfaceID: "if",
				Request: batch.HTTPRequest{Method: "GET", URL: "http://127.0.0.1:1/pets"}, TimeoutMS: 1000, At: at})
			results = append(results, batch.CaseExecuted{AppID: "app", BatchID: id, CaseID: c.ID, InterfaceID: "if", Outcome: batch.Passed,
				StatusCode: 200, DurationMS: float64(i%97) + 0.5, At: at, Request: batch.HTTPRequest{Method: "GET", URL: "http://127.0.0.1:1/pets"},
				Response:   batch.HTTPResponse{Status: 200, Body: `{"id":1}`},
				Assertions: []assert.Evaluated{{Target: "status", Op: "eq", Expected: 200.0, Actual: 200.0, Passed: true, Message: "status is 200"}}})
		}
		appendAll(b, s, reqs)
		appendAll(b, s, results)
		appendAll(b, s, []domain.Event{batch.Completed{AppID: "app", BatchID: id, Totals: batch.Totals{Total: 1000, Passed: 1000}, At: at}})
		written += 2002
	}
	last, err := s.LastSeq(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return last
}

func envelope(e domain.Event, id string) domain.Envelope {
	return domain.Envelope{ID: id, Type: e.EventType(), Subject: e.Subject(), Time: time.Now().UTC(), Data: e}
}

var benchIDs int

func appendAll(b *testing.B, s *eventstore.Store, evs []domain.Event) {
	envs := make([]domain.Envelope, len(evs))
	for i, e := range evs {
		benchIDs++
		envs[i] = envelope(e, "ev"+strconv.Itoa(benchIDs))
	}
	if _, err := s.Append(context.Background(), nil, envs...); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRebuildMariaDB: a full rebuild of the tables from a log of ASSAY_BENCH_EVENTS
// events, beside an ordered replay of the same log that does nothing (the ceiling of the
// read) in the same run.
func BenchmarkRebuildMariaDB(b *testing.B) {
	s := estest.Start(b, catalog.New())
	db, err := migrations.OpenMySQL(b.Context(), testenv.NewMySQLDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := migrations.Migrate(b.Context(), db); err != nil {
		b.Fatal(err)
	}
	last := fillResults(b, s, benchEvents())
	b.Run("replay-only", func(b *testing.B) {
		for b.Loop() {
			n := 0
			start := time.Now()
			if err := s.Replay(b.Context(), 0, last, nil, func(domain.Envelope) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
		}
	})
	b.Run("rebuild-tables", func(b *testing.B) {
		tbl := newReadSide(b, db, redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})).tables
		for b.Loop() {
			start := time.Now()
			if _, err := projections.Rebuild(b.Context(), s, tbl, projections.RebuildOptions{BatchSize: 1000}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(last)/time.Since(start).Seconds(), "events/s")
		}
	})
}

// BenchmarkLagAt5000PerSecond appends at 5,000 events/s for a few seconds while both
// projectors run on MariaDB and Redis, and reports the p50/p99 time from an append's
// acknowledgement to the read side having applied it.
func BenchmarkLagAt5000PerSecond(b *testing.B) {
	for b.Loop() {
		s := estest.Start(b, catalog.New())
		db, err := migrations.OpenMySQL(b.Context(), testenv.NewMySQLDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		opt, err := redis.ParseURL(testenv.RedisURL(b))
		if err != nil {
			b.Fatal(err)
		}
		r := newReadSide(b, db, redis.NewClient(opt))
		engines, stop := project(b, s, r, 500)
		lags := measureLag(b, s, engines, 5000, 4*time.Second)
		stop()
		slices.Sort(lags)
		b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// measureLag appends at rate events/s (in ticks of 10 ms) for d and returns each tick's lag.
func measureLag(b *testing.B, s *eventstore.Store, engines []*projections.Engine, rate int, d time.Duration) []time.Duration {
	ctx := b.Context()
	per := rate / 100
	var lags []time.Duration
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	results := make(chan time.Duration, int(d/(10*time.Millisecond))+1)
	pending := 0
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		evs := make([]domain.Event, per)
		for i := range evs {
			benchIDs++
			evs[i] = app.Archived{AppID: "a" + strconv.Itoa(benchIDs), OwnerID: "u", At: time.Now().UTC()}
		}
		envs := make([]domain.Envelope, per)
		for i, e := range evs {
			envs[i] = envelope(e, "lag"+strconv.Itoa(benchIDs)+"-"+strconv.Itoa(i))
		}
		out, err := s.Append(ctx, nil, envs...)
		if err != nil {
			b.Fatal(err)
		}
		acked, seq := time.Now(), out[len(out)-1].Seq
		pending++
		go func() {
			for _, e := range engines {
				if err := e.WaitFor(ctx, seq); err != nil {
					return
				}
			}
			results <- time.Since(acked)
		}()
	}
	for range pending {
		lags = append(lags, <-results)
	}
	return lags
}
