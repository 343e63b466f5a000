package api

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestE2EIdempotencyKey: the same key answers the same body and appends nothing; the same
// key with another request is 422.
func TestE2EIdempotencyKey(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	f := ts.fixture()
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }
	petstore := readPetstore(t)

	requests := []struct {
		name      string
		req, diff e2eReq // the command, and another request under the same key
	}{
		{"create app",
			e2eReq{method: "POST", path: "/api/v1/apps", json: map[string]any{"name": "once", "environments": testEnvs}},
			e2eReq{method: "POST", path: "/api/v1/apps", json: map[string]any{"name": "twice", "environments": testEnvs}}},
		{"update app",
			e2eReq{method: "PATCH", path: "/api/v1/apps/" + f.app, json: map[string]any{"description": "v1"}},
			e2eReq{method: "PATCH", path: "/api/v1/apps/" + f.app, json: map[string]any{"description": "v2"}}},
		{"define interface",
			e2eReq{method: "POST", path: "/api/v1/apps/" + f.app + "/interfaces", json: ifaceDef("once")},
			e2eReq{method: "POST", path: "/api/v1/apps/" + f.app + "/interfaces", json: ifaceDef("twice")}},
		{"add case",
			e2eReq{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/cases", json: caseDef("once")},
			e2eReq{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/cases", json: caseDef("twice")}},
		{"submit batch",
			e2eReq{method: "POST", path: "/api/v1/apps/" + f.app + "/batches", json: map[string]any{"concurrency": 1}},
			e2eReq{method: "POST", path: "/api/v1/apps/" + f.app + "/batches", json: map[string]any{"concurrency": 2}}},
		{"import",
			e2eReq{method: "POST", path: "/api/v1/apps/" + f.app + "/imports", raw: petstore, ctype: "application/yaml"},
			e2eReq{method: "POST", path: "/api/v1/apps/" + f.app + "/imports", raw: append(bytes.Clone(petstore), "\nx-other: 1\n"...), ctype: "application/yaml"}},
		{"cancel, then the same key on another path",
			e2eReq{method: "POST", path: "/api/v1/batches/" + f.batch + "/cancel"},
			e2eReq{method: "DELETE", path: "/api/v1/apps/" + f.app}},
	}
	for n, r := range requests {
		k := key("key-" + strconv.Itoa(n))
		r.req.token, r.diff.token, r.req.header, r.diff.header = f.token, f.token, k, k
		first := ts.must(http.StatusAccepted, nil, r.req)
		if first.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("%s: the first answer says it is replayed", r.name)
		}
		before := ts.lastSeq()
		again := ts.must(http.StatusAccepted, nil, r.req)
		if !bytes.Equal(again.body, first.body) || again.header.Get("Location") != first.header.Get("Location") ||
			again.header.Get(headerSeq) != first.header.Get(headerSeq) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s: the retry answered %s (%v), the first %s (%v)", r.name, again.body, again.header, first.body, first.header)
		}
		if after := ts.lastSeq(); after != before {
			t.Errorf("%s: the retry appended %v", r.name, ts.typesAfter(before))
		}
		diff := ts.must(http.StatusUnprocessableEntity, nil, r.diff)
		if p := diff.problem(t); !p.hasField("Idempotency-Key") {
			t.Errorf("%s: another request under the key: %s", r.name, diff.body)
		}
		if after := ts.lastSeq(); after != before {
			t.Errorf("%s: another request under the key appended %v", r.name, ts.typesAfter(before))
		}
	}

	// A request that failed does not hold its key: corrected, it goes through.
	bad := e2eReq{method: "POST", path: "/api/v1/apps", token: f.token, header: key("fix-me"), json: map[string]any{"name": "no environments"}}
	ts.must(http.StatusUnprocessableEntity, nil, bad)
	bad.json = map[string]any{"name": "no environments", "environments": testEnvs}
	ts.must(http.StatusAccepted, nil, bad)
}

// TestE2EBatchWithoutCases: a batch that selects no enabled case is 422 and appends nothing.
func TestE2EBatchWithoutCases(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	f := ts.fixture()
	empty := ts.createApp(f.token, "no cases")
	ts.command("POST", "/api/v1/apps/"+empty.ID+"/interfaces", f.token, ifaceDef("no cases yet"))
	ts.command("PATCH", "/api/v1/cases/"+f.kase+"?min_seq="+u64(f.seq), f.token, map[string]any{"enabled": false})
	for _, r := range []e2eReq{
		{method: "POST", path: "/api/v1/apps/" + empty.ID + "/batches", json: map[string]any{}},
		{method: "POST", path: "/api/v1/apps/" + empty.ID + "/batches"},
		{method: "POST", path: "/api/v1/apps/" + f.app + "/batches", json: map[string]any{}},
		{method: "POST", path: "/api/v1/apps/" + f.app + "/batches", json: map[string]any{"case_ids": []string{f.kase}}},
		{method: "POST", path: "/api/v1/apps/" + f.app + "/batches", json: map[string]any{"interface_ids": []string{f.iface}}},
	} {
		r.token = f.token
		before := ts.lastSeq()
		a := ts.must(http.StatusUnprocessableEntity, nil, r)
		if p := a.problem(t); len(p.Errors) == 0 {
			t.Errorf("%s %s: no field named: %s", r.method, r.path, a.body)
		}
		if after := ts.lastSeq(); after != before {
			t.Errorf("%s %s appended %v", r.method, r.path, ts.typesAfter(before))
		}
	}
}

// TestE2EReadYourWrites: a command's seq as min_seq (or X-Assay-Min-Seq) makes the next
// query see the write, for every kind of command.
func TestE2EReadYourWrites(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	for n := range 5 {
		name := "app " + strconv.Itoa(n)
		a := ts.createApp(token, name)
		var app struct{ Name string }
		ts.get(&app, token, "/api/v1/apps/"+a.ID, a.Seq)
		if app.Name != name {
			t.Fatalf("GET after create: %q", app.Name)
		}
		u := ts.updateApp(token, a.ID, "changed "+name)
		var got struct{ Description string }
		ans := ts.must(http.StatusOK, &got, e2eReq{method: "GET", path: "/api/v1/apps/" + a.ID, token: token,
			header: map[string]string{"X-Assay-Min-Seq": u64(u.Seq)}})
		if got.Description != "changed "+name {
			t.Fatalf("GET after PATCH with X-Assay-Min-Seq: %q", got.Description)
		}
		if seq, _ := strconv.ParseUint(ans.header.Get(headerSeq), 10, 64); seq < u.Seq {
			t.Fatalf("X-Assay-Seq %d, below the min_seq %d", seq, u.Seq)
		}
		i := ts.command("POST", "/api/v1/apps/"+a.ID+"/interfaces", token, ifaceDef("i"))
		k := ts.command("POST", "/api/v1/interfaces/"+i.ID+"/cases", token, caseDef("k"))
		// A case is addressed through the read side: min_seq on the command itself.
		ku := ts.command("PATCH", "/api/v1/cases/"+k.ID+"?min_seq="+u64(k.Seq), token, map[string]any{"priority": "P0"})
		var kase struct{ Priority string }
		ts.get(&kase, token, "/api/v1/cases/"+k.ID, ku.Seq)
		if kase.Priority != "P0" {
			t.Fatalf("GET case after PATCH: %q", kase.Priority)
		}
		b := ts.command("POST", "/api/v1/apps/"+a.ID+"/batches", token, nil)
		var list struct{ Items []struct{ ID string } }
		ts.get(&list, token, "/api/v1/apps/"+a.ID+"/batches", b.Seq)
		if len(list.Items) != 1 || list.Items[0].ID != b.ID {
			t.Fatalf("batches after submit: %+v", list)
		}
	}
}

// TestE2EMinSeqInTheFuture: a sequence the read side does not reach in time is 503 with
// Retry-After, after the wait.
func TestE2EMinSeqInTheFuture(t *testing.T) {
	t.Parallel()
	const wait = 150 * time.Millisecond
	ts := newTestServer(t, func(c *Config) { c.MinSeqWait = wait })
	_, token := ts.signUp()
	for _, r := range []e2eReq{
		{method: "GET", path: "/api/v1/apps?min_seq=1000000"},
		{method: "GET", path: "/api/v1/me", header: map[string]string{"X-Assay-Min-Seq": "1000000"}},
		{method: "PATCH", path: "/api/v1/cases/01a2159b-148a-73ba-81b8-0c67c491a268?min_seq=1000000", json: map[string]any{"name": "x"}},
	} {
		r.token = token
		before := ts.lastSeq()
		start := time.Now()
		a := ts.must(http.StatusServiceUnavailable, nil, r)
		if took := time.Since(start); took < wait {
			t.Errorf("%s %s: answered after %s, before the wait of %s", r.method, r.path, took, wait)
		}
		if a.header.Get("Retry-After") == "" || !strings.Contains(a.problem(t).Detail, "1000000") {
			t.Errorf("%s %s: %v %s", r.method, r.path, a.header, a.body)
		}
		if after := ts.lastSeq(); after != before {
			t.Errorf("%s %s appended %v", r.method, r.path, ts.typesAfter(before))
		}
	}
}

// TestE2ERateLimit: past the budget a command is 429 with Retry-After and appends nothing;
// queries and other users are not limited.
func TestE2ERateLimit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.RatePerSecond, c.RateBurst = 0.01, 2 })
	_, token := ts.signUp()
	_, other := ts.signUp()
	a := ts.createApp(token, "one")
	updated := ts.updateApp(token, a.ID, "two")
	before := ts.lastSeq()
	for _, r := range []e2eReq{
		{method: "PATCH", path: "/api/v1/apps/" + a.ID, json: map[string]any{"description": "three"}},
		{method: "POST", path: "/api/v1/apps", json: map[string]any{"name": "x", "environments": testEnvs}},
		{method: "POST", path: "/api/v1/apps/" + a.ID + "/imports", raw: readPetstore(t), ctype: "application/yaml"},
		{method: "DELETE", path: "/api/v1/apps/" + a.ID},
	} {
		r.token = token
		ans := ts.must(http.StatusTooManyRequests, nil, r)
		if n, err := strconv.Atoi(ans.header.Get("Retry-After")); err != nil || n < 1 || n > 100 {
			t.Errorf("%s %s: Retry-After %q", r.method, r.path, ans.header.Get("Retry-After"))
		}
	}
	if after := ts.lastSeq(); after != before {
		t.Errorf("rate-limited commands appended %v", ts.typesAfter(before))
	}
	// Queries are not rate-limited; read once the read side has the app (it lagged once).
	ts.get(nil, token, "/api/v1/apps/"+a.ID, updated.Seq)
	ts.createApp(other, "another user's budget")
}

// TestE2EIdempotencyKeyConcurrent: the same POST sent ten times at once with one key
// creates one app; every other answer is its replay or 409 (the first is still running).
func TestE2EIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	before := ts.lastSeq()
	const n = 10
	answers := make([]e2eAnswer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			a, err := ts.trySend(t.Context(), e2eReq{method: "POST", path: "/api/v1/apps", token: token,
				header: map[string]string{"Idempotency-Key": "once"}, json: map[string]any{"name": "once", "environments": testEnvs}})
			if err != nil {
				t.Error(err)
			}
			answers[i] = a
		})
	}
	close(start)
	wg.Wait()
	var first []byte
	for i, a := range answers {
		switch a.status {
		case http.StatusAccepted:
			if first == nil {
				first = a.body
			}
			if !bytes.Equal(a.body, first) {
				t.Errorf("answer %d: %s, another: %s", i, a.body, first)
			}
		case http.StatusConflict:
		default:
			t.Errorf("answer %d: %d %s", i, a.status, a.body)
		}
	}
	if types := ts.typesAfter(before); len(types) != 1 || types[0] != "app.created" {
		t.Fatalf("ten requests with one key appended %v", types)
	}
}

// TestE2EIdempotencyKeyExpires: after 24 h a key is forgotten, and a request that reuses it
// is a new request: its change is made.
func TestE2EIdempotencyKeyExpires(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	app := ts.createApp(token, "expiring")
	key := map[string]string{"Idempotency-Key": "nightly"}
	ts.must(http.StatusAccepted, nil, e2eReq{method: "PATCH", path: "/api/v1/apps/" + app.ID, token: token, header: key,
		json: map[string]any{"description": "monday"}})
	// A day and more passes.
	if _, err := ts.srv.deps.DB.NewUpdate().Table("idempotency_keys").Set("created_at = ?", time.Now().UTC().Add(-25*time.Hour)).
		Where("1 = 1").Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	var a acceptedBody
	ans := ts.must(http.StatusAccepted, &a, e2eReq{method: "PATCH", path: "/api/v1/apps/" + app.ID, token: token, header: key,
		json: map[string]any{"description": "wednesday"}})
	if ans.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("a request under an expired key was replayed")
	}
	var got struct{ Description string }
	ts.get(&got, token, "/api/v1/apps/"+app.ID, a.Seq)
	if got.Description != "wednesday" {
		t.Fatalf("after a request under an expired key the description is %q", got.Description)
	}
}
