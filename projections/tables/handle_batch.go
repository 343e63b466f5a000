package tables

import (
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
)

func (u *unit) applyBatch(env domain.Envelope) error {
	switch e := env.Data.(type) {
	case batch.Submitted:
		return u.submitted(env, e)
	case batch.CaseExecuted:
		return u.executed(env, e)
	case batch.CanceledEvent:
		return u.changeBatch(env, e.BatchID, func(r *batchRow) { r.CancelRequested = true })
	case batch.Completed:
		at := when(env, e.At)
		return u.changeBatch(env, e.BatchID, func(r *batchRow) {
			t := e.Totals
			r.Total, r.Passed, r.Failed, r.Errored, r.Canceled = t.Total, t.Passed, t.Failed, t.Errored, t.Canceled
			r.DurationMS, r.P50, r.P95, r.P99 = e.DurationMS, e.Latency.P50, e.Latency.P95, e.Latency.P99
			r.WasCanceled, r.CompletedAt = e.Canceled, mark(at)
		})
	case batch.Analyzed:
		return u.analyzed(env, e)
	case batch.ReportGenerated:
		return u.reported(env, e)
	}
	return u.applyNotification(env)
}

func (u *unit) submitted(env domain.Envelope, e batch.Submitted) error {
	u.owners[e.AppID] = e.OwnerID
	at := when(env, e.At)
	en := u.batches.touch(e.BatchID, env.Seq, func() batchRow {
		return batchRow{ID: e.BatchID, AppID: e.AppID, OwnerID: e.OwnerID, StartedAt: at, CreatedSeq: env.Seq}
	})
	if en == nil {
		return nil
	}
	r := &en.row
	r.Environment, r.BaseURL, r.Total = e.Environment.Name, e.Environment.BaseURL, len(e.Cases)
	var j jsonFields
	if j.enc(&r.Settings, e.Settings, "{}"); j.err != nil {
		return j.err
	}
	r.Status, r.Seq = r.status(), env.Seq
	return u.batches.done(en)
}

// changeBatch applies a change to an existing batch and refreshes its status.
func (u *unit) changeBatch(env domain.Envelope, id string, change func(*batchRow)) error {
	en := u.batches.touch(id, env.Seq, nil)
	if en == nil {
		return nil
	}
	change(&en.row)
	en.row.Status, en.row.Seq = en.row.status(), env.Seq
	return u.batches.done(en)
}

// status is the batch's status as API.md names it (the aggregate's rule).
func (r *batchRow) status() string {
	completed := !r.CompletedAt.IsZero()
	switch {
	case completed && r.WasCanceled && r.Analyses == 0:
		return batch.StatusCanceled
	case r.Reports > 0:
		return batch.StatusReported
	case r.Analyses > 0:
		return batch.StatusAnalyzed
	case completed:
		return batch.StatusCompleted
	}
	return batch.StatusRunning
}

// executed adds a result row; the batch's counters follow when the rows are inserted.
func (u *unit) executed(env domain.Envelope, e batch.CaseExecuted) error {
	owner := u.ownerOf(e.AppID)
	if b := u.batches.get(e.BatchID); owner == "" && b != nil {
		owner = b.row.OwnerID
	}
	r := resultRow{BatchID: e.BatchID, CaseID: e.CaseID, AppID: e.AppID, OwnerID: owner, InterfaceID: e.InterfaceID,
		Outcome: e.Outcome, StatusCode: e.StatusCode, DurationMS: e.DurationMS, Error: e.Error, Runner: e.Runner,
		ExecutedAt: when(env, e.At), Seq: env.Seq}
	var err error
	if r.Assertions, err = u.enc.encode(e.Assertions, "[]"); err != nil {
		return err
	}
	// The request and response documents are written by hand: encoding/json costs more
	// than the insert on the hot path.
	u.scratch = appendRequestDoc(u.scratch[:0], e.Request)
	r.Request = string(u.scratch)
	u.scratch = appendResponseDoc(u.scratch[:0], e.Response)
	r.Response = string(u.scratch)
	u.scratch = appendStringMap(u.scratch[:0], e.Extracted)
	r.Extracted = string(u.scratch)
	size, err := resultSchema.check(&r)
	if err != nil {
		return err
	}
	u.results.add(u.ctx, r, size)
	return nil
}

func (u *unit) analyzed(env domain.Envelope, e batch.Analyzed) error {
	if err := u.changeBatch(env, e.BatchID, func(r *batchRow) { r.Analyses = max(r.Analyses+1, e.Revision) }); err != nil {
		return err
	}
	doc, err := raw(e.Analysis)
	if err != nil {
		return err
	}
	return u.changeReport(env, e.AppID, e.BatchID, func(r *reportRow) {
		r.AnalysisRevision = max(r.AnalysisRevision+1, e.Revision)
		r.Analysis, r.Narrator, r.AnalysisModel, r.AnalysisFallback = doc, e.Narrator, e.Model, e.Fallback
		r.AnalyzedAt = when(env, e.At)
	})
}

func (u *unit) reported(env domain.Envelope, e batch.ReportGenerated) error {
	if err := u.changeBatch(env, e.BatchID, func(r *batchRow) { r.Reports = max(r.Reports+1, e.Revision) }); err != nil {
		return err
	}
	var formats, digests string
	var j jsonFields
	j.enc(&formats, e.Formats, "[]")
	j.enc(&digests, e.Digests, "{}")
	if j.err != nil {
		return j.err
	}
	return u.changeReport(env, e.AppID, e.BatchID, func(r *reportRow) {
		r.ReportRevision = max(r.ReportRevision+1, e.Revision)
		r.Formats, r.Digests, r.AsOfSeq, r.ReportedAt = formats, digests, e.AsOfSeq, when(env, e.At)
	})
}

func (u *unit) applyNotification(env domain.Envelope) error {
	var app, id, status, reason string
	var recipients []string
	var attempts int
	var at time.Time
	switch e := env.Data.(type) {
	case batch.NotificationRequested:
		app, id, status, recipients, at = e.AppID, e.BatchID, "requested", e.Emails, e.At
	case batch.NotificationSent:
		app, id, status, recipients, attempts, at = e.AppID, e.BatchID, "sent", e.Recipients, e.Attempts, e.At
	case batch.NotificationFailed:
		app, id, status, recipients, reason, attempts, at = e.AppID, e.BatchID, "failed", e.Recipients, e.Reason, e.Attempts, e.At
	case batch.NotificationSkipped:
		app, id, status, reason, at = e.AppID, e.BatchID, "skipped", e.Reason, e.At
	default:
		return nil // deliberately ignored (see Ignored) or not a type of this build's catalog
	}
	rcpt, err := encode(recipients, "[]")
	if err != nil {
		return err
	}
	return u.changeReport(env, app, id, func(r *reportRow) {
		r.NotifyStatus, r.NotifyRecipients, r.NotifyAttempts, r.NotifyReason = status, rcpt, attempts, reason
		r.NotifiedAt = when(env, at)
	})
}

// changeReport applies a change to a batch's report row, creating the row when needed.
func (u *unit) changeReport(env domain.Envelope, app, id string, change func(*reportRow)) error {
	en := u.reports.touch(id, env.Seq, func() reportRow {
		owner := u.ownerOf(app)
		if b := u.batches.get(id); owner == "" && b != nil {
			owner = b.row.OwnerID
		}
		return reportRow{BatchID: id, AppID: app, OwnerID: owner, Analysis: "null", Formats: "[]", Digests: "{}", NotifyRecipients: "[]"}
	})
	if en == nil {
		return nil
	}
	change(&en.row)
	en.row.Seq = env.Seq
	return u.reports.done(en)
}
