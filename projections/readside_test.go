package projections_test

import (
	"context"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/projtest"
	"github.com/assay-dev/assay/projections/tables"
	"github.com/assay-dev/assay/projections/views"
)

// readSide is one backend pair: tables in a database, views in a Redis.
type readSide struct {
	db     *bun.DB
	tables *tables.Tables
	views  *views.Views
}

type backend struct {
	name string
	open func(t *testing.T) readSide
}

// backends: the same suite runs on MariaDB + Redis (the deployment) and on SQLite +
// miniredis (the embedded mode).
func backends() []backend {
	return []backend{
		{"mariadb+redis", func(t *testing.T) readSide {
			db, err := migrations.OpenMySQL(t.Context(), testenv.NewMySQLDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			opt, err := redis.ParseURL(testenv.RedisURL(t))
			if err != nil {
				t.Fatal(err)
			}
			return newReadSide(t, db, redis.NewClient(opt))
		}},
		{"sqlite+miniredis", func(t *testing.T) readSide {
			db, err := migrations.OpenSQLite(t.Context(), t.TempDir()+"/assay.db")
			if err != nil {
				t.Fatal(err)
			}
			mr := miniredis.RunT(t)
			return newReadSide(t, db, redis.NewClient(&redis.Options{Addr: mr.Addr()}))
		}},
	}
}

func newReadSide(t testing.TB, db *bun.DB, rdb *redis.Client) readSide {
	t.Helper()
	t.Cleanup(func() { db.Close(); rdb.Close() })
	if err := migrations.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("t%d", time.Now().UnixNano()) // tests share one Redis
	return readSide{db: db, tables: tables.New(db), views: views.New(rdb, views.Config{KeyPrefix: prefix})}
}

func (r readSide) checksums(t *testing.T) map[string]string {
	t.Helper()
	sums, err := r.tables.Checksum(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := maps.Clone(sums)
	if out["views"], err = r.views.Checksum(t.Context()); err != nil {
		t.Fatal(err)
	}
	return out
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetLevel(logrus.PanicLevel)
	return l
}

// project runs both engines until stop is called.
func project(t testing.TB, s *eventstore.Store, r readSide, batch int) (engines []*projections.Engine, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, p := range []projections.Projection{r.tables, r.views} {
		e, err := projections.NewEngine(s, p, r.tables, projections.EngineConfig{BatchSize: batch, MaxWait: 20 * time.Millisecond, HaltPoll: 10 * time.Millisecond}, nil, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
		go func() { defer func() { done <- struct{}{} }(); _ = e.Run(ctx) }()
	}
	var once atomic.Bool
	stop = func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			<-done
			<-done
		}
	}
	t.Cleanup(stop)
	return engines, stop
}

func waitAll(t testing.TB, engines []*projections.Engine, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, e := range engines {
		if err := e.WaitFor(ctx, seq); err != nil {
			t.Fatalf("%s did not reach %d: %v (%+v)", e.Status().Name, seq, err, e.Status())
		}
	}
}

func history(t *testing.T, s *eventstore.Store, n int, seed uint64) uint64 {
	t.Helper()
	if err := projtest.New(s, seed).Generate(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	last, err := s.LastSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return last
}

func rebuild(t *testing.T, s *eventstore.Store, r readSide) {
	t.Helper()
	for _, p := range []projections.Rebuildable{r.tables, r.views} {
		if _, err := projections.Rebuild(t.Context(), s, p, projections.RebuildOptions{BatchSize: 333}); err != nil {
			t.Fatal(err)
		}
	}
}

func assertEqual(t *testing.T, what string, a, b map[string]string) {
	t.Helper()
	if !maps.Equal(a, b) {
		for k := range a {
			if a[k] != b[k] {
				t.Errorf("%s: %s differs", what, k)
			}
		}
		t.Fatalf("%s: read sides differ", what)
	}
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// A randomized history of 5,000 events: the live projection and a full rebuild are equal
// row for row, in every table and every view.
func TestLiveProjectionEqualsRebuild(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s := estest.Start(t, catalog.New())
		r := b.open(t)
		engines, stop := project(t, s, r, 200)
		last := history(t, s, 5000, 7)
		waitAll(t, engines, last)
		stop()
		live := r.checksums(t)
		rebuild(t, s, r)
		assertEqual(t, "live vs rebuild", live, r.checksums(t))
	})
}

// Stopping the projectors in the middle of the history and starting them again gives the
// same read side as one uninterrupted run, with no duplicate rows.
func TestRestartInTheMiddleIsIdentical(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s := estest.Start(t, catalog.New())
		r := b.open(t)
		engines, stop := project(t, s, r, 50)
		last := history(t, s, 1500, 11)
		waitAll(t, engines[:1], last/2)
		stop()
		engines, stop = project(t, s, r, 50)
		waitAll(t, engines, last)
		stop()
		interrupted := r.checksums(t)
		rebuild(t, s, r)
		assertEqual(t, "restarted vs rebuild", interrupted, r.checksums(t))
	})
}

// The same events applied again change nothing.
func TestSameEventsTwiceChangeNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s := estest.Start(t, catalog.New())
		r := b.open(t)
		last := history(t, s, 800, 3)
		evs, _, err := s.Load(t.Context(), "events.>")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []projections.Projection{r.tables, r.views} {
			if err := p.Apply(t.Context(), 0, evs, last); err != nil {
				t.Fatal(err)
			}
		}
		once := r.checksums(t)
		for _, p := range []projections.Projection{r.tables, r.views} {
			if err := p.Apply(t.Context(), 0, evs, last); err != nil {
				t.Fatal(err)
			}
		}
		assertEqual(t, "applied twice", once, r.checksums(t))
	})
}

// A poison event halts the projection there: the status says so, nothing after it is
// applied; after an operator skips it, the projection goes on.
func TestPoisonHaltsUntilSkipped(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s := estest.Start(t, catalog.New())
		r := b.open(t)
		before := history(t, s, 200, 5)
		h := nats.Header{}
		h.Set(eventstore.HeaderType, "batch.exploded")
		h.Set(eventstore.HeaderSchemaVersion, "1")
		h.Set(eventstore.HeaderID, "poison")
		ack, err := s.JetStream().PublishMsg(t.Context(), &nats.Msg{Subject: "events.app.x.batch.y", Header: h, Data: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		last := history(t, s, 200, 6)
		engines, _ := project(t, s, r, 64)
		for _, e := range engines {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			if err := e.WaitFor(ctx, last); err == nil {
				t.Fatalf("%s went past the poison event", e.Status().Name)
			}
			cancel()
			st := e.Status()
			if st.State != projections.StateHalted || st.Halt == nil || st.Halt.Seq != ack.Sequence || st.Seq != before {
				t.Fatalf("%s: status %+v, want halted at %d with checkpoint %d", st.Name, st, ack.Sequence, before)
			}
			f, err := r.tables.OpenFailure(t.Context(), st.Name)
			if err != nil || f == nil || f.Seq != ack.Sequence {
				t.Fatalf("%s: recorded failure %+v (%v)", st.Name, f, err)
			}
			if err := r.tables.Skip(t.Context(), st.Name, ack.Sequence); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for _, e := range engines {
			for e.Status().State == projections.StateHalted && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond) // the engine polls for the skip
			}
		}
		waitAll(t, engines, last)
	})
}

// A rebuild while a reader queries in a loop: the reader never sees an empty or partial table.
func TestRebuildWhileReading(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s := estest.Start(t, catalog.New())
		r := b.open(t)
		last := history(t, s, 1500, 9)
		engines, stop := project(t, s, r, 200)
		waitAll(t, engines, last)
		stop()
		want, err := countRows(t.Context(), r.db, "api_result")
		if err != nil || want == 0 {
			t.Fatal("history made no results")
		}
		var bad, reads atomic.Int64
		var firstErr atomic.Value
		stopReading, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stopReading:
					return
				default:
				}
				n, err := countRows(t.Context(), r.db, "api_result")
				reads.Add(1)
				if err != nil || n != want {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("count %d (want %d), err %v", n, want, err))
				}
			}
		}()
		rebuild(t, s, r)
		close(stopReading)
		<-done
		if bad.Load() > 0 {
			t.Fatalf("%d of %d reads saw a missing or partial api_result; first: %v", bad.Load(), reads.Load(), firstErr.Load())
		}
		t.Logf("%d reads during the rebuild, all whole", reads.Load())
	})
}

func countRows(ctx context.Context, db *bun.DB, table string) (int, error) {
	var n int
	err := db.NewSelect().TableExpr(table).ColumnExpr("COUNT(*)").Scan(ctx, &n)
	return n, err
}

// How the log is cut into transactions must not change the read side: the same history
// applied one event at a time, in odd-sized chunks and all at once gives equal checksums.
func TestBatchBoundariesDoNotMatter(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s := estest.Start(t, catalog.New())
		history(t, s, 1200, 13)
		evs, last, err := s.Load(t.Context(), "events.>")
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]string
		for _, size := range []int{len(evs), 1, 13, 100} {
			r := b.open(t)
			for i := 0; i < len(evs); i += size {
				chunk := evs[i:min(i+size, len(evs))]
				through := chunk[len(chunk)-1].Seq
				if i+size >= len(evs) {
					through = last
				}
				for _, p := range []projections.Projection{r.tables, r.views} {
					if err := p.Apply(t.Context(), 0, chunk, through); err != nil {
						t.Fatalf("size %d: %v", size, err)
					}
				}
			}
			got := r.checksums(t)
			if want == nil {
				want = got
				continue
			}
			assertEqual(t, fmt.Sprintf("chunks of %d vs all at once", size), want, got)
		}
	})
}
