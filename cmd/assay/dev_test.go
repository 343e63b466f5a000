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
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The whole pipeline in one process: a batch submitted over the API is dispatched, run
// against a real HTTP target, recorded, completed and projected.
func TestDevRunsABatchEndToEnd(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/pets/1" {
			_, _ = w.Write([]byte(`{"id":1,"name":"Rex"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no pet"}`))
	}))
	defer target.Close()
	api, metrics := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- run(ctx, []string{"dev", "--data-dir", t.TempDir(), "--nats-listen=", "--log-file=", "--log-level", "error",
			"--http-addr", api, "--metrics-addr", metrics}, &out, io.Discard)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("assay dev exited %d", code)
		}
	}()
	c := &client{t: t, base: "http://" + api + "/api/v1"}
	c.waitUp()
	c.call("POST", "/auth/register", map[string]any{"email": "dev@example.com", "password": "password1", "name": "Dev"}, nil)
	var login struct{ Token string }
	c.call("POST", "/auth/login", map[string]any{"email": "dev@example.com", "password": "password1"}, &login)
	c.token = login.Token
	var app, ifc, bat struct {
		ID  string
		Seq uint64
	}
	c.call("POST", "/apps", map[string]any{"name": "pets", "environments": []any{map[string]any{"name": "local", "base_url": target.URL}}}, &app)
	c.call("POST", "/apps/"+app.ID+"/interfaces", map[string]any{"name": "get pet", "method": "GET", "path": "/pets/{id}",
		"path_params": map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "integer"}}, "required": []string{"id"}},
		"responses":   map[string]any{"200": map[string]any{"content_type": "application/json"}, "404": map[string]any{}}}, &ifc)
	for _, k := range []struct {
		id     int
		status int
	}{{1, 200}, {2, 404}, {3, 200}} { // the third fails: pet 3 does not exist
		c.call("POST", "/interfaces/"+ifc.ID+"/cases", map[string]any{"name": fmt.Sprint("pet ", k.id), "class": "valid",
			"request":    map[string]any{"method": "GET", "path": "/pets/{id}", "path_params": map[string]any{"id": k.id}},
			"assertions": []any{map[string]any{"target": "status", "op": "eq", "value": k.status}}}, nil)
	}
	// Rule-based generation for a second interface with a body schema.
	var ifc2, gen struct {
		ID  string
		Seq uint64
	}
	c.call("POST", "/apps/"+app.ID+"/interfaces", map[string]any{"name": "add pet", "method": "POST", "path": "/pets", "content_type": "application/json",
		"body": map[string]any{"type": "object", "required": []string{"name"}, "properties": map[string]any{
			"name": map[string]any{"type": "string", "minLength": 1, "maxLength": 20}, "age": map[string]any{"type": "integer", "minimum": 0}}},
		"responses": map[string]any{"201": map[string]any{}, "422": map[string]any{}}}, &ifc2)
	c.call("POST", "/interfaces/"+ifc2.ID+"/generations", map[string]any{"generator": "rules"}, &gen)
	var g struct {
		Status  string
		CaseIDs []string `json:"case_ids"`
	}
	for deadline := time.Now().Add(30 * time.Second); g.Status != "done" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c.call("GET", fmt.Sprintf("/generations/%s?min_seq=%d", gen.ID, gen.Seq), nil, &g)
	}
	if g.Status != "done" || len(g.CaseIDs) < 5 {
		t.Fatalf("generation = %+v, want done with cases of several classes", g)
	}
	c.call("POST", "/apps/"+app.ID+"/batches", map[string]any{"interface_ids": []string{ifc.ID}}, &bat)
	var got struct {
		Status                string
		Total, Passed, Failed int
		Errored               int
		Latency               map[string]float64 `json:"latency_ms"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for got.Status != "reported" && time.Now().Before(deadline) { // completed → analyzed → reported
		c.call("GET", fmt.Sprintf("/batches/%s?min_seq=%d", bat.ID, bat.Seq), nil, &got)
		time.Sleep(50 * time.Millisecond) // polling the API as a client would
	}
	if got.Status != "reported" || got.Total != 3 || got.Passed != 2 || got.Failed != 1 {
		t.Fatalf("batch = %+v, want reported with 2 passed and 1 failed", got)
	}
	var analysis struct {
		Narrator string
		Analysis struct {
			Totals struct{ Passed, Failed int }
		}
	}
	c.call("GET", "/batches/"+bat.ID+"/analysis", nil, &analysis)
	if analysis.Narrator != "rules" || analysis.Analysis.Totals.Passed != 2 || analysis.Analysis.Totals.Failed != 1 {
		t.Fatalf("analysis = %+v", analysis)
	}
	html := c.raw("/batches/" + bat.ID + "/report?format=html")
	if !strings.Contains(html, "<svg") || strings.Contains(html, "<script") {
		t.Fatalf("the HTML report is not a self-contained page: %.300s", html)
	}
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) waitUp() {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(c.base + "/openapi.json"); err == nil {
			resp.Body.Close()
			return
		}
	}
	c.t.Fatal("the API did not come up")
}

// raw is a GET's body as text.
func (c *client) raw(path string) string {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func (c *client) call(method, path string, body, into any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	if into != nil {
		if err := json.Unmarshal(out, into); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
}
