package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/assay-dev/assay/domain/batch"
)

// TestE2EFullFlow is a user's first session, through HTTP only.
func TestE2EFullFlow(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]backend{"sqlite": onSQLite, "mariadb+redis": onMariaDBAndRedis} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testE2EFullFlowOn(t, newTestServerOn(t, open, nil))
		})
	}
}

func testE2EFullFlowOn(t *testing.T, ts *testServer) {

	var user struct{ ID, Email, Name string }
	ts.must(http.StatusCreated, &user, e2eReq{method: "POST", path: "/api/v1/auth/register",
		json: map[string]string{"email": "flow@example.com", "password": "correct horse", "name": "Flow"}})
	var login struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
	}
	ts.must(http.StatusOK, &login, e2eReq{method: "POST", path: "/api/v1/auth/login",
		json: map[string]string{"email": "flow@example.com", "password": "correct horse"}})
	token := login.Token
	var me struct{ ID string }
	ts.must(http.StatusOK, &me, e2eReq{method: "GET", path: "/api/v1/me", token: token})
	if me.ID != user.ID || login.TokenType != "Bearer" {
		t.Fatalf("me %q, registered %q, token type %q", me.ID, user.ID, login.TokenType)
	}

	app := ts.command("POST", "/api/v1/apps", token, map[string]any{"name": "flow", "environments": testEnvs})
	ifc := ts.command("POST", "/api/v1/apps/"+app.ID+"/interfaces", token, ifaceDef("create item"))
	kase := ts.command("POST", "/api/v1/interfaces/"+ifc.ID+"/cases", token, caseDef("creates"))
	var cases struct {
		Items []struct {
			ID, Name string
			Enabled  bool
		}
		Next string
	}
	ts.get(&cases, token, "/api/v1/interfaces/"+ifc.ID+"/cases", kase.Seq)
	if len(cases.Items) != 1 || cases.Items[0].ID != kase.ID || !cases.Items[0].Enabled || cases.Next != "" {
		t.Fatalf("cases: %+v", cases)
	}

	b := ts.command("POST", "/api/v1/apps/"+app.ID+"/batches", token, nil)
	var got struct {
		ID, Status string
		Total      int
	}
	ts.get(&got, token, "/api/v1/batches/"+b.ID, b.Seq)
	if got.ID != b.ID || got.Status != batch.StatusRunning || got.Total != 1 {
		t.Fatalf("batch: %+v", got)
	}

	// Cancel: accepted and recorded. The batch completes (canceled) only when the completion
	// reactor sends Complete, which is not this package's.
	c := ts.command("POST", "/api/v1/batches/"+b.ID+"/cancel", token, nil)
	if c.ID != b.ID || c.Seq <= b.Seq {
		t.Fatalf("cancel: %+v after %+v", c, b)
	}
	if types := ts.typesAfter(b.Seq); !slices.Contains(types, "batch.canceled") {
		t.Fatalf("after the cancel the log has %v", types)
	}
	// A second cancel changes nothing.
	before := ts.lastSeq()
	ts.command("POST", "/api/v1/batches/"+b.ID+"/cancel", token, nil)
	if after := ts.lastSeq(); after != before {
		t.Fatalf("a second cancel appended %v", ts.typesAfter(before))
	}

	var results struct {
		Items []json.RawMessage
		Next  string
	}
	a := ts.get(&results, token, "/api/v1/batches/"+b.ID+"/results", c.Seq)
	if results.Items == nil || len(results.Items) != 0 || results.Next != "" {
		t.Fatalf("results: %s", a.body)
	}

	before = ts.lastSeq()
	ts.must(http.StatusConflict, nil, e2eReq{method: "POST", path: "/api/v1/batches/" + b.ID + "/notifications", token: token,
		json: map[string]any{"emails": []string{"boss@example.com"}}})
	ts.must(http.StatusConflict, nil, e2eReq{method: "POST", path: "/api/v1/batches/" + b.ID + "/analysis", token: token})
	ts.must(http.StatusNotFound, nil, e2eReq{method: "GET", path: "/api/v1/batches/" + b.ID + "/report", token: token})
	if after := ts.lastSeq(); after != before {
		t.Fatalf("refused commands appended %v", ts.typesAfter(before))
	}
}

// TestE2EConcurrentPatches: 100 PATCHes of one app at once are each accepted or a conflict,
// and the app ends as the accepted change with the highest seq left it.
func TestE2EConcurrentPatches(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	app := ts.createApp(token, "contended")
	before := ts.lastSeq()

	const n = 100
	type outcome struct {
		status int
		seq    uint64
		desc   string
		detail string
	}
	out := make([]outcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			desc := "change " + strconv.Itoa(i)
			a, err := ts.trySend(t.Context(), e2eReq{method: "PATCH", path: "/api/v1/apps/" + app.ID, token: token,
				json: map[string]any{"description": desc}})
			if err != nil {
				t.Error(err)
				return
			}
			var acc acceptedBody
			var p problemBody
			if a.status == http.StatusAccepted {
				if err := json.Unmarshal(a.body, &acc); err != nil {
					t.Error(err)
				}
			} else {
				_ = json.Unmarshal(a.body, &p)
			}
			out[i] = outcome{status: a.status, seq: acc.Seq, desc: desc, detail: p.Detail}
		})
	}
	close(start)
	wg.Wait()

	var last outcome
	seqs := map[uint64]bool{}
	accepted := 0
	for i, o := range out {
		switch o.status {
		case http.StatusAccepted:
			accepted++
			if seqs[o.seq] {
				t.Errorf("PATCH %d: seq %d answered twice", i, o.seq)
			}
			seqs[o.seq] = true
			if o.seq > last.seq {
				last = o
			}
		case http.StatusConflict:
			if strings.Contains(o.detail, "nats") || strings.Contains(o.detail, "events.app") {
				t.Errorf("PATCH %d: the conflict shows the log's internals: %q", i, o.detail)
			}
		default:
			t.Errorf("PATCH %d: %d, want 202 or 409", i, o.status)
		}
	}
	if accepted == 0 {
		t.Fatal("no PATCH was accepted")
	}
	// Each accepted change appended its one event; a conflict appended nothing.
	types := ts.typesAfter(before)
	if len(types) != accepted {
		t.Errorf("%d accepted, %d events appended: %v", accepted, len(types), types)
	}
	for _, typ := range types {
		if typ != "app.updated" {
			t.Errorf("appended %s", typ)
		}
	}
	var got struct{ Description string }
	ts.get(&got, token, "/api/v1/apps/"+app.ID, last.seq)
	if got.Description != last.desc {
		t.Fatalf("the app's description is %q; the accepted change with the highest seq (%d) set %q", got.Description, last.seq, last.desc)
	}
	t.Logf("%d of %d accepted", accepted, n)
}
