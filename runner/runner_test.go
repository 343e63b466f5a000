package runner

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

// appendRequests appends n execution requests of one batch, each on its own exec subject.
func appendRequests(tb testing.TB, store *eventstore.Store, tg *target, app, batchID string, n int) {
	tb.Helper()
	ctx := context.Background()
	envs := make([]domain.Envelope, 0, 100)
	flush := func() {
		if len(envs) == 0 {
			return
		}
		if _, err := store.Append(ctx, nil, envs...); err != nil {
			tb.Fatalf("append requests: %v", err)
		}
		envs = envs[:0]
	}
	for i := range n {
		req := tg.request("/json")
		req.AppID, req.BatchID, req.CaseID = app, batchID, fmt.Sprintf("c%05d", i)
		req.Assertions = []assert.Assertion{
			{Target: "status", Op: "eq", Value: 200},
			{Target: "body.ok", Op: "eq", Value: true},
		}
		req.At = time.Now().UTC()
		envs = append(envs, domain.Envelope{ID: uuid.NewString(), Data: req,
			Meta: domain.Metadata{CorrelationID: "corr-" + batchID}})
		if len(envs) == 100 {
			flush()
		}
	}
	flush()
}

// resultCounts is the number of messages on each result subject of a batch.
func resultCounts(tb testing.TB, store *eventstore.Store, app, batchID string) map[string]uint64 {
	tb.Helper()
	ctx := context.Background()
	stream, err := store.JetStream().Stream(ctx, store.StreamName())
	if err != nil {
		tb.Fatal(err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(domain.BatchSubject(app, batchID)+".result.*"))
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Subjects
}

func total(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

// runUntil runs r on a fresh JetStream source until done says so, then stops it.
func runUntil(t *testing.T, r *Runner, src Source, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, src) }()
	deadline := time.Now().Add(60 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("timed out; stats %+v", r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunnerEndToEndAndRedelivery(t *testing.T) {
	const n = 1000
	store := estest.Start(t, catalog.New())
	tg := newTarget(t)
	appendRequests(t, store, tg, "app-1", "b-1", n)

	// A poison message on an exec subject: it can never run, it is terminated and counted.
	_, err := store.JetStream().PublishMsg(context.Background(), &nats.Msg{
		Subject: domain.ExecSubject("app-1", "b-1", "poison"),
		Header:  nats.Header{eventstore.HeaderType: []string{"batch.case_execution_requested"}, eventstore.HeaderID: []string{"p-1"}},
		Data:    []byte("{not json"),
	})
	if err != nil {
		t.Fatal(err)
	}

	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	reg := prometheus.NewRegistry()
	r1, err := New(store, ex, Config{Name: "r1", Concurrency: 32, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	src1, err := NewJetStreamSource(store, JetStreamConfig{Prefetch: 32, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, r1, src1, func() bool { return r1.Stats().Recorded >= n && src1.Undecodable() == 1 })

	counts := resultCounts(t, store, "app-1", "b-1")
	if len(counts) != n || total(counts) != n {
		t.Fatalf("%d result subjects holding %d results, want %d each once", len(counts), total(counts), n)
	}
	if st := r1.Stats(); st.Executed != n || st.Recorded != n || st.Duplicates != 0 {
		t.Errorf("first runner stats %+v", st)
	}
	if got := testutil.ToFloat64(r1.m.cases.WithLabelValues(batch.Passed)); got != n {
		t.Errorf("cases passed metric %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(r1.m.inFlight); got != 0 {
		t.Errorf("in flight after the run: %v", got)
	}
	cons, err := store.Durable(context.Background(), eventstore.ConsumerConfig{Name: "runner", Filters: []string{ExecFilter}, AckWait: 2 * time.Minute, MaxAckPending: 4*32 + 2*eventstore.MaxBatch})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer: %d pending ack, %d pending; want every job settled", info.NumAckPending, info.NumPending)
	}

	// Check one result in full, as a reader of the log would see it.
	envs, _, err := store.Load(context.Background(), domain.ResultSubject("app-1", "b-1", "c00007"))
	if err != nil || len(envs) != 1 {
		t.Fatalf("load result: %v (%d events)", err, len(envs))
	}
	res := envs[0].Data.(batch.CaseExecuted)
	if res.Outcome != batch.Passed || res.Runner != "r1" || res.StatusCode != 200 || len(res.Assertions) != 2 {
		t.Errorf("result %+v", res)
	}
	if envs[0].Meta.CorrelationID != "corr-b-1" || envs[0].Meta.CausationID == "" {
		t.Errorf("result metadata %+v", envs[0].Meta)
	}

	// Redelivery: a second durable sees every request again; every result is already
	// there, so each is dropped as a duplicate and still acknowledged.
	r2, err := New(store, ex, Config{Name: "r2", Concurrency: 64})
	if err != nil {
		t.Fatal(err)
	}
	src2, err := NewJetStreamSource(store, JetStreamConfig{Name: "runner-again", Prefetch: 64})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, r2, src2, func() bool { return r2.Stats().Duplicates >= n })
	counts = resultCounts(t, store, "app-1", "b-1")
	if len(counts) != n || total(counts) != n {
		t.Fatalf("after redelivery: %d result subjects holding %d results, want %d", len(counts), total(counts), n)
	}
	if st := r2.Stats(); st.Recorded != 0 || st.Duplicates != n || st.Retried != 0 {
		t.Errorf("second runner stats %+v", st)
	}
	if got := testutil.ToFloat64(r2.m.duplicates); got != n {
		t.Errorf("duplicates metric %v", got)
	}
}

// A batch holding one already-recorded case is refused as a whole; the others must still
// be recorded, one by one, and the duplicate dropped.
func TestRunnerMixedBatchFallsBack(t *testing.T) {
	store := estest.Start(t, catalog.New())
	tg := newTarget(t)
	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	r, err := New(store, ex, Config{Name: "r", AppendWindow: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var acked, naked atomic.Int64
	var jobs []Job
	for i := range 10 {
		req := tg.request("/json")
		req.CaseID = fmt.Sprintf("c%d", i)
		jobs = append(jobs, Job{Request: req, EventID: uuid.NewString(),
			Ack: func(context.Context) error { acked.Add(1); return nil },
			Nak: func(time.Duration) error { naked.Add(1); return nil }})
	}
	// c3 already has a result, and c5 comes twice in the same run.
	pre := ex.Execute(context.Background(), jobs[3].Request)
	if _, err := store.Append(context.Background(), eventstore.Expect{pre.Subject(): 0}, domain.Envelope{ID: uuid.NewString(), Data: pre}); err != nil {
		t.Fatal(err)
	}
	jobs = append(jobs, jobs[5])
	src := sliceSource(jobs)
	if err := r.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	counts := resultCounts(t, store, "app-1", "b-1")
	if len(counts) != 10 || total(counts) != 10 {
		t.Fatalf("results %v", counts)
	}
	if st := r.Stats(); st.Recorded != 9 || st.Duplicates != 2 || acked.Load() != 11 || naked.Load() != 0 {
		t.Errorf("stats %+v acked %d naked %d", st, acked.Load(), naked.Load())
	}
}

// sliceSource hands over a fixed list of jobs, one after another, then ends.
type sliceSource []Job

func (s sliceSource) Run(ctx context.Context, h Handler) error {
	for _, j := range s {
		if err := h(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

func TestRunnerErroredCaseIsRecorded(t *testing.T) {
	store := estest.Start(t, catalog.New())
	tg := newTarget(t)
	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	r, err := New(store, ex, Config{})
	if err != nil {
		t.Fatal(err)
	}
	req := tg.request("/json")
	req.AllowHosts = []string{"elsewhere.example"}
	if err := r.Run(context.Background(), sliceSource{{Request: req, EventID: "e-1"}}); err != nil {
		t.Fatal(err)
	}
	envs, _, err := store.Load(context.Background(), req.Subject()[:strings.LastIndex(req.Subject(), ".exec.")]+".result.c-1")
	if err != nil || len(envs) != 1 {
		t.Fatalf("load: %v %d", err, len(envs))
	}
	if res := envs[0].Data.(batch.CaseExecuted); res.Outcome != batch.Errored || !strings.Contains(res.Error, "not allowed") {
		t.Errorf("result %+v", res)
	}
}

// A case that runs long keeps its delivery alive, so it is not delivered and sent again.
func TestRunnerHeartbeat(t *testing.T) {
	store := estest.Start(t, catalog.New())
	tg := newTarget(t)
	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	r, err := New(store, ex, Config{Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var beats, acks atomic.Int64
	req := tg.request("/slow")
	req.TimeoutMS = 400
	job := Job{Request: req, EventID: "e-1",
		InProgress: func() error { beats.Add(1); return nil },
		Ack:        func(context.Context) error { acks.Add(1); return nil }}
	if err := r.Run(context.Background(), sliceSource{job}); err != nil {
		t.Fatal(err)
	}
	if beats.Load() < 3 || acks.Load() != 1 {
		t.Errorf("%d heartbeats and %d acks, want several and 1", beats.Load(), acks.Load())
	}
}
