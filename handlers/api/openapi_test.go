package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

var (
	oasOnce sync.Once
	oasDoc  *openapi3.T
	oasErr  error
)

// openAPIDoc is the embedded document, loaded and validated once by kin-openapi. Validate
// checks the structure of every object (unknown fields included), that $refs resolve, and
// every schema (for a 3.1 document: type arrays, numeric exclusive bounds, const, examples
// and defaults against their schemas, patterns that compile; a misspelt keyword is an
// "extra sibling field").
func openAPIDoc(t *testing.T) *openapi3.T {
	t.Helper()
	oasOnce.Do(func() {
		// The media types the document answers with that kin-openapi has no decoder for:
		// their bodies are checked as strings.
		for _, mt := range []string{"text/event-stream", "text/html", "text/markdown", "application/xml"} {
			openapi3filter.RegisterBodyDecoder(mt, openapi3filter.PlainBodyDecoder)
		}
		loader := openapi3.NewLoader()
		oasDoc, oasErr = loader.LoadFromData(openAPIDocument)
		if oasErr != nil {
			oasErr = fmt.Errorf("load: %w", oasErr)
			return
		}
		if err := oasDoc.Validate(loader.Context, openapi3.EnableMultiError(), openapi3.ProhibitExtensionsWithRef()); err != nil {
			oasErr = fmt.Errorf("validate: %w", err)
		}
	})
	if oasErr != nil {
		t.Fatalf("openapi.json: %v", oasErr)
	}
	return oasDoc
}

// oasRoute finds the operation of a request: a path of the document under its servers
// (a path item's own servers win over the document's), the template with the fewest
// parameters winning.
func oasRoute(doc *openapi3.T, req *http.Request) (*routers.Route, map[string]string, error) {
	var best *routers.Route
	var bestParams map[string]string
	for _, tmpl := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(tmpl)
		servers := doc.Servers
		if len(item.Servers) > 0 {
			servers = item.Servers
		}
		for _, srv := range servers {
			params, ok := oasMatch(strings.TrimSuffix(srv.URL, "/")+tmpl, req.URL.Path)
			if !ok || (best != nil && len(params) >= len(bestParams)) {
				continue
			}
			best, bestParams = &routers.Route{Spec: doc, Server: srv, Path: tmpl, PathItem: item}, params
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("%s is not a path of the document", req.URL.Path)
	}
	best.Method = req.Method
	if best.Operation = best.PathItem.GetOperation(req.Method); best.Operation == nil {
		return nil, nil, fmt.Errorf("%s %s is not an operation of the document", req.Method, best.Path)
	}
	return best, bestParams, nil
}

// oasMatch matches a path against a template of whole-segment {params}.
func oasMatch(tmpl, path string) (map[string]string, bool) {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range ts {
		switch {
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			if ps[i] == "" {
				return nil, false
			}
			params[seg[1:len(seg)-1]] = ps[i]
		case seg != ps[i]:
			return nil, false
		}
	}
	return params, true
}

// validateAnswer checks an answer against openapi.json: its status is documented for the
// operation, its documented headers are there and match their schemas (X-Request-ID,
// X-Assay-Seq, Location, Retry-After…), its Content-Type is documented and its body matches
// the schema; a problem's status and request_id agree with the answer's. End-to-end tests
// of the package call it on any answer they got.
func validateAnswer(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	doc := openAPIDoc(t)
	what := req.Method + " " + req.URL.Path
	route, params, err := oasRoute(doc, req)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if resp.StatusCode == http.StatusNotModified { // openapi3filter skips 304: check it here
		if route.Operation.Responses.Status(http.StatusNotModified) == nil {
			t.Errorf("%s: 304 is not documented", what)
		}
		if len(body) != 0 {
			t.Errorf("%s: 304 with a body", what)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		t.Errorf("%s: answer %d does not conform to openapi.json: %v\nbody: %.2000s", what, resp.StatusCode, err, body)
	}
	if resp.StatusCode < 400 {
		return
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("%s: %d answer is not a problem: %v", what, resp.StatusCode, err)
		return
	}
	if p.Status != resp.StatusCode || p.Title != http.StatusText(resp.StatusCode) {
		t.Errorf("%s: problem status %d %q in a %d answer", what, p.Status, p.Title, resp.StatusCode)
	}
	if rid := resp.Header.Get(echo.HeaderXRequestID); p.RequestID != rid {
		t.Errorf("%s: problem request_id %q, X-Request-ID %q", what, p.RequestID, rid)
	}
}

// oasCall sends a request (raw body with its content type, headers as name, value pairs)
// and reads the whole answer.
func (ts *testServer) oasCall(method, path, token, ctype string, body []byte, header ...string) (*http.Request, *http.Response, []byte) {
	ts.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ts.t.Context(), method, ts.http.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return req, resp, out
}

// oasCheck sends a request, fails unless the answer has the status, validates it against
// the document and decodes a JSON answer into v (when not nil).
func (ts *testServer) oasCheck(status int, v any, method, path, token, ctype string, body []byte, header ...string) *http.Response {
	ts.t.Helper()
	req, resp, out := ts.oasCall(method, path, token, ctype, body, header...)
	if resp.StatusCode != status {
		ts.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, out)
	}
	validateAnswer(ts.t, req, resp, out)
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			ts.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return resp
}

func oasJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := openAPIDoc(t)
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	// Every operation: an id, a tag, a summary, a success answer and, for every operation
	// that needs a token, a documented 401.
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			what := method + " " + path
			switch {
			case op.OperationID == "" || seen[op.OperationID]:
				t.Errorf("%s: operationId %q missing or used twice", what, op.OperationID)
			case len(op.Tags) == 0 || op.Summary == "":
				t.Errorf("%s: no tag or no summary", what)
			}
			seen[op.OperationID] = true
			ok := false
			for code := range op.Responses.Map() {
				ok = ok || strings.HasPrefix(code, "2")
			}
			if !ok {
				t.Errorf("%s: no success answer", what)
			}
			if oasSecured(doc, op) && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s: needs a token but documents no 401", what)
			}
		}
	}
}

// oasSecured: the operation needs a token (its own security, else the document's).
func oasSecured(doc *openapi3.T, op *openapi3.Operation) bool {
	sec := doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	return len(sec) > 0
}

// oasRoutes lists the server's routes as "METHOD /path/{param}" under the document's
// paths: /api/v1 stripped, Echo's :param as {param}.
func oasRoutes(s *Server) []string {
	var out []string
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // the groups' not-found handlers
		}
		segs := strings.Split(r.Path, "/")
		for i, seg := range segs {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				segs[i] = "{" + name + "}"
			}
		}
		path := strings.Join(segs, "/")
		if rest, ok := strings.CutPrefix(path, "/api/v1/"); ok {
			path = "/" + rest
		}
		out = append(out, r.Method+" "+path)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestOpenAPIRoutesMatchDocument(t *testing.T) {
	ts := newTestServer(t)
	doc := openAPIDoc(t)
	routes := oasRoutes(ts.srv)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
		// The root paths carry their own server; the others are under /api/v1.
		root := path == "/healthz" || path == "/readyz"
		if got := len(item.Servers) == 1 && item.Servers[0].URL == "/"; got != root {
			t.Errorf("%s: servers %v: root paths need their own server \"/\", the others none", path, item.Servers)
		}
	}
	slices.Sort(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.json documents %s, which the server does not route", d)
		}
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Errorf("servers %v, want /api/v1", doc.Servers)
	}
}

// oasRequests is one request per documented operation, its path parameters filled with a
// made-up id.
func oasRequests(t *testing.T) []struct{ method, path string } {
	doc := openAPIDoc(t)
	var out []struct{ method, path string }
	for tmpl, item := range doc.Paths.Map() {
		prefix := "/api/v1"
		if len(item.Servers) > 0 {
			prefix = strings.TrimSuffix(item.Servers[0].URL, "/")
		}
		path := prefix + tmpl
		for _, name := range strings.Split(tmpl, "/") {
			if strings.HasPrefix(name, "{") {
				path = strings.Replace(path, name, "nope-0190f5c2", 1)
			}
		}
		for method := range item.Operations() {
			out = append(out, struct{ method, path string }{method, path})
		}
	}
	return out
}

// Every operation the document secures answers 401 without a token, and each of those
// answers conforms; the unsecured ones answer something else.
func TestOpenAPISecurityMatchesServer(t *testing.T) {
	ts := newTestServer(t)
	doc := openAPIDoc(t)
	for _, r := range oasRequests(t) {
		req, resp, body := ts.oasCall(r.method, r.path, "", "", nil)
		route, _, err := oasRoute(doc, req)
		if err != nil {
			t.Fatal(err)
		}
		if secured := oasSecured(doc, route.Operation); secured != (resp.StatusCode == http.StatusUnauthorized) {
			t.Errorf("%s %s: documented as secured=%v, answered %d: %s", r.method, r.path, secured, resp.StatusCode, body)
			continue
		}
		if resp.StatusCode == http.StatusUnauthorized {
			validateAnswer(t, req, resp, body)
		}
	}
}

// The operations that document min_seq reject a bad one with 422 naming min_seq; the others
// ignore it.
func TestOpenAPIMinSeqMatchesServer(t *testing.T) {
	ts := newTestServer(t)
	doc := openAPIDoc(t)
	_, token := ts.signUp()
	for _, r := range oasRequests(t) {
		if r.path == "/api/v1/events" {
			continue // a stream: it takes after and Last-Event-ID instead
		}
		req, resp, body := ts.oasCall(r.method, r.path+"?min_seq=x", token, "", nil)
		route, _, err := oasRoute(doc, req)
		if err != nil {
			t.Fatal(err)
		}
		documented := route.Operation.Parameters.GetByInAndName("query", "min_seq") != nil
		if documented != (route.Operation.Parameters.GetByInAndName("header", headerMinSeq) != nil) {
			t.Errorf("%s %s: min_seq and %s must be documented together", r.method, r.path, headerMinSeq)
		}
		var p Problem
		_ = json.Unmarshal(body, &p)
		rejected := resp.StatusCode == http.StatusUnprocessableEntity && len(p.Errors) == 1 && p.Errors[0].Field == "min_seq"
		if documented != rejected {
			t.Errorf("%s %s: min_seq documented=%v, but a bad one answered %d: %s", r.method, r.path, documented, resp.StatusCode, body)
		}
		validateAnswer(t, req, resp, body)
	}
}

func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t)
	resp := ts.oasCheck(http.StatusOK, nil, "GET", "/healthz", "", "", nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("healthz: Content-Type %q", ct)
	}
	req, resp, body := ts.oasCall("GET", "/api/v1/openapi.json", "", "", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, openAPIDocument) {
		t.Fatalf("openapi.json: %d, %d bytes", resp.StatusCode, len(body))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("openapi.json: Content-Type %q", ct)
	}
	validateAnswer(t, req, resp, body)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("openapi.json: no ETag")
	}
	ts.oasCheck(http.StatusNotModified, nil, "GET", "/api/v1/openapi.json", "", "", nil, "If-None-Match", `"other", `+etag)
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/openapi.json", "", "", nil, "If-None-Match", `"other"`)
}

func TestOpenAPIAuthAnswersConform(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.BodyLimit = 1024 })
	email := fmt.Sprintf("oas%d@example.com", testEmails.Add(1))
	reg := func(password string) []byte {
		return oasJSON(t, map[string]string{"email": email, "password": password, "name": "O"})
	}
	const jsonType = "application/json"

	var u struct{ ID, Email, Name string }
	resp := ts.oasCheck(http.StatusCreated, &u, "POST", "/api/v1/auth/register", "", jsonType, reg("password1"))
	if u.Email != email || resp.Header.Get("Location") != "/api/v1/me" {
		t.Errorf("register: %+v, Location %q", u, resp.Header.Get("Location"))
	}
	ts.oasCheck(http.StatusConflict, nil, "POST", "/api/v1/auth/register", "", jsonType, reg("password1"))

	var p Problem
	ts.oasCheck(http.StatusUnprocessableEntity, &p, "POST", "/api/v1/auth/register", "", jsonType,
		oasJSON(t, map[string]string{"email": "x@example.com", "password": "short", "name": "O"}))
	if len(p.Errors) != 1 || p.Errors[0].Field != "password" {
		t.Errorf("short password: %+v", p)
	}
	ts.oasCheck(http.StatusUnprocessableEntity, &p, "POST", "/api/v1/auth/register", "", jsonType, []byte(`{"email":"a@b.example","pasword":"password1"}`))
	ts.oasCheck(http.StatusBadRequest, nil, "POST", "/api/v1/auth/register", "", jsonType, []byte(`{"email":`))
	ts.oasCheck(http.StatusUnsupportedMediaType, nil, "POST", "/api/v1/auth/register", "", "text/plain", reg("password1"))
	ts.oasCheck(http.StatusRequestEntityTooLarge, nil, "POST", "/api/v1/auth/register", "", jsonType,
		oasJSON(t, map[string]string{"email": email, "password": strings.Repeat("p", 2048), "name": "O"}))

	ts.oasCheck(http.StatusUnauthorized, nil, "POST", "/api/v1/auth/login", "", jsonType,
		oasJSON(t, map[string]string{"email": email, "password": "wrong-password"}))
	var tok struct{ Token string }
	ts.oasCheck(http.StatusOK, &tok, "POST", "/api/v1/auth/login", "", jsonType,
		oasJSON(t, map[string]string{"email": email, "password": "password1"}))

	ts.oasCheck(http.StatusUnauthorized, nil, "GET", "/api/v1/me", "", "", nil)
	ts.oasCheck(http.StatusUnauthorized, nil, "GET", "/api/v1/me", "not-a-token", "", nil)
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/me", tok.Token, "", nil)
}

// A walk through the commands and queries that need no runner: every answer conforms.
func TestOpenAPICommandsAndQueriesConform(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MinSeqWait = 100 * time.Millisecond })
	_, token := ts.signUp()
	const jsonType = "application/json"
	seq := func(a acceptedBody) string { return fmt.Sprintf("?min_seq=%d", a.Seq) }

	var app acceptedBody
	resp := ts.oasCheck(http.StatusAccepted, &app, "POST", "/api/v1/apps", token, jsonType, oasJSON(t, map[string]any{
		"name": "shop", "description": "the shop",
		"environments": []map[string]any{{"name": "staging", "base_url": "https://staging.example.com",
			"headers": map[string]string{"X-Env": "staging"}, "variables": map[string]string{"user": "u1"}}},
		"notify_emails": []string{"qa@example.com"}}), "Idempotency-Key", "create-shop")
	ts.oasCheck(http.StatusAccepted, nil, "POST", "/api/v1/apps", token, jsonType, oasJSON(t, map[string]any{
		"name": "shop", "description": "the shop",
		"environments": []map[string]any{{"name": "staging", "base_url": "https://staging.example.com",
			"headers": map[string]string{"X-Env": "staging"}, "variables": map[string]string{"user": "u1"}}},
		"notify_emails": []string{"qa@example.com"}}), "Idempotency-Key", "create-shop")
	if resp.Header.Get("Location") != "/api/v1/apps/"+app.ID {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	ts.oasCheck(http.StatusUnprocessableEntity, nil, "POST", "/api/v1/apps", token, jsonType,
		oasJSON(t, map[string]any{"name": "x", "environments": []any{}}))
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/apps/"+app.ID+seq(app), token, "", nil)
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/apps?limit=10"+strings.Replace(seq(app), "?", "&", 1), token, "", nil)
	ts.oasCheck(http.StatusUnprocessableEntity, nil, "GET", "/api/v1/apps?limit=501", token, "", nil)
	ts.oasCheck(http.StatusNotFound, nil, "GET", "/api/v1/apps/nope", token, "", nil)
	upd := ts.updateApp(token, app.ID, "changed")
	ts.oasCheck(http.StatusServiceUnavailable, nil, "GET", "/api/v1/apps/"+app.ID, token, "", nil,
		headerMinSeq, fmt.Sprint(upd.Seq+1000))

	var iface acceptedBody
	ts.oasCheck(http.StatusAccepted, &iface, "POST", "/api/v1/apps/"+app.ID+"/interfaces", token, jsonType, oasJSON(t, map[string]any{
		"name": "get user", "method": "GET", "path": "/users/{id}",
		"path_params": map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}, "required": []string{"id"}},
		"responses": map[string]any{"200": map[string]any{"description": "the user", "content_type": "application/json",
			"schema": map[string]any{"type": "object"}}}}))
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/interfaces/"+iface.ID+seq(iface), token, "", nil)
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/apps/"+app.ID+"/interfaces"+seq(iface), token, "", nil)

	var kase acceptedBody
	ts.oasCheck(http.StatusAccepted, &kase, "POST", "/api/v1/interfaces/"+iface.ID+"/cases", token, jsonType, oasJSON(t, map[string]any{
		"name": "user 1", "class": "valid", "priority": "P1",
		"request":    map[string]any{"method": "GET", "path": "/users/${user}", "path_params": map[string]any{"id": "${user}"}},
		"assertions": []map[string]any{{"target": "status", "op": "eq", "value": 200}, {"target": "schema", "op": "conforms"}},
		"extract":    map[string]string{"etag": "header.ETag"}}))
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/cases/"+kase.ID+seq(kase), token, "", nil)
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/interfaces/"+iface.ID+"/cases"+seq(kase), token, "", nil)
	patched := ts.oasCheck(http.StatusAccepted, nil, "PATCH", "/api/v1/cases/"+kase.ID+seq(kase), token, jsonType, []byte(`{"enabled":true,"priority":"P0"}`))
	_ = patched

	var gen acceptedBody
	ts.oasCheck(http.StatusAccepted, &gen, "POST", "/api/v1/interfaces/"+iface.ID+"/generations", token, "", nil)
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/generations/"+gen.ID+seq(gen), token, "", nil)

	var b acceptedBody
	ts.oasCheck(http.StatusAccepted, &b, "POST", "/api/v1/apps/"+app.ID+"/batches", token, jsonType, []byte(`{"concurrency":2}`))
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/batches/"+b.ID+seq(b), token, "", nil)
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/apps/"+app.ID+"/batches"+seq(b), token, "", nil)
	ts.oasCheck(http.StatusOK, nil, "GET", "/api/v1/batches/"+b.ID+"/results"+seq(b)+"&outcome=failed", token, "", nil)
	ts.oasCheck(http.StatusUnprocessableEntity, nil, "GET", "/api/v1/batches/"+b.ID+"/results?outcome=odd", token, "", nil)
	ts.oasCheck(http.StatusNotFound, nil, "GET", "/api/v1/batches/"+b.ID+"/analysis"+seq(b), token, "", nil)
	ts.oasCheck(http.StatusNotFound, nil, "GET", "/api/v1/batches/"+b.ID+"/report"+seq(b), token, "", nil)
	ts.oasCheck(http.StatusConflict, nil, "POST", "/api/v1/batches/"+b.ID+"/notifications", token, "", nil)
	ts.oasCheck(http.StatusAccepted, nil, "POST", "/api/v1/batches/"+b.ID+"/cancel", token, "", nil)

	var imp struct {
		IDs []string `json:"ids"`
	}
	spec := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /orders:
    get:
      responses:
        "200": {description: ok}
`
	ts.oasCheck(http.StatusAccepted, &imp, "POST", "/api/v1/apps/"+app.ID+"/imports", token, "application/yaml", []byte(spec))
	if len(imp.IDs) != 1 {
		t.Errorf("import: ids %v", imp.IDs)
	}
	ts.oasCheck(http.StatusUnprocessableEntity, nil, "POST", "/api/v1/apps/"+app.ID+"/imports", token, jsonType, []byte(`{"neither":"openapi nor postman"}`))
	ts.oasCheck(http.StatusUnsupportedMediaType, nil, "POST", "/api/v1/apps/"+app.ID+"/imports", token, "image/png", []byte(spec))

	ts.oasCheck(http.StatusAccepted, nil, "DELETE", "/api/v1/cases/"+kase.ID, token, "", nil)
	ts.oasCheck(http.StatusAccepted, nil, "DELETE", "/api/v1/interfaces/"+iface.ID, token, "", nil)
	ts.oasCheck(http.StatusAccepted, nil, "DELETE", "/api/v1/apps/"+app.ID, token, "", nil)
}

// validateAnswer itself catches an answer that strays from the document.
func TestOpenAPIValidateAnswerCatches(t *testing.T) {
	doc := openAPIDoc(t)
	check := func(method, path string, status int, ctype, body string, header ...string) error {
		req, _ := http.NewRequest(method, "http://x"+path, nil)
		route, params, err := oasRoute(doc, req)
		if err != nil {
			return err
		}
		h := http.Header{"Content-Type": {ctype}, "X-Request-Id": {"r"}}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 status, Header: h, Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		in.SetBodyBytes([]byte(body))
		return openapi3filter.ValidateResponse(req.Context(), in)
	}
	const okMe = `{"id":"u1","email":"a@b.example","name":"A"}`
	if err := check("GET", "/api/v1/me", 200, "application/json", okMe, headerSeq, "3"); err != nil {
		t.Fatalf("a good answer fails: %v", err)
	}
	for _, c := range []struct {
		name, want string
		err        error
	}{
		{"undocumented status", "status is not supported", check("GET", "/api/v1/me", 418, "application/json", okMe, headerSeq, "3")},
		{"missing X-Assay-Seq", `"X-Assay-Seq" missing`, check("GET", "/api/v1/me", 200, "application/json", okMe)},
		{"extra field", `property "x" is unsupported`,
			check("GET", "/api/v1/me", 200, "application/json", `{"id":"u1","email":"a@b.example","name":"A","x":1}`, headerSeq, "3")},
		{"problem as JSON", "Content-Type has unexpected value",
			check("GET", "/api/v1/me", 401, "application/json", `{"type":"about:blank","title":"Unauthorized","status":401}`)},
		{"problem status wrong", "value must be 401",
			check("GET", "/api/v1/me", 401, "application/problem+json", `{"type":"about:blank","title":"Unauthorized","status":404}`)},
		{"429 without Retry-After", `"Retry-After" missing`, check("POST", "/api/v1/apps", 429, "application/problem+json",
			`{"type":"about:blank","title":"Too Many Requests","status":429}`)},
		{"202 without Location", `"Location" missing`, check("POST", "/api/v1/apps", 202, "application/json", `{"id":"a","seq":1}`, headerSeq, "1")},
		{"bad enum", "not one of the allowed values", check("GET", "/api/v1/generations/g", 200, "application/json",
			`{"id":"g","interface_id":"i","status":"running","generator":"auto","case_ids":[]}`, headerSeq, "1")},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, c.err, c.want)
		}
	}
	for _, mp := range [][2]string{{"GET", "/api/v1/nowhere"}, {"PUT", "/api/v1/apps"}, {"GET", "/api/v1/healthz"}} {
		req, _ := http.NewRequest(mp[0], "http://x"+mp[1], nil)
		if _, _, err := oasRoute(doc, req); err == nil {
			t.Errorf("%s %s: not caught", mp[0], mp[1])
		}
	}
}
