package runner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

const (
	benchCases       = 10_000
	benchConcurrency = 64
	benchPrefetch    = 512
)

// BenchmarkRunner drains 10,000 pre-appended requests (2 assertions each) against a
// local target: HTTP, evaluation, batched durable appends and acks. Compare cases/s
// with BenchmarkRawHTTP, the same GETs with a plain client, in the same run.
// Each atomic batch costs the server a staging file store (created, written, deleted)
// on the stream's single loop, so the figure grows with the batch size: the defaults
// (AppendMax 100, prefetch = concurrency) and a tuned setting (1000, 512) both run.
func BenchmarkRunner(b *testing.B) {
	for _, c := range []struct{ appendMax, prefetch int }{{100, benchConcurrency}, {eventstore.MaxBatch, 512}} {
		b.Run(fmt.Sprintf("append_max=%d,prefetch=%d", c.appendMax, c.prefetch), func(b *testing.B) {
			benchRunner(b, c.appendMax, c.prefetch)
		})
	}
}

func benchRunner(b *testing.B, appendMax, prefetch int) {
	store := estest.Start(b, catalog.New())
	tg := newTarget(b)
	ex := NewExecutor(ExecutorConfig{})
	b.Cleanup(ex.Close)
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batchID := fmt.Sprintf("bench-%d", i)
		appendRequests(b, store, tg, "app-b", batchID, benchCases)
		ta := &timedAppender{a: store}
		r, err := New(ta, ex, Config{Name: "bench", Concurrency: benchConcurrency, AppendMax: appendMax})
		if err != nil {
			b.Fatal(err)
		}
		src, err := NewJetStreamSource(store, JetStreamConfig{
			Name: batchID, Filter: domain.BatchSubject("app-b", batchID) + ".exec.*", Prefetch: prefetch,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- r.Run(ctx, src) }()
		for r.Stats().Recorded < benchCases {
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.Logf("%d atomic appends, %d results each on average, %v each", ta.n, ta.sizes/ta.n, ta.d/time.Duration(ta.n))
		if st := r.Stats(); st.Executed != benchCases || st.Duplicates != 0 {
			b.Fatalf("stats %+v", st)
		}
		if got := total(resultCounts(b, store, "app-b", batchID)); got != benchCases {
			b.Fatalf("%d results, want %d", got, benchCases)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(benchCases*b.N)/elapsed.Seconds(), "cases/s")
}

// BenchmarkRawHTTP is the ceiling: 10,000 plain http.Client GETs against the same
// target with the same concurrency, body read and discarded.
func BenchmarkRawHTTP(b *testing.B) {
	tg := newTarget(b)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = benchConcurrency
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	url := tg.srv.URL + "/json"
	start := time.Now()
	for i := 0; i < b.N; i++ {
		jobs := make(chan struct{}, benchCases)
		for range benchCases {
			jobs <- struct{}{}
		}
		close(jobs)
		var wg sync.WaitGroup
		for range benchConcurrency {
			wg.Go(func() {
				for range jobs {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(benchCases*b.N)/time.Since(start).Seconds(), "req/s")
}

// timedAppender counts and times the appends it passes on.
type timedAppender struct {
	a     Appender
	mu    sync.Mutex
	n     int
	sizes int
	d     time.Duration
}

func (t *timedAppender) Append(ctx context.Context, e eventstore.Expect, envs ...domain.Envelope) ([]domain.Envelope, error) {
	s := time.Now()
	out, err := t.a.Append(ctx, e, envs...)
	t.mu.Lock()
	t.n++
	t.sizes += len(envs)
	t.d += time.Since(s)
	t.mu.Unlock()
	return out, err
}
