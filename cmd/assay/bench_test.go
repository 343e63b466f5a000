package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	e2eCases       = 10_000
	e2eConcurrency = 64
	e2eInterfaces  = 100
)

// BenchmarkE2EBatch: the whole dev stack in this process (`assay dev`: embedded NATS
// fsyncing before each acknowledgement, SQLite and in-process Redis read side, API,
// dispatcher, one runner, completer) runs a 10,000-case batch against a local target:
// from POST /apps/{id}/batches until GET /batches/{id} shows it completed with every
// result counted — the read side has applied the completion. Each case asserts the
// status and a body field, and the four default checks run (the schema check
// included). In the same run, the ceiling: wrk -t2 -c64 -d5s on the same target
// (a Go loop of plain GETs when wrk is not installed).
// ASSAY_BENCH_CPUPROFILE=file profiles the batch phase only.
func BenchmarkE2EBatch(b *testing.B) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"abc","n":5,"ok":true,"list":[1,2]}`)
	}))
	b.Cleanup(target.Close)
	b.Run("batch", func(b *testing.B) { benchBatch(b, target.URL) })
	b.Run("ceiling_wrk", func(b *testing.B) { ceiling(b, target.URL+"/items/1") })
}

func benchBatch(b *testing.B, targetURL string) {
	api, metrics := loopbackAddr(b), loopbackAddr(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data-dir", b.TempDir(), "--nats-listen=", "--log-file=", "--log-level", "error",
			"--http-addr", api, "--metrics-addr", metrics, "--rate-limit", "1000000"}, io.Discard, io.Discard)
	}()
	b.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			b.Errorf("assay dev exited %d", code)
		}
	})
	c := &benchClient{tb: b, base: "http://" + api + "/api/v1", http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	c.waitUp()
	appID, ifcIDs := c.fixture(targetURL, e2eInterfaces)
	t0 := time.Now()
	c.createCases(ifcIDs, e2eCases/e2eInterfaces)
	b.Logf("%d cases created in %v", e2eCases, time.Since(t0))
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		stopProfile := profileTo(b, os.Getenv("ASSAY_BENCH_CPUPROFILE"))
		b.StartTimer()
		start := time.Now()
		var bat struct {
			ID  string
			Seq uint64
		}
		c.call("POST", "/apps/"+appID+"/batches", map[string]any{"concurrency": e2eConcurrency}, &bat)
		got := c.waitCompleted(bat.ID, bat.Seq)
		elapsed += time.Since(start)
		b.StopTimer()
		stopProfile()
		if got.Total != e2eCases || got.Passed != e2eCases {
			b.Fatalf("batch %+v, want %d passed", got, e2eCases)
		}
	}
	b.ReportMetric(float64(e2eCases*b.N)/elapsed.Seconds(), "cases/s")
}

// profileTo writes a CPU profile to path (none when empty) until stopped.
func profileTo(b *testing.B, path string) (stop func()) {
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

// ceiling is the target's raw req/s: wrk when installed, else a Go load loop.
func ceiling(b *testing.B, url string) {
	for i := 0; i < b.N; i++ {
		if path, err := exec.LookPath("wrk"); err == nil {
			out, err := exec.Command(path, "-t2", "-c64", "-d5s", url).CombinedOutput()
			if err != nil {
				b.Fatalf("wrk: %v: %s", err, out)
			}
			m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
			if m == nil {
				b.Fatalf("wrk said: %s", out)
			}
			rps, _ := strconv.ParseFloat(string(m[1]), 64)
			b.ReportMetric(rps, "req/s")
			continue
		}
		b.ReportMetric(goLoad(b, url, 5*time.Second), "req/s")
	}
}

// goLoad sends GETs from 64 goroutines for d and answers the rate.
func goLoad(b *testing.B, url string, d time.Duration) float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: e2eConcurrency}}
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range e2eConcurrency {
		wg.Go(func() {
			for time.Now().Before(stop) {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// loopbackAddr is a free loopback address.
func loopbackAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type benchClient struct {
	tb    testing.TB
	base  string
	token string
	http  *http.Client
}

func (c *benchClient) waitUp() {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := c.http.Get(c.base + "/openapi.json"); err == nil {
			resp.Body.Close()
			return
		}
	}
	c.tb.Fatal("the API did not come up")
}

func (c *benchClient) call(method, path string, body, into any) {
	if err := c.try(method, path, body, into); err != nil {
		c.tb.Fatal(err)
	}
}

func (c *benchClient) try(method, path string, body, into any) error {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	if into != nil {
		return json.Unmarshal(out, into)
	}
	return nil
}

// fixture signs up and creates an app on the target and n interfaces whose 200 answer
// is documented with a schema.
func (c *benchClient) fixture(targetURL string, n int) (appID string, ifcIDs []string) {
	c.call("POST", "/auth/register", map[string]any{"email": "bench@example.com", "password": "password1", "name": "Bench"}, nil)
	var login struct{ Token string }
	c.call("POST", "/auth/login", map[string]any{"email": "bench@example.com", "password": "password1"}, &login)
	c.token = login.Token
	var app, ifc struct{ ID string }
	ifcIDs = make([]string, 0, n)
	c.call("POST", "/apps", map[string]any{"name": "bench", "environments": []any{map[string]any{"name": "local", "base_url": targetURL}}}, &app)
	schema := map[string]any{"type": "object", "required": []string{"id", "n", "ok"}, "properties": map[string]any{
		"id": map[string]any{"type": "string"}, "n": map[string]any{"type": "integer", "minimum": 0},
		"ok": map[string]any{"type": "boolean"}, "list": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}}}
	for i := range n {
		c.call("POST", "/apps/"+app.ID+"/interfaces", map[string]any{"name": fmt.Sprint("get item ", i), "method": "GET", "path": "/items/{id}",
			"path_params": map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "integer"}}, "required": []string{"id"}},
			"responses":   map[string]any{"200": map[string]any{"content_type": "application/json", "schema": schema}}}, &ifc)
		ifcIDs = append(ifcIDs, ifc.ID)
	}
	return app.ID, ifcIDs
}

// createCases creates perIfc cases on each interface. An interface's cases are part of
// its aggregate (each new case loads them all), so they are spread over many interfaces,
// and each goroutine adds to its own interfaces only (no conflicts between them).
func (c *benchClient) createCases(ifcIDs []string, perIfc int) {
	var wg sync.WaitGroup
	const clients = 16
	for g := range clients {
		wg.Go(func() {
			for k := g; k < len(ifcIDs); k += clients {
				for i := range perIfc {
					id := k*perIfc + i
					err := c.try("POST", "/interfaces/"+ifcIDs[k]+"/cases", map[string]any{"name": fmt.Sprint("item ", id), "class": "valid",
						"request": map[string]any{"method": "GET", "path": "/items/{id}", "path_params": map[string]any{"id": id}},
						"assertions": []any{
							map[string]any{"target": "status", "op": "eq", "value": 200},
							map[string]any{"target": "body.ok", "op": "eq", "value": true},
						}}, nil)
					if err != nil {
						c.tb.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if c.tb.Failed() {
		c.tb.FailNow()
	}
}

type batchState struct {
	Status                         string
	Total, Passed, Failed, Errored int
}

// waitCompleted polls the batch until the read side shows it completed (or later:
// analyzed, reported) with every result counted.
func (c *benchClient) waitCompleted(id string, seq uint64) batchState {
	var got batchState
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got = batchState{}
		if err := c.try("GET", fmt.Sprintf("/batches/%s?min_seq=%d", id, seq), nil, &got); err != nil {
			continue // the read side may not know the batch yet
		}
		if got.Status != "running" && got.Total == got.Passed+got.Failed+got.Errored {
			return got
		}
	}
	c.tb.Fatalf("batch %s not completed: %+v", id, got)
	return got
}
