package tables

import (
	"encoding/json"
	"time"
)

// The API's shapes (API.md "Shapes" and the GET answers), as the Reader returns them.
// JSON-valued fields hold the stored JSON as it is.

// User is GET /me.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// App is GET /apps/{app_id}.
type App struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	Description        string          `json:"description"`
	Environments       json.RawMessage `json:"environments"`
	DefaultEnvironment string          `json:"default_environment"`
	NotifyEmails       json.RawMessage `json:"notify_emails"`
	DisabledChecks     json.RawMessage `json:"disabled_checks"`
	Archived           bool            `json:"archived"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
}

// Interface is GET /interfaces/{interface_id}.
type Interface struct {
	ID          string          `json:"id"`
	AppID       string          `json:"app_id"`
	Name        string          `json:"name"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	Description string          `json:"description"`
	Headers     json.RawMessage `json:"headers"`
	PathParams  json.RawMessage `json:"path_params"`
	Query       json.RawMessage `json:"query"`
	Body        json.RawMessage `json:"body"`
	ContentType string          `json:"content_type"`
	Responses   json.RawMessage `json:"responses"`
	Source      string          `json:"source,omitempty"`
	SourceKey   string          `json:"source_key,omitempty"`
	Version     int             `json:"version"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Generation is GET /generations/{generation_id}.
type Generation struct {
	ID             string          `json:"id"`
	InterfaceID    string          `json:"interface_id"`
	Status         string          `json:"status"`
	Generator      string          `json:"generator"`
	Model          string          `json:"model,omitempty"`
	PromptVersion  string          `json:"prompt_version,omitempty"`
	FallbackReason string          `json:"fallback_reason,omitempty"`
	CaseIDs        json.RawMessage `json:"case_ids"`
	TokensIn       int             `json:"tokens_in,omitempty"`
	TokensOut      int             `json:"tokens_out,omitempty"`
	DurationMS     *int64          `json:"duration_ms,omitempty"`
	Reason         string          `json:"reason,omitempty"`
}

// Case is API.md's Case.
type Case struct {
	ID           string          `json:"id"`
	InterfaceID  string          `json:"interface_id"`
	Name         string          `json:"name"`
	Class        string          `json:"class"`
	Priority     string          `json:"priority"`
	Request      json.RawMessage `json:"request"`
	Assertions   json.RawMessage `json:"assertions"`
	Extract      json.RawMessage `json:"extract,omitempty"`
	Enabled      bool            `json:"enabled"`
	Source       string          `json:"source"`
	GenerationID string          `json:"generation_id,omitempty"`
	Reason       string          `json:"reason,omitempty"`
}

// Latency is a batch's latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Batch is GET /batches/{batch_id}.
type Batch struct {
	ID          string     `json:"id"`
	AppID       string     `json:"app_id"`
	Environment string     `json:"environment"`
	Status      string     `json:"status"`
	Total       int        `json:"total"`
	Passed      int        `json:"passed"`
	Failed      int        `json:"failed"`
	Errored     int        `json:"errored"`
	Canceled    int        `json:"canceled"`
	StartedAt   time.Time  `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	DurationMS  *int64     `json:"duration_ms,omitempty"`
	Latency     Latency    `json:"latency_ms"`
}

// Result is API.md's Result.
type Result struct {
	BatchID     string          `json:"batch_id"`
	CaseID      string          `json:"case_id"`
	InterfaceID string          `json:"interface_id"`
	Outcome     string          `json:"outcome"`
	StatusCode  int             `json:"status_code"`
	DurationMS  float64         `json:"duration_ms"`
	Assertions  json.RawMessage `json:"assertions"`
	Error       string          `json:"error,omitempty"`
	Request     json.RawMessage `json:"request"`
	Response    json.RawMessage `json:"response"`
}

// Analysis is GET /batches/{batch_id}/analysis: the latest analysis document.
type Analysis struct {
	BatchID        string          `json:"batch_id"`
	Revision       int             `json:"revision"`
	Narrator       string          `json:"narrator"`
	Model          string          `json:"model,omitempty"`
	FallbackReason string          `json:"fallback_reason,omitempty"`
	Analysis       json.RawMessage `json:"analysis"`
	AnalyzedAt     time.Time       `json:"analyzed_at"`
}

// Report is the metadata of a batch's latest report (the renderings are reports').
type Report struct {
	BatchID      string          `json:"batch_id"`
	Revision     int             `json:"revision"`
	Formats      json.RawMessage `json:"formats"`
	Digests      json.RawMessage `json:"digests"`
	AsOfSeq      uint64          `json:"as_of_seq"`
	GeneratedAt  time.Time       `json:"generated_at"`
	Notification *Notification   `json:"notification,omitempty"`
}

// Notification is how the report's last email ended (or that it was asked for).
type Notification struct {
	Status     string          `json:"status"`
	Recipients json.RawMessage `json:"recipients"`
	Attempts   int             `json:"attempts,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	At         *time.Time      `json:"at,omitempty"`
}

// List is a page of a list: `next` is the cursor of the following page ("" at the end).
type List[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}
