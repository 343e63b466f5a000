package tables

import (
	"time"

	"github.com/uptrace/bun"
)

// Rows of the projected tables, one struct per table, columns as migrations defines them
// (a test checks they agree). JSON columns are strings holding JSON. Every row keeps seq:
// the stream sequence of the last event that changed it. Times are UTC; a zero time is NULL.

type userRow struct {
	bun.BaseModel `bun:"alias:r"`
	ID            string    `bun:"id,pk"`
	Email         string    `bun:"email"`
	Name          string    `bun:"name"`
	CreatedAt     time.Time `bun:"created_at,nullzero"`
	Seq           uint64    `bun:"seq"`
}

type appRow struct {
	bun.BaseModel      `bun:"alias:r"`
	ID                 string    `bun:"id,pk"`
	OwnerID            string    `bun:"owner_id"`
	Name               string    `bun:"name"`
	Description        string    `bun:"description"`
	Environments       string    `bun:"environments"`
	DefaultEnvironment string    `bun:"default_environment"`
	NotifyEmails       string    `bun:"notify_emails"`
	DisabledChecks     string    `bun:"disabled_checks"`
	ArchivedAt         time.Time `bun:"archived_at,nullzero"`
	CreatedAt          time.Time `bun:"created_at,nullzero"`
	UpdatedAt          time.Time `bun:"updated_at,nullzero"`
	CreatedSeq         uint64    `bun:"created_seq"`
	Seq                uint64    `bun:"seq"`
}

type ifaceRow struct {
	bun.BaseModel `bun:"alias:r"`
	ID            string    `bun:"id,pk"`
	AppID         string    `bun:"app_id"`
	OwnerID       string    `bun:"owner_id"`
	Name          string    `bun:"name"`
	Method        string    `bun:"method"`
	Path          string    `bun:"path"`
	Description   string    `bun:"description"`
	Headers       string    `bun:"headers"`
	PathParams    string    `bun:"path_params"`
	Query         string    `bun:"query"`
	Body          string    `bun:"body"`
	ContentType   string    `bun:"content_type"`
	Responses     string    `bun:"responses"`
	Source        string    `bun:"source"`
	SourceKey     string    `bun:"source_key"`
	Version       int       `bun:"version"`
	DeletedAt     time.Time `bun:"deleted_at,nullzero"`
	CreatedAt     time.Time `bun:"created_at,nullzero"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero"`
	CreatedSeq    uint64    `bun:"created_seq"`
	Seq           uint64    `bun:"seq"`
}

type genRow struct {
	bun.BaseModel    `bun:"alias:r"`
	ID               string    `bun:"id,pk"`
	InterfaceID      string    `bun:"interface_id"`
	AppID            string    `bun:"app_id"`
	OwnerID          string    `bun:"owner_id"`
	Status           string    `bun:"status"`
	Generator        string    `bun:"generator"`
	Options          string    `bun:"options"`
	Model            string    `bun:"model"`
	PromptVersion    string    `bun:"prompt_version"`
	FallbackReason   string    `bun:"fallback_reason"`
	CaseIDs          string    `bun:"case_ids"`
	Dropped          string    `bun:"dropped"`
	TokensIn         int       `bun:"tokens_in"`
	TokensOut        int       `bun:"tokens_out"`
	DurationMS       int64     `bun:"duration_ms"`
	Reason           string    `bun:"reason"`
	InterfaceVersion int       `bun:"interface_version"`
	RequestedAt      time.Time `bun:"requested_at,nullzero"`
	FinishedAt       time.Time `bun:"finished_at,nullzero"`
	CreatedSeq       uint64    `bun:"created_seq"`
	Seq              uint64    `bun:"seq"`
}

type caseRow struct {
	bun.BaseModel `bun:"alias:r"`
	ID            string    `bun:"id,pk"`
	InterfaceID   string    `bun:"interface_id"`
	AppID         string    `bun:"app_id"`
	OwnerID       string    `bun:"owner_id"`
	Name          string    `bun:"name"`
	Class         string    `bun:"class"`
	Priority      string    `bun:"priority"`
	Request       string    `bun:"request"`
	Assertions    string    `bun:"assertions"`
	Extract       string    `bun:"extract"`
	Enabled       bool      `bun:"enabled"`
	Source        string    `bun:"source"`
	GenerationID  string    `bun:"generation_id"`
	Reason        string    `bun:"reason"`
	CreatedSeq    uint64    `bun:"created_seq"`
	Position      int       `bun:"position"`
	DeletedAt     time.Time `bun:"deleted_at,nullzero"`
	CreatedAt     time.Time `bun:"created_at,nullzero"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero"`
	Seq           uint64    `bun:"seq"`
}

type batchRow struct {
	bun.BaseModel   `bun:"alias:r"`
	ID              string    `bun:"id,pk"`
	AppID           string    `bun:"app_id"`
	OwnerID         string    `bun:"owner_id"`
	Environment     string    `bun:"environment"`
	BaseURL         string    `bun:"base_url"`
	Settings        string    `bun:"settings"`
	Status          string    `bun:"status"`
	Total           int       `bun:"total"`
	Passed          int       `bun:"passed"`
	Failed          int       `bun:"failed"`
	Errored         int       `bun:"errored"`
	Canceled        int       `bun:"canceled"`
	CancelRequested bool      `bun:"cancel_requested"`
	WasCanceled     bool      `bun:"was_canceled"`
	StartedAt       time.Time `bun:"started_at,nullzero"`
	CompletedAt     time.Time `bun:"completed_at,nullzero"`
	DurationMS      int64     `bun:"duration_ms"`
	P50             float64   `bun:"p50"`
	P95             float64   `bun:"p95"`
	P99             float64   `bun:"p99"`
	Analyses        int       `bun:"analyses"`
	Reports         int       `bun:"reports"`
	CreatedSeq      uint64    `bun:"created_seq"`
	Seq             uint64    `bun:"seq"`
}

type resultRow struct {
	bun.BaseModel `bun:"alias:r"`
	BatchID       string    `bun:"batch_id,pk"`
	CaseID        string    `bun:"case_id,pk"`
	AppID         string    `bun:"app_id"`
	OwnerID       string    `bun:"owner_id"`
	InterfaceID   string    `bun:"interface_id"`
	Outcome       string    `bun:"outcome"`
	StatusCode    int       `bun:"status_code"`
	DurationMS    float64   `bun:"duration_ms"`
	Assertions    string    `bun:"assertions"`
	Error         string    `bun:"error"`
	Request       string    `bun:"request"`
	Response      string    `bun:"response"`
	Extracted     string    `bun:"extracted"`
	Runner        string    `bun:"runner"`
	ExecutedAt    time.Time `bun:"executed_at,nullzero"`
	Seq           uint64    `bun:"seq"`
}

type reportRow struct {
	bun.BaseModel    `bun:"alias:r"`
	BatchID          string    `bun:"batch_id,pk"`
	AppID            string    `bun:"app_id"`
	OwnerID          string    `bun:"owner_id"`
	AnalysisRevision int       `bun:"analysis_revision"`
	Analysis         string    `bun:"analysis"`
	Narrator         string    `bun:"narrator"`
	AnalysisModel    string    `bun:"analysis_model"`
	AnalysisFallback string    `bun:"analysis_fallback"`
	AnalyzedAt       time.Time `bun:"analyzed_at,nullzero"`
	ReportRevision   int       `bun:"report_revision"`
	Formats          string    `bun:"formats"`
	Digests          string    `bun:"digests"`
	AsOfSeq          uint64    `bun:"as_of_seq"`
	ReportedAt       time.Time `bun:"reported_at,nullzero"`
	NotifyStatus     string    `bun:"notify_status"`
	NotifyRecipients string    `bun:"notify_recipients"`
	NotifyAttempts   int       `bun:"notify_attempts"`
	NotifyReason     string    `bun:"notify_reason"`
	NotifiedAt       time.Time `bun:"notified_at,nullzero"`
	Seq              uint64    `bun:"seq"`
}

type checkpointRow struct {
	bun.BaseModel `bun:"alias:r"`
	Name          string    `bun:"name,pk"`
	Seq           uint64    `bun:"seq"`
	Epoch         int64     `bun:"epoch"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero"`
}

type failureRow struct {
	bun.BaseModel `bun:"alias:r"`
	Projection    string    `bun:"projection,pk"`
	Seq           uint64    `bun:"seq,pk"`
	EventType     string    `bun:"event_type"`
	Reason        string    `bun:"reason"`
	CreatedAt     time.Time `bun:"created_at,nullzero"`
	ResolvedAt    time.Time `bun:"resolved_at,nullzero"`
}

// Keys and sequences, for the generic row sets.
func (r userRow) key() string   { return r.ID }
func (r appRow) key() string    { return r.ID }
func (r ifaceRow) key() string  { return r.ID }
func (r genRow) key() string    { return r.ID }
func (r caseRow) key() string   { return r.ID }
func (r batchRow) key() string  { return r.ID }
func (r reportRow) key() string { return r.BatchID }

func (r userRow) seq() uint64   { return r.Seq }
func (r appRow) seq() uint64    { return r.Seq }
func (r ifaceRow) seq() uint64  { return r.Seq }
func (r genRow) seq() uint64    { return r.Seq }
func (r caseRow) seq() uint64   { return r.Seq }
func (r batchRow) seq() uint64  { return r.Seq }
func (r reportRow) seq() uint64 { return r.Seq }
