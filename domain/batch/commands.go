package batch

import (
	"encoding/json"
	"time"

	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/iface"
)

// Command is a batch command.
type Command interface{ isCommand() }

// Selection says which cases a batch runs; empty = every enabled case of the app.
type Selection struct {
	Environment  string
	InterfaceIDs []string
	CaseIDs      []string
}

// Submit starts a batch. App and Interfaces are read from the log by the caller.
type Submit struct {
	BatchID    string
	ActorID    string
	App        app.State
	Interfaces []iface.State
	Selection  Selection
	Settings   Settings
	At         time.Time
}

// RequestExecution freezes one case's request (sent by the dispatcher).
type RequestExecution struct {
	BatchID string
	ActorID string
	Request CaseExecutionRequested
}

// RecordResult stores one case's result (sent by a runner).
type RecordResult struct {
	BatchID string
	ActorID string
	Result  CaseExecuted
}

// Cancel stops a batch: cases not yet executed end as canceled.
type Cancel struct {
	BatchID string
	ActorID string
	At      time.Time
}

// Complete closes a batch once every case has a result (sent by the completion reactor).
type Complete struct {
	BatchID string
	ActorID string
	At      time.Time
}

// RequestAnalysis asks for the batch to be analysed again.
type RequestAnalysis struct {
	BatchID string
	ActorID string
	At      time.Time
}

// RecordAnalysis stores an analysis (sent by the analysis reactor).
type RecordAnalysis struct {
	BatchID  string
	ActorID  string
	Analysis json.RawMessage
	Narrator string
	Model    string
	Fallback string
	At       time.Time
}

// RecordReport notes that the report was rendered.
type RecordReport struct {
	BatchID string
	ActorID string
	Formats []string
	Digests map[string]string
	AsOfSeq uint64
	At      time.Time
}

// RequestNotification asks for the report to be emailed.
type RequestNotification struct {
	BatchID string
	ActorID string
	Emails  []string
	At      time.Time
}

// Notification outcomes for RecordNotification.
const (
	NotificationOutcomeSent    = "sent"
	NotificationOutcomeFailed  = "failed"
	NotificationOutcomeSkipped = "skipped"
)

// RecordNotification stores how an email ended.
type RecordNotification struct {
	BatchID    string
	ActorID    string
	Outcome    string
	Recipients []string
	Reason     string
	Attempts   int
	At         time.Time
}

func (Submit) isCommand()              {}
func (RequestExecution) isCommand()    {}
func (RecordResult) isCommand()        {}
func (Cancel) isCommand()              {}
func (Complete) isCommand()            {}
func (RequestAnalysis) isCommand()     {}
func (RecordAnalysis) isCommand()      {}
func (RecordReport) isCommand()        {}
func (RequestNotification) isCommand() {}
func (RecordNotification) isCommand()  {}
