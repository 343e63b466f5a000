package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
)

// A batch of 1,000 cases on a 3-node NATS cluster (the log's stream with 3 replicas) loses
// the server leading the stream halfway: appends, the runner, the reactors and the
// projections go on through the new leader and the batch finishes with one request and one
// result per case and one completion; the tables equal a rebuild. The server then comes
// back with its store and catches up to the stream's last sequence.
//
// Every consumer's AckWait is 5 s here (startShortAckPipeline): with the defaults the
// deliveries lost with the old leader come back after 30 s (the dispatcher's, stalling the
// batch's window) and a run takes 35-60 s about half the time.
func TestClusterLosesTheStreamLeaderMidBatch(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, false)
	store := openLog(t, c.urls(), 3)
	tg := newTarget(t, 2*time.Millisecond)
	w := seed(t, store, tg.URL, 10, 100)
	p := startShortAckPipeline(t, store, 5*time.Second)

	start := time.Now()
	batchID := w.submit(t, 100)
	waitFor(t, 30*time.Second, "a third of the results", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return countResults(ctx, store, w.appID, batchID) >= len(w.cases)/3
	})
	leader := streamLeader(t, store)
	down := c.index(leader)
	c.stop(down)
	t.Logf("stream leader %s shut down %v after the submission", leader, time.Since(start).Round(time.Millisecond))

	reported := (batch.ReportGenerated{}).EventType()
	if !batchReaches(store, w.appID, batchID, reported, 10*time.Second) {
		// A delivery lost with the old leader waits out its consumer's AckWait: say whose.
		logConsumers(t, store)
	}
	waitBatchEvent(t, store, w.appID, batchID, reported, 40*time.Second)
	t.Logf("%d cases: submitted to reported in %v; new leader %s", len(w.cases), time.Since(start).Round(time.Millisecond), streamLeader(t, store))
	readBatch(t, store, w.appID, batchID).check(t, w.cases, (batch.Completed{}).EventType(),
		(batch.Analyzed{}).EventType(), (batch.ReportGenerated{}).EventType())
	if n := tg.requests.Load(); n < int64(len(w.cases)) {
		t.Errorf("the target saw %d requests, want at least %d", n, len(w.cases))
	} else {
		t.Logf("the target saw %d requests for %d cases", n, len(w.cases))
	}
	last := compareWithRebuild(t, store, p.rs)
	t.Logf("projected and compared %v after the submission", time.Since(start).Round(time.Millisecond))

	c.start(down)
	waitFor(t, 20*time.Second, leader+" catching up", func() bool {
		seq, ok := c.localLastSeq(down, store.StreamName())
		return ok && seq == last
	})
	t.Logf("%s caught up %v after the submission", leader, time.Since(start).Round(time.Millisecond))
	if err := p.stop(); err != nil {
		t.Errorf("pipeline: %v", err)
	}
	t.Logf("pipeline stopped %v after the submission", time.Since(start).Round(time.Millisecond))
}

// compareWithRebuild waits for the projections to apply the whole log, rebuilds the tables
// from it into a fresh SQLite file and compares every table with the live ones; it returns
// the log's last sequence. A reactor appending after the quiet spell makes it try again.
func compareWithRebuild(t *testing.T, store *eventstore.Store, rs *readSide) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for attempt := 1; ; attempt++ {
		last := waitProjected(t, store, rs.tables, rs.views)
		db, err := migrations.Open(ctx, filepath.Join(t.TempDir(), "rebuild.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := migrations.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		one := tables.New(db)
		through, err := projections.Rebuild(ctx, store, one, projections.RebuildOptions{})
		if err != nil {
			t.Fatalf("rebuild: %v", err)
		}
		if through != last {
			if attempt == 3 {
				t.Fatalf("the log kept growing: rebuilt through %d, projected %d", through, last)
			}
			continue
		}
		want, err := one.Checksum(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rs.tables.Checksum(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for name, sum := range want {
			if got[name] != sum {
				t.Errorf("table %s: live %s, rebuilt %s", name, got[name], sum)
			}
		}
		return last
	}
}

// batchReaches says whether the batch's last event becomes of type want within d.
func batchReaches(store *eventstore.Store, appID, batchID, want string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		got := lastType(ctx, store, appID, batchID)
		cancel()
		if got == want {
			return true
		}
	}
	return false
}

// logConsumers logs every durable consumer's backlog and unacknowledged deliveries.
func logConsumers(t *testing.T, store *eventstore.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := store.JetStream().Stream(ctx, store.StreamName())
	if err != nil {
		t.Logf("consumers: %v", err)
		return
	}
	infos := stream.ListConsumers(ctx)
	for ci := range infos.Info() {
		t.Logf("consumer %s: pending %d, ack pending %d, redelivered %d, waiting pulls %d, ack wait %v",
			ci.Name, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting, ci.Config.AckWait)
	}
}
