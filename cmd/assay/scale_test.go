package main

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
	"github.com/assay-dev/assay/projections/views"
)

// scaleRedisDB is the Redis database the process tests' views live in: `assay project`
// writes the default key prefix, so the test takes a database of its own rather than
// sharing database 0 with the other packages' tests.
const scaleRedisDB = "13"

// Two `assay project` and two `assay react` processes on one batch: every case is requested
// once and has one result, the batch is completed, analysed and reported once, and the
// MySQL tables and Redis views the two projectors wrote together are those a single
// projector rebuilds from the same log.
func TestTwoProjectorsAndTwoReactorsOnOneBatch(t *testing.T) {
	t.Parallel()
	dsn, dsnRebuild := testenv.NewMySQLDatabase(t), testenv.NewMySQLDatabase(t)
	rdb, redisURL := scaleRedis(t)
	natsURL := startNATS(t)
	store := openLog(t, natsURL, 1)
	tg := newTarget(t, 0)
	w := seed(t, store, tg.URL, 4, 50)

	env := map[string]string{"ASSAY_NATS_URL": natsURL, "ASSAY_MYSQL_DSN": dsn, "ASSAY_REDIS_URL": redisURL}
	var ps []*proc
	metrics := map[string]string{}
	for _, name := range []string{"project-1", "project-2", "react-1", "react-2", "runner-1"} {
		metrics[name] = freeAddr(t)
		ps = append(ps, startProc(t, name, withEnv(env, "ASSAY_METRICS_ADDR", metrics[name]), name[:len(name)-2]))
	}
	for _, p := range ps {
		waitServing(t, p, metrics[p.name])
	}
	start := time.Now()
	batchID := w.submit(t, 50)
	waitBatchEvent(t, store, w.appID, batchID, (batch.ReportGenerated{}).EventType(), 60*time.Second)
	checkAlive(t, ps...)
	t.Logf("%d cases: submitted to reported in %v", len(w.cases), time.Since(start))

	db, err := migrations.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	live, liveViews := tables.New(db), views.New(rdb, views.Config{})
	last := waitProjected(t, store, live, liveViews)
	checkAlive(t, ps...)

	// How the shared durable consumers split the work (not asserted: the server hands a
	// fetch whatever is pending, and one replica may well take nearly all of it).
	for _, name := range []string{"project-1", "project-2", "react-1", "react-2"} {
		metric := "assay_projection_events_applied_total"
		if name[:5] == "react" {
			metric = "assay_reactor_events_handled_total"
		}
		t.Logf("%s: %s = %.0f", name, metric, scrape(t, metrics[name], metric))
	}
	readBatch(t, store, w.appID, batchID).check(t, w.cases, (batch.Completed{}).EventType(),
		(batch.Analyzed{}).EventType(), (batch.ReportGenerated{}).EventType())
	if n := tg.requests.Load(); n != int64(len(w.cases)) {
		t.Errorf("the target saw %d requests, want %d", n, len(w.cases))
	}

	// The same log through one projector, into another database and another key prefix.
	dbR, err := migrations.Open(t.Context(), dsnRebuild)
	if err != nil {
		t.Fatal(err)
	}
	defer dbR.Close()
	if err := migrations.Migrate(t.Context(), dbR); err != nil {
		t.Fatal(err)
	}
	one, oneViews := tables.New(dbR), views.New(rdb, views.Config{KeyPrefix: newID("rebuild")})
	// A reactor may still append after the quiet spell (the notifier, under -race): then
	// both sides are compared again at the new end of the log.
	for attempt := 1; ; attempt++ {
		if rebuiltThrough(t, store, last, one, oneViews) {
			break
		}
		if attempt == 3 {
			t.Fatal("the log kept growing after the batch was reported")
		}
		last = waitProjected(t, store, live, liveViews)
	}
	want, err := one.Checksum(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := live.Checksum(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, sum := range want {
		if got[name] != sum {
			t.Errorf("table %s: two projectors wrote %s, one projector %s", name, got[name], sum)
		}
	}
	wantV, err := oneViews.Checksum(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if gotV, err := liveViews.Checksum(t.Context()); err != nil || gotV != wantV {
		t.Errorf("views: two projectors wrote %s, one projector %s (%v)", gotV, wantV, err)
	}
}

// rebuiltThrough rebuilds each projection from the log and says whether every rebuild
// ended at last (false: the log had grown since).
func rebuiltThrough(t *testing.T, store *eventstore.Store, last uint64, ps ...projections.Rebuildable) bool {
	t.Helper()
	for _, p := range ps {
		through, err := projections.Rebuild(t.Context(), store, p, projections.RebuildOptions{})
		if err != nil {
			t.Fatalf("rebuild %s: %v", p.Name(), err)
		}
		if through != last {
			return false
		}
	}
	return true
}

// scaleRedis is a client of the test Redis in scaleRedisDB and the URL of that database;
// the views' keys there are deleted before and after the test.
func scaleRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	u, err := url.Parse(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + scaleRedisDB
	opt, err := redis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	clear := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		it := rdb.Scan(ctx, 0, "{*}:views:*", 1000).Iterator()
		for it.Next(ctx) {
			rdb.Del(ctx, it.Val())
		}
	}
	clear()
	t.Cleanup(func() { clear(); rdb.Close() })
	return rdb, u.String()
}

// waitProjected waits until the log is quiet and both projections have applied all of it;
// it returns the log's last sequence.
func waitProjected(t *testing.T, store *eventstore.Store, ps ...projections.Projection) uint64 {
	t.Helper()
	var last uint64
	waitFor(t, 30*time.Second, "the projections to catch up", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		seq, err := store.LastSeq(ctx)
		if err != nil {
			return false
		}
		for _, p := range ps {
			if cp, err := p.Checkpoint(ctx); err != nil || cp.Seq != seq {
				return false
			}
		}
		time.Sleep(500 * time.Millisecond) // quiet: nothing appended meanwhile
		again, err := store.LastSeq(ctx)
		last = again
		return err == nil && again == seq
	})
	return last
}
