package runner

import (
	"context"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

// slowAppender takes longer than AckWait to append.
type slowAppender struct {
	log   Appender
	delay time.Duration
}

func (s slowAppender) Append(ctx context.Context, expect eventstore.Expect, envs ...domain.Envelope) ([]domain.Envelope, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.log.Append(ctx, expect, envs...)
}

// Jobs whose results wait for their append longer than AckWait are kept in progress: the
// other runner on the same durable, pulling meanwhile, is not handed their requests.
func TestJetStreamSourceKeepsHeldJobsInProgress(t *testing.T) {
	t.Parallel()
	const n = 20
	store := estest.Start(t, catalog.New())
	tg := newTarget(t)
	appendRequests(t, store, tg, "app-1", "b-1", n)
	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	srcCfg := JetStreamConfig{Name: "runners", Prefetch: n, MaxWait: 100 * time.Millisecond, AckWait: time.Second, Logger: quiet()}
	first, err := New(slowAppender{log: store, delay: 2 * time.Second}, ex, Config{Name: "r1", Concurrency: n, AppendMax: n, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(store, ex, Config{Name: "r2", Concurrency: n, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	start := func(r *Runner) {
		src, err := NewJetStreamSource(store, srcCfg)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer func() { done <- struct{}{} }()
			if err := r.Run(ctx, src); err != nil {
				t.Errorf("run: %v", err)
			}
		}()
	}
	started := 1
	defer func() {
		cancel()
		for range started {
			<-done
		}
	}()
	start(first)
	for deadline := time.Now().Add(30 * time.Second); first.Stats().Executed < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first runner executed %d of %d", first.Stats().Executed, n)
		}
	}
	started++
	start(second) // every job is held by the first, its results waiting for their append
	recorded := func() int64 { return first.Stats().Recorded + second.Stats().Recorded }
	for deadline := time.Now().Add(30 * time.Second); recorded() < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("recorded %d of %d", recorded(), n)
		}
	}
	time.Sleep(1200 * time.Millisecond) // longer than AckWait: a lapsed request would be sent again
	if hits := tg.hits.Load(); hits != n {
		t.Errorf("the target saw %d requests for %d cases (r1 %+v, r2 %+v)", hits, n, first.Stats(), second.Stats())
	}
	if counts := resultCounts(t, store, "app-1", "b-1"); len(counts) != n || total(counts) != n {
		t.Errorf("%d result subjects holding %d results, want %d each once", len(counts), total(counts), n)
	}
}
