package tables_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/projections/tables"
)

func utc(seq uint64) time.Time { return at(seq).UTC().Truncate(time.Microsecond) }

func seqOf(t *testing.T, h *history, typ string, nth int) uint64 {
	t.Helper()
	for _, e := range h.events {
		if e.Type == typ {
			if nth == 0 {
				return e.Seq
			}
			nth--
		}
	}
	t.Fatalf("no %s in the history", typ)
	return 0
}

func sameJSON(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s is not JSON: %v", what, got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("%s: %v, want ErrNotFound", what, err)
	}
}

func testReads(t *testing.T, open opener) {
	db := open(t)
	h := fullHistory()
	apply(t, tables.New(db), h.events)
	r, ctx := tables.NewReader(db), context.Background()

	if u, err := r.GetUser(ctx, ownerU1); err != nil || u != (tables.User{ID: ownerU1, Email: "ann@example.com", Name: "Ann Ånström"}) {
		t.Errorf("GetUser = %+v, %v", u, err)
	}
	a, err := r.GetApp(ctx, ownerU1, "a1")
	if err != nil || a.Name != appName || a.Archived || a.DefaultEnvironment != "staging" ||
		!a.CreatedAt.Equal(utc(3)) || !a.UpdatedAt.Equal(utc(4)) {
		t.Errorf("GetApp = %+v, %v", a, err)
	}
	sameJSON(t, "environments", a.Environments, `[{"name":"staging","base_url":"https://staging.example.com","headers":{"X-Env":"staging"}}]`)
	sameJSON(t, "notify_emails", a.NotifyEmails, `["ann@example.com"]`)
	_, err = r.GetApp(ctx, ownerU2, "a1")
	notFound(t, "another user's app", err)
	apps, err := r.ListApps(ctx, ownerU1, tables.Page{})
	if err != nil || len(apps.Items) != 1 || apps.Items[0].ID != "a1" || apps.Next != "" {
		t.Errorf("ListApps (a2 is archived) = %+v, %v", apps, err)
	}
	if a2, err := r.GetApp(ctx, ownerU1, "a2"); err != nil || !a2.Archived {
		t.Errorf("an archived app is still readable: %+v, %v", a2, err)
	}

	i, err := r.GetInterface(ctx, ownerU1, "i1")
	if err != nil || i.Version != 2 || i.Description != "Returns one pet" || i.AppID != "a1" || i.SourceKey != "GET /pets/{id}" {
		t.Errorf("GetInterface = %+v, %v", i, err)
	}
	sameJSON(t, "path_params", i.PathParams, `{"type":"object","properties":{"id":{"type":"integer"}}}`)
	sameJSON(t, "responses", i.Responses, `{"200":{"description":"a pet <b>","schema":{"type":"object"}}}`)
	sameJSON(t, "body", i.Body, `null`)
	_, err = r.GetInterface(ctx, ownerU1, "i2")
	notFound(t, "a deleted interface", err)
	if l, err := r.ListInterfaces(ctx, ownerU1, "a1", tables.Page{}); err != nil || len(l.Items) != 1 || l.Items[0].ID != "i1" {
		t.Errorf("ListInterfaces = %+v, %v", l, err)
	}
	_, err = r.ListInterfaces(ctx, ownerU2, "a1", tables.Page{})
	notFound(t, "another user's app's interfaces", err)
	if k, err := r.InterfaceBySourceKey(ctx, ownerU1, "a1", "GET /pets/{id}"); err != nil || k.ID != "i1" {
		t.Errorf("InterfaceBySourceKey = %+v, %v", k, err)
	}
	if id, err := r.AppOfInterface(ctx, ownerU1, "i1"); err != nil || id != "a1" {
		t.Errorf("AppOfInterface = %q, %v", id, err)
	}

	g, err := r.GetGeneration(ctx, ownerU1, "g1")
	if err != nil || g.Status != "done" || g.Generator != "rules" || g.FallbackReason != "no LLM key" || g.DurationMS == nil || *g.DurationMS != 12 {
		t.Errorf("GetGeneration g1 = %+v, %v", g, err)
	}
	sameJSON(t, "case_ids", g.CaseIDs, `["c1","c2","c3"]`)
	if g, err := r.GetGeneration(ctx, ownerU1, "g2"); err != nil || g.Status != "failed" || g.Reason != "model refused" || g.Generator != "llm" {
		t.Errorf("GetGeneration g2 = %+v, %v", g, err)
	}
	readCases(t, r)
	readBatches(t, r, h)
}

func readCases(t *testing.T, r *tables.Reader) {
	ctx := context.Background()
	var ids []string
	page := tables.Page{Limit: 1}
	for {
		l, err := r.ListCases(ctx, ownerU1, "i1", page)
		if err != nil {
			t.Fatalf("ListCases: %v", err)
		}
		for _, c := range l.Items {
			ids = append(ids, c.ID)
		}
		if l.Next == "" {
			break
		}
		page.Cursor = l.Next
	}
	if !reflect.DeepEqual(ids, []string{"c1", "c3", "c4"}) {
		t.Errorf("ListCases pages = %v, want c1 c3 c4 (c2 deleted)", ids)
	}
	c, err := r.GetCase(ctx, ownerU1, "c1")
	if err != nil || c.Name != caseName+" (edited)" || c.Class != "valid" || c.Source != "rules" || c.GenerationID != "g1" {
		t.Errorf("GetCase = %+v, %v", c, err)
	}
	sameJSON(t, "request", c.Request, `{"method":"GET","path":"/pets/{id}","path_params":{"id":7},"query":{},"headers":{},"body":null}`)
	sameJSON(t, "assertions", c.Assertions, `[{"target":"status","op":"eq","value":200}]`)
	sameJSON(t, "extract", c.Extract, `{"pet":"body.id"}`)
	_, err = r.GetCase(ctx, ownerU1, "c2")
	notFound(t, "a deleted case", err)
	_, err = r.GetCase(ctx, ownerU2, "c1")
	notFound(t, "another user's case", err)
	_, err = r.ListCases(ctx, ownerU1, "i1", tables.Page{Cursor: "garbage"})
	if !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("a bad cursor: %v, want ErrInvalid", err)
	}
}

func readBatches(t *testing.T, r *tables.Reader, h *history) {
	ctx := context.Background()
	b, err := r.GetBatch(ctx, ownerU1, batchB1)
	done := utc(seqOf(t, h, "batch.completed", 0))
	want := tables.Batch{ID: batchB1, AppID: "a1", Environment: "staging", Status: "reported", Total: 3, Passed: 1,
		Failed: 1, Errored: 1, StartedAt: utc(seqOf(t, h, "batch.submitted", 0)), Latency: tables.Latency(latency)}
	if err != nil || b.CompletedAt == nil || !b.CompletedAt.Equal(done) || b.DurationMS == nil || *b.DurationMS != 1500 {
		t.Fatalf("GetBatch = %+v, %v", b, err)
	}
	b.CompletedAt, b.DurationMS, b.StartedAt = nil, nil, b.StartedAt.UTC()
	if !reflect.DeepEqual(b, want) {
		t.Errorf("GetBatch = %+v\nwant %+v", b, want)
	}
	if b2, err := r.GetBatch(ctx, ownerU1, batchB2); err != nil || b2.Status != "canceled" || b2.Canceled != 1 || b2.Passed != 1 {
		t.Errorf("GetBatch b2 = %+v, %v", b2, err)
	}
	l, err := r.ListBatches(ctx, ownerU1, "a1", tables.Page{Limit: 1})
	if err != nil || len(l.Items) != 1 || l.Items[0].ID != batchB2 || l.Next == "" {
		t.Fatalf("ListBatches newest first = %+v, %v", l, err)
	}
	if l, err = r.ListBatches(ctx, ownerU1, "a1", tables.Page{Limit: 1, Cursor: l.Next}); err != nil || len(l.Items) != 1 || l.Items[0].ID != batchB1 {
		t.Errorf("ListBatches page 2 = %+v, %v", l, err)
	}
	res, err := r.ListResults(ctx, ownerU1, batchB1, "", tables.Page{})
	if err != nil || len(res.Items) != results1 || res.Items[0].CaseID != "c1" || res.Items[0].Outcome != "passed" {
		t.Fatalf("ListResults = %+v, %v", res, err)
	}
	sameJSON(t, "result request", res.Items[0].Request, `{"method":"GET","url":"https://staging.example.com/pets/7","headers":{"Accept":"application/json"},"body":""}`)
	sameJSON(t, "result response", res.Items[0].Response, `{"status":200,"headers":{"Content-Type":"application/json"},"body":"{\"id\":7,\"name\":\"Rex\"}"}`)
	if f, err := r.ListResults(ctx, ownerU1, batchB1, "failed", tables.Page{}); err != nil || len(f.Items) != 1 || f.Items[0].CaseID != "c3" {
		t.Errorf("ListResults failed = %+v, %v", f, err)
	}
	_, err = r.ListResults(ctx, ownerU2, batchB1, "", tables.Page{})
	notFound(t, "another user's results", err)
	an, err := r.GetAnalysis(ctx, ownerU1, batchB1)
	if err != nil || an.Revision != 1 || an.Narrator != "rules" {
		t.Errorf("GetAnalysis = %+v, %v", an, err)
	}
	sameJSON(t, "analysis", an.Analysis, analysis1)
	rep, err := r.GetReport(ctx, ownerU1, batchB1)
	if err != nil || rep.Revision != 1 || rep.Notification == nil || rep.Notification.Status != "sent" || rep.Notification.Attempts != 1 {
		t.Errorf("GetReport = %+v, %v", rep, err)
	}
	_, err = r.GetReport(ctx, ownerU1, batchB2)
	notFound(t, "a batch without a report", err)
	if seq, err := r.AppliedSeq(ctx); err != nil || seq != h.seq {
		t.Errorf("AppliedSeq = %d, %v", seq, err)
	}
}
