package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-dev/assay/cmd/assay/demo"
)

// syncBuffer is a bytes.Buffer safe for the logger, the demo flow and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runDemoOnce starts `assay dev --demo` in dir, waits for the demo's summary and stops it.
func runDemoOnce(t *testing.T, dir string) (output, api string) {
	t.Helper()
	api, metrics, target := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out syncBuffer
	go func() {
		done <- run(ctx, []string{"dev", "--demo", "--data-dir", dir, "--nats-listen=", "--log-file=", "--log-level", "error",
			"--http-addr", api, "--metrics-addr", metrics, "--demo-addr", target}, &out, io.Discard)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(out.String(), "assay demo: done") && time.Now().Before(deadline) {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("assay dev --demo exited %d before the demo finished:\n%s", code, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("assay dev --demo exited %d", code)
	}
	output = out.String()
	if !strings.Contains(output, "assay demo: done") {
		t.Fatalf("the demo did not finish:\n%s", output)
	}
	return output, api
}

func TestDemoFindsEveryPlantedBugAndReusesItsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, _ := runDemoOnce(t, dir)
	for _, bug := range demo.Bugs {
		if !strings.Contains(first, "[caught] "+bug.ID) {
			t.Errorf("planted bug %s not caught:\n%s", bug.ID, first)
		}
	}
	if !strings.Contains(first, "imported the demo target's OpenAPI document") || !strings.Contains(first, "assay demo: report: "+filepath.Join(dir, "reports")) {
		t.Errorf("first start:\n%s", first)
	}
	if t.Failed() {
		return
	}

	// A second start in the same dir reuses the user and the app and runs a new batch.
	second, _ := runDemoOnce(t, dir)
	if !strings.Contains(second, "reusing the") || strings.Contains(second, "imported the demo target") {
		t.Errorf("second start did not reuse the demo's data:\n%s", second)
	}
	// Count through the API, on a third start without the demo.
	b, err := os.ReadFile(filepath.Join(dir, demoStateFile))
	if err != nil {
		t.Fatal(err)
	}
	var st demoState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	api, metrics := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data-dir", dir, "--nats-listen=", "--log-file=", "--log-level", "error",
			"--http-addr", api, "--metrics-addr", metrics}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("assay dev exited %d", code)
		}
	}()
	c := &client{t: t, base: "http://" + api + "/api/v1"}
	c.waitUp()
	var login struct{ Token string }
	c.call("POST", "/auth/login", map[string]any{"email": st.Email, "password": st.Password}, &login)
	c.token = login.Token
	var apps, batches struct{ Items []struct{ ID string } }
	c.call("GET", "/apps", nil, &apps)
	if len(apps.Items) != 1 || apps.Items[0].ID != st.AppID {
		t.Fatalf("apps = %+v, want only %s", apps.Items, st.AppID)
	}
	c.call("GET", "/apps/"+st.AppID+"/batches", nil, &batches)
	if len(batches.Items) != 2 {
		t.Fatalf("batches = %+v, want two: one per start", batches.Items)
	}
}
