package tables

import (
	"context"
	"fmt"
	"slices"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
)

// GetBatch is one of the owner's batches.
func (r *Reader) GetBatch(ctx context.Context, owner, id string) (Batch, error) {
	var row batchRow
	if err := one(ctx, r.sel(&row, "api_testbatch").Where("r.id = ? AND r.owner_id = ?", id, owner), "batch", id); err != nil {
		return Batch{}, err
	}
	return batchOf(row), nil
}

// AppOfBatch is the app of one of the owner's batches.
func (r *Reader) AppOfBatch(ctx context.Context, owner, id string) (string, error) {
	b, err := r.GetBatch(ctx, owner, id)
	return b.AppID, err
}

// ListBatches lists an app's batches, newest first.
func (r *Reader) ListBatches(ctx context.Context, owner, app string, p Page) (List[Batch], error) {
	limit, err := p.limit()
	if err != nil {
		return List[Batch]{}, err
	}
	c, ok, err := p.cursor()
	if err != nil {
		return List[Batch]{}, err
	}
	if _, err := r.GetApp(ctx, owner, app); err != nil {
		return List[Batch]{}, err
	}
	var rows []batchRow
	q := r.sel(&rows, "api_testbatch").Where("r.app_id = ? AND r.owner_id = ?", app, owner)
	if ok {
		q = q.Where("r.created_seq < ?", c.seq)
	}
	if err := q.OrderExpr("r.created_seq DESC").Limit(int64(limit) + 1).Scan(ctx); err != nil {
		return List[Batch]{}, fmt.Errorf("tables: list batches of %q: %w", app, err)
	}
	return pageOf(rows, limit, batchOf, func(b batchRow) cursor { return cursor{seq: b.CreatedSeq} }), nil
}

func batchOf(b batchRow) Batch {
	out := Batch{ID: b.ID, AppID: b.AppID, Environment: b.Environment, Status: b.Status, Total: b.Total,
		Passed: b.Passed, Failed: b.Failed, Errored: b.Errored, Canceled: b.Canceled, StartedAt: b.StartedAt,
		Latency: Latency{P50: b.P50, P95: b.P95, P99: b.P99}}
	if !b.CompletedAt.IsZero() {
		at, d := b.CompletedAt, b.DurationMS
		out.CompletedAt, out.DurationMS = &at, &d
	}
	return out
}

// Outcomes a result list may be filtered by.
var Outcomes = []string{batch.Passed, batch.Failed, batch.Errored, batch.Canceled}

// ListResults lists a batch's results in the order they were recorded, all of them or
// those of one outcome.
func (r *Reader) ListResults(ctx context.Context, owner, batchID, outcome string, p Page) (List[Result], error) {
	limit, err := p.limit()
	if err != nil {
		return List[Result]{}, err
	}
	c, _, err := p.cursor()
	if err != nil {
		return List[Result]{}, err
	}
	if outcome != "" && !slices.Contains(Outcomes, outcome) {
		return List[Result]{}, domain.Invalid("outcome", "must be passed, failed, errored or canceled")
	}
	if _, err := r.GetBatch(ctx, owner, batchID); err != nil {
		return List[Result]{}, err
	}
	var rows []resultRow
	q := r.sel(&rows, "api_result").Where("r.batch_id = ? AND r.owner_id = ? AND r.seq > ?", batchID, owner, c.seq)
	if outcome != "" {
		q = q.Where("r.outcome = ?", outcome)
	}
	if err := q.OrderExpr("r.seq").Limit(int64(limit) + 1).Scan(ctx); err != nil {
		return List[Result]{}, fmt.Errorf("tables: list results of %q: %w", batchID, err)
	}
	return pageOf(rows, limit, resultOf, func(x resultRow) cursor { return cursor{seq: x.Seq} }), nil
}

func resultOf(x resultRow) Result {
	return Result{BatchID: x.BatchID, CaseID: x.CaseID, InterfaceID: x.InterfaceID, Outcome: x.Outcome,
		StatusCode: x.StatusCode, DurationMS: x.DurationMS, Assertions: rawOf(x.Assertions), Error: x.Error,
		Request: rawOf(x.Request), Response: rawOf(x.Response)}
}

func (r *Reader) report(ctx context.Context, owner, batchID, what, cond string) (reportRow, error) {
	var row reportRow
	q := r.sel(&row, "api_report").Where("r.batch_id = ? AND r.owner_id = ?", batchID, owner).Where(cond)
	return row, one(ctx, q, what, batchID)
}

// GetAnalysis is a batch's latest analysis.
func (r *Reader) GetAnalysis(ctx context.Context, owner, batchID string) (Analysis, error) {
	row, err := r.report(ctx, owner, batchID, "analysis of batch", "r.analysis_revision > 0")
	if err != nil {
		return Analysis{}, err
	}
	return Analysis{BatchID: row.BatchID, Revision: row.AnalysisRevision, Narrator: row.Narrator, Model: row.AnalysisModel,
		FallbackReason: row.AnalysisFallback, Analysis: rawOf(row.Analysis), AnalyzedAt: row.AnalyzedAt}, nil
}

// GetReport is the metadata of a batch's latest report.
func (r *Reader) GetReport(ctx context.Context, owner, batchID string) (Report, error) {
	row, err := r.report(ctx, owner, batchID, "report of batch", "r.report_revision > 0")
	if err != nil {
		return Report{}, err
	}
	out := Report{BatchID: row.BatchID, Revision: row.ReportRevision, Formats: rawOf(row.Formats),
		Digests: rawOf(row.Digests), AsOfSeq: row.AsOfSeq, GeneratedAt: row.ReportedAt}
	if row.NotifyStatus != "" {
		n := &Notification{Status: row.NotifyStatus, Recipients: rawOf(row.NotifyRecipients),
			Attempts: row.NotifyAttempts, Reason: row.NotifyReason}
		if !row.NotifiedAt.IsZero() {
			at := row.NotifiedAt
			n.At = &at
		}
		out.Notification = n
	}
	return out, nil
}
