package tables_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/domain/user"
	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections/tables"
)

type opener func(t testing.TB) *bun.DB

func openSQLite(t testing.TB) *bun.DB {
	db, err := migrations.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "assay.db"))
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, db)
}

func openMySQL(t testing.TB) *bun.DB {
	db, err := migrations.OpenMySQL(context.Background(), testenv.NewMySQLDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, db)
}

func migrated(t testing.TB, db *bun.DB) *bun.DB {
	t.Cleanup(func() { _ = db.Close() })
	if err := migrations.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// history builds envelopes as the store would deliver them.
type history struct {
	seq    uint64
	events []domain.Envelope
}

// base is a time in another zone, with nanoseconds, to check normalisation to UTC µs.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

func at(seq uint64) time.Time { return base.Add(time.Duration(seq) * time.Second) }

// add appends an event; its `at` must be at(seq) of the returned seq for tests to predict it.
func (h *history) add(e domain.Event) uint64 {
	h.seq++
	h.events = append(h.events, domain.Envelope{ID: fmt.Sprintf("ev-%d", h.seq), Type: e.EventType(), Version: 1,
		Subject: e.Subject(), Time: at(h.seq), Seq: h.seq, Data: e})
	return h.seq
}

func (h *history) next() time.Time { return at(h.seq + 1) }

func apply(t testing.TB, p *tables.Tables, events []domain.Envelope) {
	t.Helper()
	ctx := context.Background()
	cp, err := p.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	through := cp.Seq
	if n := len(events); n > 0 {
		through = max(through, events[n-1].Seq)
	}
	if err := p.Apply(ctx, cp.Epoch, events, through); err != nil {
		t.Fatal(err)
	}
}

func checksum(t testing.TB, p *tables.Tables) map[string]string {
	t.Helper()
	sums, err := p.Checksum(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

func schema(s string) json.RawMessage { return json.RawMessage(s) }

func kase(id, name, class string, enabled bool) testcase.Case {
	return testcase.Case{ID: id, InterfaceID: "i1", Name: name, Class: class, Priority: "P1", Enabled: enabled,
		Request:    testcase.Request{Method: "GET", Path: "/pets/{id}", PathParams: map[string]any{"id": 7}},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200}}}
}

// Names that look like SQL and Unicode that must round-trip exactly.
const (
	appName   = "Shop 🛒 Ünïcødé 名前 '; DROP TABLE apps; -- \\ \"x\" `y`"
	caseName  = "naïve café — ' OR 1=1 --"
	ownerU1   = "u1"
	ownerU2   = "u2"
	batchB1   = "b1"
	batchB2   = "b2"
	results1  = 3
	analysis1 = `{"pass_rate":0.33,"clusters":[{"name":"5xx"}]}`
)

// fullHistory uses every event type of the catalog: two users, two apps (one archived),
// two interfaces (one deleted), generated and manual cases, a finished batch with its
// analysis, report and emails, and a canceled batch.
func fullHistory() *history {
	h := &history{}
	h.add(user.Registered{UserID: ownerU1, Email: "ann@example.com", Name: "Ann Ånström", At: h.next()})
	h.add(user.Registered{UserID: ownerU2, Email: "bob@example.com", Name: "Bob", At: h.next()})
	def := app.Definition{Name: "Shop", Environments: []app.Environment{{Name: "staging", BaseURL: "https://staging.example.com",
		Headers: map[string]string{"X-Env": "staging"}}}, DefaultEnvironment: "staging", NotifyEmails: []string{"ann@example.com"}}
	h.add(app.Created{AppID: "a1", OwnerID: ownerU1, App: def, At: h.next()})
	def.Name = appName
	h.add(app.Updated{AppID: "a1", OwnerID: ownerU1, App: def, Changed: []string{"name"}, At: h.next()})
	h.add(app.Created{AppID: "a2", OwnerID: ownerU1, App: def, At: h.next()})
	h.add(app.Archived{AppID: "a2", OwnerID: ownerU1, At: h.next()})
	h.add(app.Created{AppID: "a3", OwnerID: ownerU2, App: def, At: h.next()})
	idef := iface.Definition{Name: "Get pet", Method: "GET", Path: "/pets/{id}",
		PathParams: schema(`{"type":"object","properties":{"id":{"type":"integer"}}}`),
		Responses:  map[string]iface.Response{"200": {Description: "a pet <b>", Schema: schema(`{"type":"object"}`)}},
		Source:     "openapi", SourceKey: "GET /pets/{id}"}
	h.add(iface.Defined{AppID: "a1", InterfaceID: "i1", OwnerID: ownerU1, Interface: idef, Version: 1, At: h.next()})
	idef.Description = "Returns one pet"
	h.add(iface.Updated{AppID: "a1", InterfaceID: "i1", Interface: idef, Changed: []string{"description"}, Version: 2, At: h.next()})
	h.add(iface.Defined{AppID: "a1", InterfaceID: "i2", OwnerID: ownerU1, Interface: idef, Version: 1, At: h.next()})
	h.add(iface.Deleted{AppID: "a1", InterfaceID: "i2", At: h.next()})
	h.add(iface.CasesGenerationRequested{AppID: "a1", InterfaceID: "i1", GenerationID: "g1", InterfaceVersion: 2,
		Options: iface.GenerationOptions{Generator: "auto", MaxCases: 50}, At: h.next()})
	c1, c2, c3 := kase("c1", caseName, "valid", true), kase("c2", "boundary", "boundary", true), kase("c3", "missing", "missing_required", true)
	for _, c := range []*testcase.Case{&c1, &c2, &c3} {
		c.Source, c.GenerationID = "rules", "g1"
	}
	c1.Extract = map[string]string{"pet": "body.id"}
	h.add(iface.CasesGenerated{AppID: "a1", InterfaceID: "i1", GenerationID: "g1", Cases: []testcase.Case{c1, c2, c3},
		Info: iface.GenerationInfo{Generator: "rules", DurationMS: 12, FallbackReason: "no LLM key"}, At: h.next()})
	c4 := kase("c4", "manual", "custom", true)
	c4.Source = "manual"
	h.add(iface.CaseAdded{AppID: "a1", InterfaceID: "i1", Case: c4, At: h.next()})
	c1.Name = caseName + " (edited)"
	h.add(iface.CaseUpdated{AppID: "a1", InterfaceID: "i1", Case: c1, Changed: []string{"name"}, At: h.next()})
	h.add(iface.CaseDeleted{AppID: "a1", InterfaceID: "i1", CaseID: "c2", At: h.next()})
	h.add(iface.CasesGenerationRequested{AppID: "a1", InterfaceID: "i1", GenerationID: "g2", InterfaceVersion: 2,
		Options: iface.GenerationOptions{Generator: "llm", MaxCases: 5}, At: h.next()})
	h.add(iface.CasesGenerationFailed{AppID: "a1", InterfaceID: "i1", GenerationID: "g2", Reason: "model refused", At: h.next()})
	batchHistory(h, []testcase.Case{c1, c3, c4})
	return h
}

func batchHistory(h *history, cases []testcase.Case) {
	env := app.Environment{Name: "staging", BaseURL: "https://staging.example.com"}
	h.add(batch.Submitted{AppID: "a1", BatchID: batchB1, OwnerID: ownerU1, Environment: env, Cases: cases,
		Settings: batch.Settings{Concurrency: 10, TimeoutMS: 30000}, At: h.next()})
	for _, c := range cases {
		h.add(batch.CaseExecutionRequested{AppID: "a1", BatchID: batchB1, CaseID: c.ID, InterfaceID: "i1",
			Request: batch.HTTPRequest{Method: "GET", URL: "https://staging.example.com/pets/7"}, At: h.next()})
	}
	outcomes := []string{batch.Passed, batch.Failed, batch.Errored}
	for i, c := range cases {
		h.add(executed(batchB1, c.ID, outcomes[i], float64(10*(i+1)), h.next()))
	}
	h.add(batch.Completed{AppID: "a1", BatchID: batchB1, Totals: batch.Totals{Total: 3, Passed: 1, Failed: 1, Errored: 1},
		DurationMS: 1500, Latency: latency, At: h.next()})
	h.add(batch.AnalysisRequested{AppID: "a1", BatchID: batchB1, At: h.next()})
	h.add(batch.Analyzed{AppID: "a1", BatchID: batchB1, Analysis: schema(analysis1), Narrator: "rules", Revision: 1, At: h.next()})
	h.add(batch.ReportGenerated{AppID: "a1", BatchID: batchB1, Formats: []string{"html", "json"},
		Digests: map[string]string{"html": "ab12"}, AsOfSeq: h.seq, Revision: 1, At: h.next()})
	h.add(batch.NotificationRequested{AppID: "a1", BatchID: batchB1, Emails: []string{"ann@example.com"}, At: h.next()})
	h.add(batch.NotificationFailed{AppID: "a1", BatchID: batchB1, Recipients: []string{"ann@example.com"}, Reason: "smtp down", Attempts: 3, At: h.next()})
	h.add(batch.NotificationSkipped{AppID: "a1", BatchID: batchB1, Reason: "no smtp host", At: h.next()})
	h.add(batch.NotificationSent{AppID: "a1", BatchID: batchB1, Recipients: []string{"ann@example.com"}, Attempts: 1, At: h.next()})
	h.add(batch.Submitted{AppID: "a1", BatchID: batchB2, OwnerID: ownerU1, Environment: env, Cases: cases[:2], At: h.next()})
	h.add(batch.CanceledEvent{AppID: "a1", BatchID: batchB2, At: h.next()})
	h.add(executed(batchB2, cases[0].ID, batch.Passed, 5, h.next()))
	h.add(batch.Completed{AppID: "a1", BatchID: batchB2, Totals: batch.Totals{Total: 2, Passed: 1, Canceled: 1},
		DurationMS: 50, Latency: batch.Latency{P50: 5, P95: 5, P99: 5}, Canceled: true, At: h.next()})
}

// latency has floats whose decimal forms are long: they must survive being read back and
// written again (the live tables do that; a rebuild may write them once).
var latency = batch.Latency{P50: 0.1 + 0.2, P95: 1.0 / 3, P99: 123456.78901234567}

func executed(b, c, outcome string, ms float64, when time.Time) batch.CaseExecuted {
	return batch.CaseExecuted{AppID: "a1", BatchID: b, CaseID: c, InterfaceID: "i1", Outcome: outcome, StatusCode: 200,
		DurationMS: ms, Assertions: []assert.Evaluated{{Target: "status", Op: "eq", Expected: 200, Actual: 200, Passed: true, Message: "ok"}},
		Request:  batch.HTTPRequest{Method: "GET", URL: "https://staging.example.com/pets/7", Headers: map[string]string{"Accept": "application/json"}},
		Response: batch.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"id":7,"name":"Rex"}`},
		Runner:   "runner-1", At: when}
}
