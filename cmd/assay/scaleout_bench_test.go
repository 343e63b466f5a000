package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
)

// Run (BENCHMARKS.md, "Scale-out"):
//
//	go test ./cmd/assay/ -run '^$' -bench 'EndToEndRunners|ClusterAppend' -benchtime 1x
//
// ASSAY_BENCH_CASES sets the batch size of BenchmarkEndToEndRunners (default 3000);
// ASSAY_BENCH_SYNC=lazy runs its server without fsync before acknowledging;
// ASSAY_BENCH_PROFILE_DIR makes every runner process write a CPU profile there
// (runners<N>-<k>.pprof) — the server side's is `go test -cpuprofile`.

// BenchmarkEndToEndRunners: one batch, submitted to completed, with 1, 2 and 3 `assay runner`
// processes on the JetStream source. The rest of the pipeline runs in this process as
// `assay react` and `assay project` would (reactors; projectors into SQLite and in-process
// Redis), on an embedded NATS server with fsync before every acknowledgement, against a
// local target that answers at once.
func BenchmarkEndToEndRunners(b *testing.B) {
	n := 3000
	if v, err := strconv.Atoi(os.Getenv("ASSAY_BENCH_CASES")); err == nil && v > 0 {
		n = v
	}
	for _, runners := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("runners=%d", runners), func(b *testing.B) {
			natsURL := startNATSSync(b, os.Getenv("ASSAY_BENCH_SYNC") != "lazy")
			store := openLog(b, natsURL, 1)
			tg := newTarget(b, 0)
			startPipeline(b, store, 0)
			profiles := os.Getenv("ASSAY_BENCH_PROFILE_DIR")
			for k := range runners {
				env := map[string]string{"ASSAY_NATS_URL": natsURL}
				if profiles != "" {
					env[envCPUProfile] = filepath.Join(profiles, fmt.Sprintf("runners%d-%d.pprof", runners, k+1))
				}
				startProc(b, fmt.Sprintf("runner-%d", k+1), env, "runner")
			}
			var cases int
			var took time.Duration
			i := 1
			for b.Loop() {
				b.StopTimer()
				w := seed(b, store, tg.URL, (n+99)/100, 100)
				b.StartTimer()
				// The batch's own subject is watched by a plain subscription: polling the
				// stream for its last event would cost the server more than it measures.
				id := newID("batch")
				sub, err := store.JetStream().Conn().SubscribeSync(domain.BatchSubject(w.appID, id))
				if err != nil {
					b.Fatal(err)
				}
				begin := time.Now()
				w.submitAs(b, id, 1000)
				awaitType(b, sub, (batch.Completed{}).EventType(), 5*time.Minute)
				one := time.Since(begin)
				took += one
				_ = sub.Unsubscribe()
				b.StopTimer()
				b.Logf("batch %d of %d cases on a stream of %d events: %.0f cases/s", i, len(w.cases), lastSeq(b, store), float64(len(w.cases))/one.Seconds())
				logTimeline(b, store, w.appID, id)
				b.StartTimer()
				i++
				cases += len(w.cases)
			}
			b.ReportMetric(float64(cases)/took.Seconds(), "cases/s")
		})
	}
}

// BenchmarkClusterAppend: the append rate of a 3-node cluster (the stream with 3 replicas)
// beside a single server's, in the same run; fsync before every acknowledgement on every
// server. Single: one event per Append; Batch1000: atomic batches of 1,000. The events are
// case results of a realistic size, each on its own subject expecting it empty.
func BenchmarkClusterAppend(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		b.Run(fmt.Sprintf("R%d", replicas), func(b *testing.B) {
			var store *eventstore.Store
			if replicas == 1 {
				store = openLog(b, startNATSSync(b, true), 1)
			} else {
				store = openLog(b, startCluster(b, 3, true).urls(), 3)
			}
			for _, size := range []int{1, eventstore.MaxBatch} {
				name := "Single"
				if size > 1 {
					name = "Batch1000"
				}
				b.Run(name, func(b *testing.B) { benchAppend(b, store, size) })
			}
		})
	}
}

func benchAppend(b *testing.B, store *eventstore.Store, size int) {
	ctx, batchID, n := context.Background(), newID("batch"), 0
	begin := time.Now()
	for b.Loop() {
		envs, expect := make([]domain.Envelope, size), eventstore.Expect{}
		for i := range envs {
			r := benchResult(batchID, n+i)
			envs[i] = domain.Envelope{ID: newID("ev"), Data: r}
			expect[r.Subject()] = 0
		}
		if _, err := store.Append(ctx, expect, envs...); err != nil {
			b.Fatal(err)
		}
		n += size
	}
	b.ReportMetric(float64(n)/time.Since(begin).Seconds(), "events/s")
}

// benchResult is a passed GET's result, about 600 bytes encoded.
func benchResult(batchID string, i int) batch.CaseExecuted {
	return batch.CaseExecuted{AppID: "app-bench", BatchID: batchID, CaseID: fmt.Sprintf("c-%07d", i), InterfaceID: "if-bench",
		Outcome: batch.Passed, StatusCode: 200, DurationMS: 3.2, Runner: "bench", At: time.Now().UTC(),
		Assertions: []assert.Evaluated{{Target: "status", Op: "eq", Expected: 200.0, Actual: 200.0, Passed: true, Message: "status"}},
		Request:    batch.HTTPRequest{Method: "GET", URL: "http://127.0.0.1:8081/pets/1"},
		Response:   batch.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"id":1,"name":"Rex"}`}}
}

// awaitType waits for a message of the event type on sub.
func awaitType(b *testing.B, sub *nats.Subscription, typ string, within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			b.Fatalf("waiting for %s: %v", typ, err)
		}
		if msg.Header.Get(eventstore.HeaderType) == typ {
			return
		}
	}
}

// logTimeline says where a batch's time went, from the log's event times: submission to the
// first request, to the last request, to the last result, to the completion.
func logTimeline(b *testing.B, store *eventstore.Store, appID, batchID string) {
	var envs []domain.Envelope
	// The subscription may see the completion before the stream has stored it.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if envs, _, err = store.Load(context.Background(), domain.BatchSubject(appID, batchID), domain.BatchTree(appID, batchID)); err != nil {
			b.Fatal(err)
		}
		if _, done := envs[len(envs)-1].Data.(batch.Completed); done {
			break
		}
	}
	var submitted, firstReq, lastReq, lastRes, completed time.Time
	for _, e := range envs {
		switch e.Data.(type) {
		case batch.Submitted:
			submitted = e.Time
		case batch.CaseExecutionRequested:
			if firstReq.IsZero() {
				firstReq = e.Time
			}
			lastReq = e.Time
		case batch.CaseExecuted:
			lastRes = e.Time
		case batch.Completed:
			completed = e.Time
		}
	}
	ms := func(t time.Time) int64 { return t.Sub(submitted).Milliseconds() }
	b.Logf("batch timeline (ms after submission): first request %d, last request %d, last result %d, completed %d",
		ms(firstReq), ms(lastReq), ms(lastRes), ms(completed))
}

func lastSeq(b *testing.B, store *eventstore.Store) uint64 {
	seq, err := store.LastSeq(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return seq
}
