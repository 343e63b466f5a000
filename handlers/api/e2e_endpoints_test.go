package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/handlers/command"
)

// driveBatch sends a batch command as the reactors would (completion, analysis, report).
func (ts *testServer) driveBatch(user, id string, cmd batch.Command) uint64 {
	ts.t.Helper()
	res, err := ts.srv.deps.Commands.Batch(ts.t.Context(), domain.Metadata{CommandID: command.NewID(), UserID: user}, id, cmd)
	if err != nil {
		ts.t.Fatalf("%T: %v", cmd, err)
	}
	return res.Seq
}

// TestE2EEveryEndpoint walks the success path of every endpoint of API.md.
func TestE2EEveryEndpoint(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]backend{"sqlite": onSQLite, "mariadb+redis": onMariaDBAndRedis} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testE2EEveryEndpointOn(t, newTestServerOn(t, open, nil))
		})
	}
}

func testE2EEveryEndpointOn(t *testing.T, ts *testServer) {

	for _, p := range []string{"/healthz", "/readyz"} {
		ts.must(http.StatusOK, nil, e2eReq{method: "GET", path: p})
	}
	var doc struct{ OpenAPI string }
	ts.must(http.StatusOK, &doc, e2eReq{method: "GET", path: "/api/v1/openapi.json"})
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("GET openapi.json: openapi %q", doc.OpenAPI)
	}

	// Users.
	var reg struct{ ID, Email, Name string }
	a := ts.must(http.StatusCreated, &reg, e2eReq{method: "POST", path: "/api/v1/auth/register",
		json: map[string]string{"email": "Walker@Example.com", "password": "password1", "name": "Walker"}})
	if !domain.ValidID(reg.ID) || reg.Email != "walker@example.com" || reg.Name != "Walker" {
		t.Fatalf("register: %s", a.body)
	}
	var login struct {
		Token     string    `json:"token"`
		TokenType string    `json:"token_type"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	a = ts.must(http.StatusOK, &login, e2eReq{method: "POST", path: "/api/v1/auth/login",
		json: map[string]string{"email": "walker@example.com", "password": "password1"}})
	token := login.Token
	if token == "" || login.TokenType != "Bearer" || time.Until(login.ExpiresAt) < 23*time.Hour {
		t.Fatalf("login: %s", a.body)
	}
	var me struct{ ID, Email, Name string }
	ts.must(http.StatusOK, &me, e2eReq{method: "GET", path: "/api/v1/me", token: token})
	if me.ID != reg.ID || me.Email != reg.Email || me.Name != "Walker" {
		t.Fatalf("me: %+v, registered %+v", me, reg)
	}

	// Apps.
	app := ts.command("POST", "/api/v1/apps", token, map[string]any{"name": "shop", "description": "d",
		"environments": []map[string]any{{"name": "staging", "base_url": "https://staging.example.com",
			"headers": map[string]string{"X-Env": "s"}, "variables": map[string]string{"user": "u1"}}},
		"notify_emails": []string{"ops@example.com"}})
	var got struct{ Environments []map[string]any }
	var gotApp map[string]any
	ts.get(&gotApp, token, "/api/v1/apps/"+app.ID, app.Seq)
	raw, _ := json.Marshal(gotApp)
	_ = json.Unmarshal(raw, &got)
	if gotApp["id"] != app.ID || gotApp["name"] != "shop" || gotApp["default_environment"] != "staging" || len(got.Environments) != 1 {
		t.Fatalf("GET app: %s", raw)
	}
	up := ts.command("PATCH", "/api/v1/apps/"+app.ID, token, map[string]any{"name": "shop 2"})
	if up.ID != app.ID || up.Seq <= app.Seq {
		t.Fatalf("PATCH app: %+v after %+v", up, app)
	}
	var apps struct {
		Items []struct{ ID, Name string }
		Next  *string
	}
	ts.get(&apps, token, "/api/v1/apps", up.Seq)
	if len(apps.Items) != 1 || apps.Items[0].Name != "shop 2" || apps.Next == nil || *apps.Next != "" {
		t.Fatalf("GET apps: %+v", apps)
	}

	// Interfaces.
	ifc := ts.command("POST", "/api/v1/apps/"+app.ID+"/interfaces", token, ifaceDef("create item"))
	var gotIface map[string]any
	ts.get(&gotIface, token, "/api/v1/interfaces/"+ifc.ID, ifc.Seq)
	if gotIface["id"] != ifc.ID || gotIface["app_id"] != app.ID || gotIface["method"] != "POST" || gotIface["path"] != "/items/{id}" {
		t.Fatalf("GET interface: %v", gotIface)
	}
	ifUp := ts.command("PATCH", "/api/v1/interfaces/"+ifc.ID, token, map[string]any{"description": "makes an item"})
	var ifaces struct {
		Items []struct{ ID, Description string }
	}
	ts.get(&ifaces, token, "/api/v1/apps/"+app.ID+"/interfaces", ifUp.Seq)
	if len(ifaces.Items) != 1 || ifaces.Items[0].ID != ifc.ID || ifaces.Items[0].Description != "makes an item" {
		t.Fatalf("GET interfaces: %+v", ifaces)
	}
	gen := ts.command("POST", "/api/v1/interfaces/"+ifc.ID+"/generations", token, map[string]any{"generator": "rules", "max_cases": 5})
	var g struct {
		ID          string `json:"id"`
		InterfaceID string `json:"interface_id"`
		Status      string `json:"status"`
		Generator   string `json:"generator"`
	}
	a = ts.get(&g, token, "/api/v1/generations/"+gen.ID, gen.Seq)
	if g.ID != gen.ID || g.InterfaceID != ifc.ID || g.Status != "pending" || g.Generator != "rules" {
		t.Fatalf("GET generation: %s", a.body)
	}
	// A generation without a body takes the defaults.
	ts.must(http.StatusAccepted, nil, e2eReq{method: "POST", path: "/api/v1/interfaces/" + ifc.ID + "/generations", token: token})

	// Cases.
	k1 := ts.command("POST", "/api/v1/interfaces/"+ifc.ID+"/cases", token, caseDef("first"))
	k2 := ts.command("POST", "/api/v1/interfaces/"+ifc.ID+"/cases", token, caseDef("second"))
	var kase struct {
		ID, InterfaceID, Name, Class, Priority, Source string
		Enabled                                        bool
	}
	a = ts.get(&kase, token, "/api/v1/cases/"+k1.ID, k2.Seq)
	if kase.ID != k1.ID || kase.Name != "first" || kase.Class != "valid" || kase.Priority != "P1" || kase.Source != "manual" || !kase.Enabled ||
		!strings.Contains(string(a.body), `"interface_id":"`+ifc.ID+`"`) {
		t.Fatalf("GET case: %s", a.body)
	}
	kUp := ts.command("PATCH", "/api/v1/cases/"+k1.ID+"?min_seq=0", token, map[string]any{"name": "first, renamed"})
	kDel := ts.command("DELETE", "/api/v1/cases/"+k2.ID, token, nil)
	var cases struct{ Items []struct{ ID, Name string } }
	ts.get(&cases, token, "/api/v1/interfaces/"+ifc.ID+"/cases", max(kUp.Seq, kDel.Seq))
	if len(cases.Items) != 1 || cases.Items[0].ID != k1.ID || cases.Items[0].Name != "first, renamed" {
		t.Fatalf("GET cases: %+v", cases)
	}

	// Batches.
	b := ts.command("POST", "/api/v1/apps/"+app.ID+"/batches", token, map[string]any{"environment": "staging", "concurrency": 2, "timeout_ms": 5000})
	var bt struct {
		ID, AppID, Environment, Status string
		Total                          int
	}
	a = ts.get(&bt, token, "/api/v1/batches/"+b.ID, b.Seq)
	if bt.ID != b.ID || bt.Status != batch.StatusRunning || bt.Total != 1 || bt.Environment != "staging" ||
		!strings.Contains(string(a.body), `"app_id":"`+app.ID+`"`) {
		t.Fatalf("GET batch: %s", a.body)
	}
	var batches struct{ Items []struct{ ID string } }
	ts.get(&batches, token, "/api/v1/apps/"+app.ID+"/batches", b.Seq)
	if len(batches.Items) != 1 || batches.Items[0].ID != b.ID {
		t.Fatalf("GET batches: %+v", batches)
	}
	var results struct {
		Items []json.RawMessage
		Next  *string
	}
	ts.get(&results, token, "/api/v1/batches/"+b.ID+"/results?outcome=passed", b.Seq)
	if results.Items == nil || len(results.Items) != 0 || results.Next == nil {
		t.Fatalf("GET results: %+v", results)
	}
	cancel := ts.command("POST", "/api/v1/batches/"+b.ID+"/cancel", token, nil)

	// Completion, analysis and the report are the reactors' (driven here through the domain).
	ts.driveBatch(reg.ID, b.ID, batch.Complete{BatchID: b.ID, ActorID: reg.ID, At: time.Now().UTC()})
	re := ts.command("POST", "/api/v1/batches/"+b.ID+"/analysis", token, nil)
	if re.ID != b.ID || re.Seq <= cancel.Seq {
		t.Fatalf("POST analysis: %+v", re)
	}
	ts.driveBatch(reg.ID, b.ID, batch.RecordAnalysis{BatchID: b.ID, ActorID: reg.ID, Analysis: analysisDoc(t, b.ID),
		Narrator: "rules", At: time.Now().UTC()})
	last := ts.driveBatch(reg.ID, b.ID, batch.RecordReport{BatchID: b.ID, ActorID: reg.ID, Formats: []string{"json"},
		Digests: map[string]string{"json": "abc"}, AsOfSeq: re.Seq, At: time.Now().UTC()})
	var an struct {
		BatchID  string `json:"batch_id"`
		Revision int
		Narrator string
		Analysis analysis.Analysis
	}
	ts.get(&an, token, "/api/v1/batches/"+b.ID+"/analysis", last)
	cov := an.Analysis.Coverage
	if an.BatchID != b.ID || an.Revision != 1 || an.Narrator != "rules" || an.Analysis.BatchID != b.ID || len(cov.Interfaces) != 1 ||
		len(cov.Interfaces[0].Parameters) != 1 || cov.Interfaces[0].Parameters[0].Name != "query.limit" || cov.Totals.CellsPossible != 4 ||
		cov.Totals.CellsExercised != 2 || cov.Totals.StatusesDocumented != 2 || cov.Totals.SchemaChecked != 1 ||
		len(an.Analysis.Clusters) != 1 || an.Analysis.Clusters[0].Hypothesis.Label != analysis.ValidationMissing {
		t.Fatalf("GET analysis: %+v", an)
	}
	var rep struct {
		BatchID  string `json:"batch_id"`
		Revision int
		Formats  []string
	}
	ts.get(&rep, token, "/api/v1/batches/"+b.ID+"/report", last)
	if rep.BatchID != b.ID || rep.Revision != 1 || len(rep.Formats) != 1 {
		t.Fatalf("GET report: %+v", rep)
	}
	for format, want := range map[string]string{"html": "<svg", "json": `assay.report/v1`, "junit": "<testsuites", "md": "|"} {
		a := ts.send(e2eReq{method: "GET", path: "/api/v1/batches/" + b.ID + "/report?format=" + format, token: token})
		if a.status != http.StatusOK || !strings.Contains(string(a.body), want) {
			t.Fatalf("GET report?format=%s: %d %.300s", format, a.status, a.body)
		}
	}
	if a := ts.send(e2eReq{method: "GET", path: "/api/v1/batches/" + b.ID + "/report?format=pdf", token: token}); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("GET report?format=pdf: %d", a.status)
	}
	n := ts.command("POST", "/api/v1/batches/"+b.ID+"/notifications", token, map[string]any{"emails": []string{"boss@example.com"}})
	ts.get(&bt, token, "/api/v1/batches/"+b.ID, n.Seq)
	if bt.Status != batch.StatusReported {
		t.Fatalf("batch status %q after the report, want reported", bt.Status)
	}
	// A body-less notification request is accepted too.
	ts.must(http.StatusAccepted, nil, e2eReq{method: "POST", path: "/api/v1/batches/" + b.ID + "/notifications", token: token})

	// Events: the stream opens with the position it starts after.
	ts.openEventsOnce(token, "app_id="+app.ID)

	// Deletions and archiving.
	del := ts.command("DELETE", "/api/v1/interfaces/"+ifc.ID, token, nil)
	ts.must(http.StatusNotFound, nil, e2eReq{method: "GET", path: "/api/v1/interfaces/" + ifc.ID + "?min_seq=" + u64(del.Seq), token: token})
	arch := ts.command("DELETE", "/api/v1/apps/"+app.ID, token, nil)
	ts.get(&apps, token, "/api/v1/apps", arch.Seq)
	if len(apps.Items) != 0 {
		t.Fatalf("an archived app is listed: %+v", apps)
	}
	ts.get(&gotApp, token, "/api/v1/apps/"+app.ID, arch.Seq)
	if gotApp["archived"] != true {
		t.Fatalf("GET archived app: %v", gotApp)
	}
	// An archived app rejects new work.
	before := ts.lastSeq()
	ts.must(http.StatusConflict, nil, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/interfaces", token: token, json: ifaceDef("late")})
	ts.must(http.StatusConflict, nil, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/batches", token: token, json: map[string]any{}})
	ts.must(http.StatusConflict, nil, e2eReq{method: "PATCH", path: "/api/v1/apps/" + app.ID, token: token, json: map[string]any{"name": "x"}})
	if after := ts.lastSeq(); after != before {
		t.Fatalf("rejected work appended %v", ts.typesAfter(before))
	}
}

// openEventsOnce opens GET /events, checks its headers and opening block, and closes it.
func (ts *testServer) openEventsOnce(token, query string) {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(ts.t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.http.URL+"/api/v1/events?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		ts.t.Fatalf("GET /events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	var block strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			ts.t.Fatalf("GET /events: %v after %q", err, block.String())
		}
		if line == "\n" {
			break
		}
		block.WriteString(line)
	}
	if !strings.Contains(block.String(), "id: ") {
		ts.t.Fatalf("GET /events: opening block %q has no id", block.String())
	}
	checkAnswer(ts.t, req, resp, []byte(block.String()+"\n"))
}

func u64(n uint64) string { return strconv.FormatUint(n, 10) }

// analysisDoc is a real analysis document of a two-case batch: coverage measured against
// a definition with one query parameter, one cluster with its rule-written hypothesis.
func analysisDoc(t *testing.T, batchID string) json.RawMessage {
	t.Helper()
	k := func(id, class, name string, query map[string]any) testcase.Case {
		return testcase.Case{ID: id, InterfaceID: "if-1", Name: name, Class: class, Priority: "P1", Enabled: true, Source: "rules",
			Request: testcase.Request{Method: "GET", Path: "/pets", Query: query}}
	}
	h := analysis.BatchHistory{
		Submitted: batch.Submitted{AppID: "app-1", BatchID: batchID,
			Interfaces: []batch.InterfaceRef{{ID: "if-1", Method: "GET", Path: "/pets", Version: 1,
				Responses: map[string]iface.Response{"200": {}, "400": {}}}},
			Cases: []testcase.Case{k("k1", testcase.Valid, "valid request", map[string]any{"limit": 5.0}),
				k("k2", testcase.OutOfRange, "query.limit: 11, above maximum 10", map[string]any{"limit": 11.0})}},
		Results: []batch.CaseExecuted{
			{CaseID: "k1", InterfaceID: "if-1", Outcome: batch.Passed, StatusCode: 200, DurationMS: 3,
				Assertions: []assert.Evaluated{{Target: "check.response_schema_conformance", Op: "check", Passed: true}}},
			{CaseID: "k2", InterfaceID: "if-1", Outcome: batch.Failed, StatusCode: 200, DurationMS: 4,
				Assertions: []assert.Evaluated{{Target: "status", Op: "eq", Passed: false}}}},
		Definitions: map[string]iface.Definition{"if-1": {Method: "GET", Path: "/pets",
			Query: json.RawMessage(`{"type":"object","properties":{"limit":{"type":"integer","minimum":1,"maximum":10}}}`)}},
	}
	doc, err := json.Marshal(analysis.Analyze(h, nil))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
