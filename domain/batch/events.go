// Package batch is the Batch aggregate: a set of cases submitted to run against one
// environment, their execution requests and results, and what followed (analysis, report,
// notification).
package batch

import (
	"encoding/json"
	"time"

	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// Settings tune how a batch runs.
type Settings struct {
	Concurrency    int      `json:"concurrency"`
	RatePerSecond  float64  `json:"rate_per_second,omitempty"` // 0 = unlimited
	TimeoutMS      int      `json:"timeout_ms"`
	NotifyEmails   []string `json:"notify_emails,omitempty"`
	DisabledChecks []string `json:"disabled_checks,omitempty"`
}

// InterfaceRef is the part of an interface a batch freezes: enough to check responses.
type InterfaceRef struct {
	ID          string                    `json:"id"`
	Name        string                    `json:"name"`
	Method      string                    `json:"method"`
	Path        string                    `json:"path"`
	Version     int                       `json:"version"`
	ContentType string                    `json:"content_type,omitempty"`
	Responses   map[string]iface.Response `json:"responses,omitempty"`
}

// Submitted: a batch was submitted with these frozen cases; read from the log, never from a read model.
type Submitted struct {
	AppID       string          `json:"app_id"`
	BatchID     string          `json:"batch_id"`
	OwnerID     string          `json:"owner_id"`
	Environment app.Environment `json:"environment"`
	Interfaces  []InterfaceRef  `json:"interfaces"`
	Cases       []testcase.Case `json:"cases"`
	Settings    Settings        `json:"settings"`
	At          time.Time       `json:"at"`
}

// HTTPRequest is a fully resolved request, as sent.
type HTTPRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// HTTPResponse is a response as received (body capped).
type HTTPResponse struct {
	Status        int               `json:"status"`
	Headers       map[string]string `json:"headers,omitempty"`
	Body          string            `json:"body,omitempty"`
	BodyTruncated bool              `json:"body_truncated,omitempty"`
}

// CaseExecutionRequested: one case is ready to run; everything a runner needs is here.
type CaseExecutionRequested struct {
	AppID       string             `json:"app_id"`
	BatchID     string             `json:"batch_id"`
	CaseID      string             `json:"case_id"`
	InterfaceID string             `json:"interface_id"`
	Request     HTTPRequest        `json:"request"`
	Assertions  []assert.Assertion `json:"assertions"`
	Extract     map[string]string  `json:"extract,omitempty"`
	Checks      []string           `json:"checks,omitempty"` // default checks to run
	Interface   InterfaceRef       `json:"interface"`
	AllowHosts  []string           `json:"allow_hosts"`
	TimeoutMS   int                `json:"timeout_ms"`
	// The batch's limits (Settings), which runners enforce per batch; 0 = unlimited.
	Concurrency   int       `json:"concurrency,omitempty"`
	RatePerSecond float64   `json:"rate_per_second,omitempty"`
	At            time.Time `json:"at"`
}

// Outcomes of a case.
const (
	Passed   = "passed"
	Failed   = "failed"
	Errored  = "errored"
	Canceled = "canceled"
)

// CaseExecuted: one case ran (or could not) and this is its result.
type CaseExecuted struct {
	AppID       string             `json:"app_id"`
	BatchID     string             `json:"batch_id"`
	CaseID      string             `json:"case_id"`
	InterfaceID string             `json:"interface_id"`
	Outcome     string             `json:"outcome"`
	StatusCode  int                `json:"status_code"`
	DurationMS  float64            `json:"duration_ms"`
	Assertions  []assert.Evaluated `json:"assertions"`
	Error       string             `json:"error,omitempty"`
	Request     HTTPRequest        `json:"request"`
	Response    HTTPResponse       `json:"response"`
	Extracted   map[string]string  `json:"extracted,omitempty"`
	Runner      string             `json:"runner,omitempty"`
	At          time.Time          `json:"at"`
}

// CanceledEvent: the batch was canceled; cases not yet executed end as canceled.
type CanceledEvent struct {
	AppID   string    `json:"app_id"`
	BatchID string    `json:"batch_id"`
	At      time.Time `json:"at"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Totals count outcomes.
type Totals struct {
	Total    int `json:"total"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Errored  int `json:"errored"`
	Canceled int `json:"canceled"`
}

// Completed: every case has a result (or the batch was canceled).
type Completed struct {
	AppID      string    `json:"app_id"`
	BatchID    string    `json:"batch_id"`
	Totals     Totals    `json:"totals"`
	DurationMS int64     `json:"duration_ms"`
	Latency    Latency   `json:"latency_ms"`
	Canceled   bool      `json:"canceled"`
	At         time.Time `json:"at"`
}

// AnalysisRequested: someone asked for the batch to be analysed again.
type AnalysisRequested struct {
	AppID   string    `json:"app_id"`
	BatchID string    `json:"batch_id"`
	At      time.Time `json:"at"`
}

// Analyzed: the batch's analysis; Analysis is domain/analysis's document.
type Analyzed struct {
	AppID    string          `json:"app_id"`
	BatchID  string          `json:"batch_id"`
	Analysis json.RawMessage `json:"analysis"`
	Narrator string          `json:"narrator"` // llm or rules
	Model    string          `json:"model,omitempty"`
	Fallback string          `json:"fallback_reason,omitempty"`
	Revision int             `json:"revision"`
	At       time.Time       `json:"at"`
}

// ReportGenerated: the batch's report was rendered from its events.
type ReportGenerated struct {
	AppID    string            `json:"app_id"`
	BatchID  string            `json:"batch_id"`
	Formats  []string          `json:"formats"`
	Digests  map[string]string `json:"digests"` // format → sha256 of the rendering
	AsOfSeq  uint64            `json:"as_of_seq"`
	Revision int               `json:"revision"`
	At       time.Time         `json:"at"`
}

// NotificationRequested: someone asked for the report to be emailed (again).
type NotificationRequested struct {
	AppID   string    `json:"app_id"`
	BatchID string    `json:"batch_id"`
	Emails  []string  `json:"emails,omitempty"`
	At      time.Time `json:"at"`
}

// NotificationSent, NotificationFailed, NotificationSkipped: how an email ended.
type NotificationSent struct {
	AppID      string    `json:"app_id"`
	BatchID    string    `json:"batch_id"`
	Recipients []string  `json:"recipients"`
	Attempts   int       `json:"attempts"`
	At         time.Time `json:"at"`
}

type NotificationFailed struct {
	AppID      string    `json:"app_id"`
	BatchID    string    `json:"batch_id"`
	Recipients []string  `json:"recipients"`
	Reason     string    `json:"reason"`
	Attempts   int       `json:"attempts"`
	At         time.Time `json:"at"`
}

type NotificationSkipped struct {
	AppID   string    `json:"app_id"`
	BatchID string    `json:"batch_id"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}
