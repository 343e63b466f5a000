package tables_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/uptrace/bun/dialect"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections/tables"
)

const benchPer = 1000 // events per Apply

var benchOutcomes = []string{batch.Passed, batch.Passed, batch.Passed, batch.Failed, batch.Errored}

// BenchmarkApplyResults applies batches of 1,000 batch.case_executed events (the rebuild's
// hot path) to MariaDB. Compare its events/s with BenchmarkCeilingPreparedInsert's rows/s.
//
//	go test ./projections/tables -run '^$' -bench . -benchtime 200x
func BenchmarkApplyResults(b *testing.B) {
	db := openMySQL(b)
	p, ctx := tables.New(db), context.Background()
	h := &history{}
	h.add(app.Created{AppID: "a1", OwnerID: ownerU1, App: app.Definition{Name: "bench"}, At: h.next()})
	h.add(batch.Submitted{AppID: "a1", BatchID: batchB1, OwnerID: ownerU1, At: h.next()})
	apply(b, p, h.events)
	cp, _ := p.Checkpoint(ctx)
	seq := h.seq
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		events := make([]domain.Envelope, benchPer)
		for j := range events {
			seq++
			e := executed(batchB1, fmt.Sprintf("case-%09d", seq), benchOutcomes[seq%5], float64(seq%300), at(seq))
			events[j] = domain.Envelope{ID: fmt.Sprint(seq), Type: e.EventType(), Version: 1, Subject: e.Subject(), Time: at(seq), Seq: seq, Data: e}
		}
		b.StartTimer()
		if err := p.Apply(ctx, cp.Epoch, events, seq); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchPer)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkCeilingPreparedInsert is the ceiling: raw prepared 500-row multi-row INSERTs of
// rows like api_result's (same columns, same JSON), two per transaction, into a scratch
// table with api_result's DDL.
func BenchmarkCeilingPreparedInsert(b *testing.B) {
	db := openMySQL(b)
	ctx := context.Background()
	def, _ := migrations.Lookup("api_result")
	if _, err := db.ExecContext(ctx, migrations.CreateTable(dialect.MySQL, def, "scratch_result")); err != nil {
		b.Fatal(err)
	}
	cols := make([]string, len(def.Columns))
	for i, c := range def.Columns {
		cols[i] = "`" + c.Name + "`"
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	stmt, err := db.DB.PrepareContext(ctx, "INSERT INTO scratch_result ("+strings.Join(cols, ",")+") VALUES "+
		strings.TrimSuffix(strings.Repeat(row+",", 500), ","))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stmt.Close() }()
	seq := uint64(0)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		args := make([][]any, 2)
		for half := range args {
			for range 500 {
				seq++
				args[half] = append(args[half], resultArgs(seq)...)
			}
		}
		b.StartTimer()
		tx, err := db.DB.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range args {
			if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, a...); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchPer)/b.Elapsed().Seconds(), "rows/s")
}

// resultArgs are the column values the projection stores for executed(…) at seq.
func resultArgs(seq uint64) []any {
	e := executed(batchB1, fmt.Sprintf("case-%09d", seq), benchOutcomes[seq%5], float64(seq%300), at(seq))
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	return []any{e.BatchID, e.CaseID, e.AppID, ownerU1, e.InterfaceID, e.Outcome, e.StatusCode, e.DurationMS,
		js(e.Assertions), e.Error, js(e.Request), js(e.Response), "{}", e.Runner, e.At.UTC(), seq}
}
