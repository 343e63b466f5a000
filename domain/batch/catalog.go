package batch

import "github.com/assay-dev/assay/domain"

func (Submitted) EventType() string              { return "batch.submitted" }
func (CaseExecutionRequested) EventType() string { return "batch.case_execution_requested" }
func (CaseExecuted) EventType() string           { return "batch.case_executed" }
func (CanceledEvent) EventType() string          { return "batch.canceled" }
func (Completed) EventType() string              { return "batch.completed" }
func (AnalysisRequested) EventType() string      { return "batch.analysis_requested" }
func (Analyzed) EventType() string               { return "batch.analyzed" }
func (ReportGenerated) EventType() string        { return "batch.report_generated" }
func (NotificationRequested) EventType() string  { return "batch.notification_requested" }
func (NotificationSent) EventType() string       { return "batch.notification_sent" }
func (NotificationFailed) EventType() string     { return "batch.notification_failed" }
func (NotificationSkipped) EventType() string    { return "batch.notification_skipped" }

func (e Submitted) Subject() string { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e CaseExecutionRequested) Subject() string {
	return domain.ExecSubject(e.AppID, e.BatchID, e.CaseID)
}
func (e CaseExecuted) Subject() string          { return domain.ResultSubject(e.AppID, e.BatchID, e.CaseID) }
func (e CanceledEvent) Subject() string         { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e Completed) Subject() string             { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e AnalysisRequested) Subject() string     { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e Analyzed) Subject() string              { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e ReportGenerated) Subject() string       { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e NotificationRequested) Subject() string { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e NotificationSent) Subject() string      { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e NotificationFailed) Subject() string    { return domain.BatchSubject(e.AppID, e.BatchID) }
func (e NotificationSkipped) Subject() string   { return domain.BatchSubject(e.AppID, e.BatchID) }

// Register adds the batch's events to a catalog.
func Register(c *domain.Catalog) {
	domain.Register[Submitted](c, 1)
	domain.Register[CaseExecutionRequested](c, 1)
	domain.Register[CaseExecuted](c, 1)
	domain.Register[CanceledEvent](c, 1)
	domain.Register[Completed](c, 1)
	domain.Register[AnalysisRequested](c, 1)
	domain.Register[Analyzed](c, 1)
	domain.Register[ReportGenerated](c, 1)
	domain.Register[NotificationRequested](c, 1)
	domain.Register[NotificationSent](c, 1)
	domain.Register[NotificationFailed](c, 1)
	domain.Register[NotificationSkipped](c, 1)
}
