package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// e2eReq is one request of the end-to-end tests. Every request of those tests goes through
// ts.send, so every answer passes checkAnswer.
type e2eReq struct {
	method, path, token string
	json                any               // marshalled as the body when not nil (Content-Type application/json)
	raw                 []byte            // sent as the body when not nil, with ctype
	ctype               string            // Content-Type of raw ("" = none)
	header              map[string]string // extra headers
	chunked             bool              // hide the length of raw (Transfer-Encoding: chunked)
}

// e2eAnswer is a whole answer.
type e2eAnswer struct {
	status int
	header http.Header
	body   []byte
}

// hideLength is a reader the client cannot measure, so the body is sent chunked.
type hideLength struct{ r io.Reader }

func (h hideLength) Read(p []byte) (int, error) { return h.r.Read(p) }

// send sends r and reads the whole answer, then checks it with checkAnswer.
func (ts *testServer) send(r e2eReq) e2eAnswer {
	ts.t.Helper()
	return ts.sendCtx(ts.t.Context(), r)
}

func (ts *testServer) sendCtx(ctx context.Context, r e2eReq) e2eAnswer {
	ts.t.Helper()
	a, err := ts.trySend(ctx, r)
	if err != nil {
		ts.t.Fatal(err)
	}
	return a
}

// trySend is send for other goroutines than the test's: it fails nothing itself (but
// checkAnswer reports a bad answer with t.Errorf).
func (ts *testServer) trySend(ctx context.Context, r e2eReq) (e2eAnswer, error) {
	ts.t.Helper()
	var body io.Reader
	raw := r.raw
	if r.json != nil {
		b, err := json.Marshal(r.json)
		if err != nil {
			return e2eAnswer{}, err
		}
		raw = b
	}
	if raw != nil {
		body = bytes.NewReader(raw)
		if r.chunked {
			body = hideLength{body}
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, ts.http.URL+r.path, body)
	if err != nil {
		return e2eAnswer{}, err
	}
	switch {
	case r.json != nil:
		req.Header.Set("Content-Type", "application/json")
	case r.ctype != "":
		req.Header.Set("Content-Type", r.ctype)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		return e2eAnswer{}, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return e2eAnswer{}, fmt.Errorf("%s %s: read the answer: %w", r.method, r.path, err)
	}
	checkAnswer(ts.t, req, resp, out)
	return e2eAnswer{status: resp.StatusCode, header: resp.Header, body: out}, nil
}

// checkAnswer is where every answer of the end-to-end tests is checked: against the served
// openapi.json (validateAnswer), then against the conventions of API.md that hold for
// every endpoint.
func checkAnswer(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	validateAnswer(t, req, resp, body)
	what := req.Method + " " + req.URL.RequestURI()
	if resp.Header.Get("X-Request-ID") == "" {
		t.Errorf("%s: no X-Request-ID", what)
	}
	ctype := resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode >= 400:
		if !strings.HasPrefix(ctype, "application/problem+json") {
			t.Errorf("%s: %d answered as %q, not application/problem+json: %s", what, resp.StatusCode, ctype, body)
			return
		}
		var p struct {
			Type, Title, Detail string
			Status              int
			Errors              []struct{ Field, Message string }
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("%s: the problem is not JSON: %v: %s", what, err, body)
			return
		}
		if p.Type == "" || p.Title == "" || p.Status != resp.StatusCode {
			t.Errorf("%s: problem %+v: want type, title and status %d", what, p, resp.StatusCode)
		}
		for _, f := range p.Errors {
			if f.Field == "" || f.Message == "" {
				t.Errorf("%s: field error %+v without field or message", what, f)
			}
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 {
				t.Errorf("%s: %d with Retry-After %q", what, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}
	case resp.StatusCode == http.StatusAccepted:
		var a struct {
			ID  string   `json:"id"`
			IDs []string `json:"ids"`
			Seq uint64   `json:"seq"`
		}
		if err := json.Unmarshal(body, &a); err != nil || (a.ID == "" && a.IDs == nil) || a.Seq == 0 {
			t.Errorf("%s: 202 %s (%v): want {id, seq} or {ids, seq}", what, body, err)
		}
		if resp.Header.Get("Location") == "" {
			t.Errorf("%s: 202 without Location", what)
		}
		if got := resp.Header.Get(headerSeq); got != strconv.FormatUint(a.Seq, 10) {
			t.Errorf("%s: X-Assay-Seq %q, body seq %d", what, got, a.Seq)
		}
	case resp.StatusCode == http.StatusOK && req.Method == http.MethodGet && isQuery(req.URL.Path):
		if _, err := strconv.ParseUint(resp.Header.Get(headerSeq), 10, 64); err != nil {
			t.Errorf("%s: a query answer without X-Assay-Seq (%q)", what, resp.Header.Get(headerSeq))
		}
		rendering := strings.HasSuffix(req.URL.Path, "/report") && req.URL.Query().Get("format") != ""
		if !strings.HasPrefix(ctype, "application/json") && !rendering {
			t.Errorf("%s: answered as %q", what, ctype)
		}
	}
}

// isQuery: the GETs API.md calls queries (they carry X-Assay-Seq).
func isQuery(path string) bool {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	return ok && rest != "openapi.json" && rest != "events"
}

// must sends r and fails the test unless the answer has the status; it decodes into v.
func (ts *testServer) must(status int, v any, r e2eReq) e2eAnswer {
	ts.t.Helper()
	a := ts.send(r)
	if a.status != status {
		ts.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, a.status, status, a.body)
	}
	if v != nil {
		if err := json.Unmarshal(a.body, v); err != nil {
			ts.t.Fatalf("%s %s: %v: %s", r.method, r.path, err, a.body)
		}
	}
	return a
}

// get is a query that waits for the read side to have applied seq.
func (ts *testServer) get(v any, token, path string, seq uint64) e2eAnswer {
	ts.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return ts.must(http.StatusOK, v, e2eReq{method: "GET", path: path + sep + "min_seq=" + strconv.FormatUint(seq, 10), token: token})
}

// command sends a command and expects 202; the answer's id and seq.
func (ts *testServer) command(method, path, token string, body any) acceptedBody {
	ts.t.Helper()
	var a acceptedBody
	ts.must(http.StatusAccepted, &a, e2eReq{method: method, path: path, token: token, json: body})
	return a
}

// lastSeq is the log's last sequence.
func (ts *testServer) lastSeq() uint64 {
	ts.t.Helper()
	n, err := ts.store.LastSeq(ts.t.Context())
	if err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// typesAfter lists the types of the events appended after seq.
func (ts *testServer) typesAfter(seq uint64) []string {
	ts.t.Helper()
	var out []string
	last := ts.lastSeq()
	for n := seq + 1; n <= last; n++ {
		env, err := ts.store.Get(ts.t.Context(), n)
		if err != nil {
			ts.t.Fatal(err)
		}
		out = append(out, env.Type)
	}
	return out
}

// problemOfAnswer decodes a problem answer.
type problemBody struct {
	Type, Title, Detail string
	Status              int
	Errors              []struct{ Field, Message string }
}

func (a e2eAnswer) problem(t *testing.T) problemBody {
	t.Helper()
	var p problemBody
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("not a problem: %v: %s", err, a.body)
	}
	return p
}

// hasField is true when the problem names the field.
func (p problemBody) hasField(field string) bool {
	for _, f := range p.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

// testEnvs are the environments of the tests' apps.
var testEnvs = []map[string]string{{"name": "e", "base_url": "http://127.0.0.1:1"}}

// ifaceDef is an interface definition with a path parameter, a body and a response schema.
func ifaceDef(name string) map[string]any {
	return map[string]any{
		"name": name, "method": "POST", "path": "/items/{id}", "content_type": "application/json",
		"path_params": map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}, "required": []string{"id"}},
		"body":        map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer"}}},
		"responses":   map[string]any{"201": map[string]any{"description": "made", "content_type": "application/json", "schema": map[string]any{"type": "object"}}},
	}
}

// caseDef is a hand-written case of ifaceDef.
func caseDef(name string) map[string]any {
	return map[string]any{
		"name": name, "class": "valid", "priority": "P1",
		"request":    map[string]any{"method": "POST", "path": "/items/{id}", "path_params": map[string]any{"id": "a"}, "body": map[string]any{"n": 1}},
		"assertions": []map[string]any{{"target": "status", "op": "eq", "value": 201}},
	}
}

// fixture is a user with an app, an interface, a case and a running batch.
type fixture struct {
	user, token             string
	app, iface, kase, batch string
	seq                     uint64
}

func (ts *testServer) fixture() fixture {
	ts.t.Helper()
	var f fixture
	f.user, f.token = ts.signUp()
	a := ts.command("POST", "/api/v1/apps", f.token, map[string]any{"name": "fixture", "environments": testEnvs})
	i := ts.command("POST", "/api/v1/apps/"+a.ID+"/interfaces", f.token, ifaceDef("create item"))
	k := ts.command("POST", "/api/v1/interfaces/"+i.ID+"/cases", f.token, caseDef("happy"))
	b := ts.command("POST", "/api/v1/apps/"+a.ID+"/batches", f.token, map[string]any{})
	f.app, f.iface, f.kase, f.batch, f.seq = a.ID, i.ID, k.ID, b.ID, b.Seq
	return f
}
