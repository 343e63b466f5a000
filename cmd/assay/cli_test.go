package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cliOpenAPI = `openapi: 3.0.3
info: {title: shop, version: "1"}
paths:
  /items:
    get:
      operationId: listItems
      responses:
        "200": {description: ok}
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200": {description: ok}
        "404": {description: missing}
`

// The client commands against `assay dev`: login, apps, import, generate and run with its
// exit codes, JUnit XML and HTML report.
func TestCLIAgainstDev(t *testing.T) {
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
		done <- run(ctx, []string{"dev", "--data-dir", t.TempDir(), "--nats-listen=", "--log-file=", "--log-level", "error",
			"--http-addr", api, "--metrics-addr", metrics}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("assay dev exited %d", code)
		}
	}()
	server := "http://" + api
	c := &client{t: t, base: server + "/api/v1"}
	c.waitUp()
	c.call("POST", "/auth/register", map[string]any{"email": "cli@example.com", "password": "password1", "name": "CLI"}, nil)

	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	cliStdin = strings.NewReader("password1\n") // only this test logs in
	code, out, errs := cli("login", "--server", server, "--email", "cli@example.com", "--password-stdin")
	if code != 0 {
		t.Fatalf("assay login = %d: %s", code, errs)
	}
	tok := strings.TrimSpace(out)
	c.token = tok

	var app, ifc struct {
		ID  string
		Seq uint64
	}
	c.call("POST", "/apps", map[string]any{"name": "cli pets", "environments": []any{map[string]any{"name": "local", "base_url": target.URL}}}, &app)
	c.call("POST", "/apps/"+app.ID+"/interfaces", map[string]any{"name": "get pet", "method": "GET", "path": "/pets/{id}",
		"path_params": map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "integer"}}, "required": []string{"id"}},
		"responses":   map[string]any{"200": map[string]any{"content_type": "application/json"}, "404": map[string]any{}}}, &ifc)
	addCase := func(id, status int) {
		c.call("POST", "/interfaces/"+ifc.ID+"/cases", map[string]any{"name": "pet " + string(rune('0'+id)), "class": "valid",
			"request":    map[string]any{"method": "GET", "path": "/pets/{id}", "path_params": map[string]any{"id": id}},
			"assertions": []any{map[string]any{"target": "status", "op": "eq", "value": status}}}, nil)
	}
	addCase(1, 200)
	addCase(2, 404)

	auth := []string{"--server", server, "--token", tok}
	code, out, errs = cli(append([]string{"apps"}, auth...)...)
	if code != 0 || !strings.Contains(out, app.ID) || !strings.Contains(out, "cli pets") || !strings.Contains(out, "local") {
		t.Fatalf("assay apps = %d\n%s%s", code, out, errs)
	}

	dir := t.TempDir()
	junit := filepath.Join(dir, "junit.xml")
	code, out, errs = cli(append([]string{"run", app.ID, "--interface", ifc.ID, "--junit", junit}, auth...)...)
	if code != 0 {
		t.Fatalf("assay run (all passing) = %d, want 0\n%s%s", code, out, errs)
	}

	addCase(3, 200) // fails: pet 3 does not exist
	// --poll 1h: the progress comes from the event stream; polling would time out.
	html := filepath.Join(dir, "report", "batch.html") // the directory is created
	code, out, errs = cli(append([]string{"run", app.ID, "--interface", ifc.ID, "--junit", junit, "--html", html, "--poll", "1h", "--timeout", "60s"}, auth...)...)
	t.Log(out)
	if code != 1 {
		t.Fatalf("assay run (one failing) = %d, want 1\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "pet 3") {
		t.Errorf("the failing case is not listed:\n%s", out)
	}
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the JUnit file does not parse: %v\n%s", err, raw)
	}
	failures := 0
	if len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 3 {
		t.Fatalf("JUnit = %+v, want one suite of 3 cases\n%s", doc, raw)
	}
	for _, tc := range doc.Suites[0].Cases {
		if tc.Failure != nil {
			failures++
			if !strings.HasPrefix(tc.Name, "pet 3") || tc.Failure.Message == "" { // the name carries the case id too
				t.Errorf("failure on %q with message %q, want on \"pet 3\" with the assertion's message", tc.Name, tc.Failure.Message)
			}
		}
	}
	if failures != 1 {
		t.Errorf("%d failures in the JUnit file, want 1\n%s", failures, raw)
	}
	checkHTMLReport(t, html, out)

	doc2 := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(doc2, []byte(cliOpenAPI), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = cli(append([]string{"import", app.ID, doc2}, auth...)...)
	if code != 0 || !strings.Contains(out, "2 interfaces imported") {
		t.Fatalf("assay import = %d\n%s%s", code, out, errs)
	}
	imported := strings.Fields(strings.SplitN(out, "\n", 2)[1])
	if len(imported) != 2 {
		t.Fatalf("assay import printed ids %q, want 2", imported)
	}
	var seq uint64
	if _, err := fmt.Sscanf(out[strings.Index(out, "(seq "):], "(seq %d)", &seq); err != nil {
		t.Fatalf("assay import printed no seq: %v\n%s", err, out)
	}
	c.call("GET", fmt.Sprintf("/interfaces/%s?min_seq=%d", imported[1], seq), nil, nil) // the read side has the import
	code, out, errs = cli(append([]string{"generate", imported[1], "--generator", "rules"}, auth...)...)
	if code != 0 || !strings.Contains(out, "assay generate:") {
		t.Fatalf("assay generate = %d\n%s%s", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"openapi": "3.0.0"}`), 0o600)
	if code, out, errs = cli(append([]string{"import", app.ID, bad}, auth...)...); code != 2 {
		t.Errorf("assay import of a bad document = %d, want 2\n%s%s", code, out, errs)
	}
}

func TestCLIRunUnreachableServer(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t) // closed again: nothing listens there
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"run", "01APP", "--server", "http://" + addr, "--token", "t",
		"--junit", filepath.Join(t.TempDir(), "j.xml")}, &out, &errOut)
	if code != 2 {
		t.Fatalf("assay run against a closed port = %d, want 2\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "cannot reach") {
		t.Errorf("message = %q, want it to say the server cannot be reached", errOut.String())
	}
}

// checkHTMLReport: --html saved the batch's HTML report, naming the batch and its failure.
func checkHTMLReport(t *testing.T, path, runOut string) {
	t.Helper()
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--html wrote no file: %v", err)
	}
	var batchID string
	if _, err := fmt.Sscanf(runOut, "assay run: batch %s submitted", &batchID); err != nil {
		t.Fatalf("assay run printed no batch id: %v\n%s", err, runOut)
	}
	doc := string(page)
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(doc)), "<!doctype html") || !strings.Contains(doc, "</html>") {
		t.Errorf("%s is not an HTML document:\n%.300s", path, doc)
	}
	for _, want := range []string{batchID, "pet 3"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	if !strings.Contains(runOut, "HTML report written to "+path) {
		t.Errorf("assay run did not say where the HTML report is:\n%s", runOut)
	}
}
