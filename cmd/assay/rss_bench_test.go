package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/eventstore"
)

const (
	rssCases       = 5_000
	rssConcurrency = 1_000
	rssHold        = 100 * time.Millisecond
)

// BenchmarkRunnerRSS: `assay runner` as its own process (built here), at concurrency
// 1,000, against a target that holds every request 100ms, drains 5,000 requests
// appended once it is up (status and body assertions, the default checks with a schema) from a
// JetStream server on a loopback port. It reports the process's peak resident memory
// (VmHWM from /proc/<pid>/status; idle-rss-MB is VmRSS once connected, before any
// work), the most requests the target saw at once, and the cases/s (the ceiling at
// this hold: 1,000 / 0.1s = 10,000/s). Child processes inherit the environment, so
// GOGC or GOMEMLIMIT set for the benchmark apply to the runner.
func BenchmarkRunnerRSS(b *testing.B) {
	bin := os.Getenv("ASSAY_BENCH_RUNNER_BIN") // a binary built beforehand, to compare builds in one session
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "assay")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			b.Fatalf("go build: %v: %s", err, out)
		}
	}
	var inFlight, maxInFlight, hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		time.Sleep(rssHold)
		inFlight.Add(-1)
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"abc","n":5,"ok":true,"list":[1,2]}`))
	}))
	b.Cleanup(target.Close)
	srv, store := rssLog(b)
	for i := 0; i < b.N; i++ {
		batchID := fmt.Sprintf("rss-%d", i)
		cmd := exec.Command(bin, "runner")
		cmd.Env = append(os.Environ(), "ASSAY_NATS_URL="+srv.ClientURL(), "ASSAY_RUNNER_CONCURRENCY="+strconv.Itoa(rssConcurrency),
			"ASSAY_METRICS_ADDR="+loopbackAddr(b), "ASSAY_LOG_FILE=", "ASSAY_LOG_LEVEL=error", "ASSAY_DATA_DIR="+b.TempDir())
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second) // connected and waiting for work
		idle := procStatus(b, cmd.Process.Pid, "VmRSS")
		maxInFlight.Store(0)
		b.StartTimer()
		start := time.Now()
		rssRequests(b, store, target.URL, batchID)
		var peak int64
		for deadline := time.Now().Add(2 * time.Minute); rssResults(b, store, batchID) < rssCases; time.Sleep(20 * time.Millisecond) {
			peak = max(peak, procStatus(b, cmd.Process.Pid, "VmRSS"))
			if time.Now().After(deadline) {
				b.Fatalf("%d results after 2 minutes", rssResults(b, store, batchID))
			}
		}
		took := time.Since(start)
		b.StopTimer()
		hwm := procStatus(b, cmd.Process.Pid, "VmHWM")
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		b.ReportMetric(float64(idle)/1024, "idle-rss-MB")
		b.ReportMetric(float64(max(hwm, peak))/1024, "peak-rss-MB")
		b.ReportMetric(float64(maxInFlight.Load()), "max-in-flight")
		b.ReportMetric(rssCases/took.Seconds(), "cases/s")
	}
}

// rssLog starts a JetStream server on a loopback port and opens the log on it as
// `assay runner` will.
func rssLog(b *testing.B) (*server.Server, *eventstore.Store) {
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: b.TempDir(), Host: "127.0.0.1", Port: server.RANDOM_PORT,
		NoSigs: true, NoLog: true, MaxPayload: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	srv.Start()
	b.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		b.Fatal("server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	store, err := eventstore.Open(context.Background(), nc, catalog.New(), eventstore.Config{Replicas: 1})
	if err != nil {
		b.Fatal(err)
	}
	return srv, store
}

// rssRequests appends the batch's execution requests.
func rssRequests(b *testing.B, store *eventstore.Store, targetURL, batchID string) {
	u, _ := url.Parse(targetURL)
	schema := json.RawMessage(`{"type":"object","required":["id","n","ok"],"properties":{"id":{"type":"string"},"n":{"type":"integer"},"ok":{"type":"boolean"},"list":{"type":"array","items":{"type":"integer"}}}}`)
	envs := make([]domain.Envelope, 0, eventstore.MaxBatch)
	for i := range rssCases {
		req := batch.CaseExecutionRequested{
			AppID: "app-rss", BatchID: batchID, CaseID: fmt.Sprintf("c%05d", i), InterfaceID: "if-1",
			Request:    batch.HTTPRequest{Method: "GET", URL: targetURL + "/items/" + strconv.Itoa(i)},
			Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200}, {Target: "body.ok", Op: "eq", Value: true}},
			Checks:     assert.Checks,
			Interface: batch.InterfaceRef{ID: "if-1", Name: "item", Method: "GET", Path: "/items/{id}", Version: 1,
				Responses: map[string]iface.Response{"200": {ContentType: "application/json", Schema: schema}}},
			AllowHosts: []string{u.Host}, TimeoutMS: 10_000, At: time.Now().UTC(),
		}
		envs = append(envs, domain.Envelope{ID: uuid.NewString(), Data: req, Meta: domain.Metadata{CorrelationID: batchID}})
		if len(envs) == cap(envs) || i == rssCases-1 {
			if _, err := store.Append(context.Background(), nil, envs...); err != nil {
				b.Fatal(err)
			}
			envs = envs[:0]
		}
	}
}

// rssResults is how many results the batch has.
func rssResults(b *testing.B, store *eventstore.Store, batchID string) int {
	ctx := context.Background()
	stream, err := store.JetStream().Stream(ctx, store.StreamName())
	if err != nil {
		b.Fatal(err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(domain.BatchSubject("app-rss", batchID)+".result.*"))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

// procStatus reads a kB field (VmRSS, VmHWM) of a process's /proc status.
func procStatus(b *testing.B, pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
