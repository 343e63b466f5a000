package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/eventstore"
)

const (
	benchCases       = 10_000
	benchConcurrency = 64
)

// benchSchema documents the target's /json answer: the default checks validate every
// body against it (response_schema_conformance).
var benchSchema = json.RawMessage(`{"type":"object","required":["id","n","ok"],"properties":{"id":{"type":"string"},` +
	`"n":{"type":"integer","minimum":0},"ok":{"type":"boolean"},"obj":{"type":"object"},"list":{"type":"array","items":{"type":"integer"}}}}`)

// BenchmarkRunnerDrain: one runner drains 10,000 pre-appended execution requests from
// the JetStream source against a local target — HTTP, a status and a body assertion,
// the four default checks (the schema check included), durable result appends, acks.
// The ceiling sub-benchmark is the same 10,000 GETs with a plain http.Client at the
// same concurrency, in the same run. Both report cases/s and the CPU the process used
// (cpu-cores: user+system seconds per wall second; this machine has 2) and cases per
// CPU second, the figure that holds when other processes share the machine.
// ASSAY_BENCH_CPUPROFILE=file profiles the drain phase only.
func BenchmarkRunnerDrain(b *testing.B) {
	// A runner as `assay runner` builds it: defaults but for the concurrency.
	cfg, scfg := Config{Concurrency: benchConcurrency}, JetStreamConfig{Prefetch: benchConcurrency}
	b.Run("runner", func(b *testing.B) { benchRunner(b, false, cfg, scfg) })
	b.Run("runner_fsync", func(b *testing.B) { benchRunner(b, true, cfg, scfg) })
	b.Run("ceiling_raw_http", benchRawHTTP)
}

func benchRunner(b *testing.B, fsync bool, cfg Config, scfg JetStreamConfig) {
	store := benchStore(b, benchServer(b, fsync))
	tg := newTarget(b)
	ex := NewExecutor(ExecutorConfig{})
	b.Cleanup(ex.Close)
	var elapsed, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batchID := fmt.Sprintf("bench-%d", i)
		appendBenchRequests(b, store, tg, "app-b", batchID, benchCases)
		ta := &timedAppender{a: store}
		cfg.Name, cfg.Logger = "bench", quiet()
		r, err := New(ta, ex, cfg)
		if err != nil {
			b.Fatal(err)
		}
		scfg.Name, scfg.Filter = batchID, domain.BatchSubject("app-b", batchID)+".exec.*"
		src, err := NewJetStreamSource(store, scfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		stopProfile := startProfile(b)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		go func() { done <- r.Run(ctx, src) }()
		for r.Stats().Recorded < benchCases {
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		b.StopTimer()
		stopProfile()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.Logf("%d appends, %d results each on average, %v each", ta.n, ta.sizes/ta.n, ta.d/time.Duration(ta.n))
		if st := r.Stats(); st.Executed != benchCases || st.Duplicates != 0 {
			b.Fatalf("stats %+v", st)
		}
		if got := total(resultCounts(b, store, "app-b", batchID)); got != benchCases {
			b.Fatalf("%d results, want %d", got, benchCases)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(benchCases*b.N)/elapsed.Seconds(), "cases/s")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cpu-cores")
	b.ReportMetric(float64(benchCases*b.N)/cpu.Seconds(), "cases/cpu-s")
}

// benchServer starts a JetStream server on a loopback port (a runner reaches its log
// over TCP), fsyncing before each acknowledgement when fsync is set (the durable
// setting; NATS's default flushes lazily).
func benchServer(tb testing.TB, fsync bool) *server.Server {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: tb.TempDir(), Host: "127.0.0.1", Port: server.RANDOM_PORT,
		NoSigs: true, NoLog: true, MaxPayload: 8 << 20, SyncAlways: fsync})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	tb.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("server not ready")
	}
	return srv
}

// benchStore opens a client of srv's log.
func benchStore(tb testing.TB, srv *server.Server) *eventstore.Store {
	tb.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	store, err := eventstore.Open(context.Background(), nc, catalog.New(), eventstore.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return store
}

// appendBenchRequests appends n execution requests of one batch: status and body
// assertions, every default check, the /json answer documented with a schema.
func appendBenchRequests(tb testing.TB, store *eventstore.Store, tg *target, app, batchID string, n int) {
	tb.Helper()
	envs := make([]domain.Envelope, 0, eventstore.MaxBatch)
	for i := range n {
		req := tg.request("/json")
		req.AppID, req.BatchID, req.CaseID = app, batchID, fmt.Sprintf("c%05d", i)
		req.Assertions = []assert.Assertion{
			{Target: "status", Op: "eq", Value: 200},
			{Target: "body.ok", Op: "eq", Value: true},
		}
		req.Checks = assert.Checks
		req.Interface = batch.InterfaceRef{ID: "if-1", Name: "json", Method: "GET", Path: "/json", Version: 1,
			Responses: map[string]iface.Response{"200": {ContentType: "application/json", Schema: benchSchema}}}
		req.At = time.Now().UTC()
		envs = append(envs, domain.Envelope{ID: uuid.NewString(), Data: req, Meta: domain.Metadata{CorrelationID: "corr-" + batchID}})
		if len(envs) == cap(envs) || i == n-1 {
			if _, err := store.Append(context.Background(), nil, envs...); err != nil {
				tb.Fatalf("append requests: %v", err)
			}
			envs = envs[:0]
		}
	}
}

// benchRawHTTP is the ceiling: 10,000 plain http.Client GETs against the same kind of
// target with the same concurrency, body read and discarded.
func benchRawHTTP(b *testing.B) {
	tg := newTarget(b)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = benchConcurrency
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	url := tg.srv.URL + "/json"
	start, cpu0 := time.Now(), cpuTime()
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
	wall := time.Since(start)
	b.ReportMetric(float64(benchCases*b.N)/wall.Seconds(), "cases/s")
	cpu := cpuTime() - cpu0
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-cores")
	b.ReportMetric(float64(benchCases*b.N)/cpu.Seconds(), "cases/cpu-s")
}

// cpuTime is the user and system CPU time of the whole process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startProfile writes a CPU profile to $ASSAY_BENCH_CPUPROFILE until stopped.
func startProfile(b *testing.B) (stop func()) {
	path := os.Getenv("ASSAY_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
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
