package iface

import (
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/testcase"
)

// Defined: an interface was defined (by hand or by an import).
type Defined struct {
	AppID       string     `json:"app_id"`
	InterfaceID string     `json:"interface_id"`
	OwnerID     string     `json:"owner_id"`
	Interface   Definition `json:"interface"`
	Version     int        `json:"version"`
	At          time.Time  `json:"at"`
}

// Updated: the definition changed; Interface is the whole definition after the change.
type Updated struct {
	AppID       string     `json:"app_id"`
	InterfaceID string     `json:"interface_id"`
	Interface   Definition `json:"interface"`
	Changed     []string   `json:"changed"`
	Version     int        `json:"version"`
	At          time.Time  `json:"at"`
}

// Deleted: the interface and its cases are gone from lists and batches.
type Deleted struct {
	AppID       string    `json:"app_id"`
	InterfaceID string    `json:"interface_id"`
	At          time.Time `json:"at"`
}

// GenerationOptions say how cases are to be generated.
type GenerationOptions struct {
	Generator string `json:"generator"` // auto, llm or rules
	MaxCases  int    `json:"max_cases"`
	Hints     string `json:"hints,omitempty"`
}

// CasesGenerationRequested: someone asked for cases; a reactor answers.
type CasesGenerationRequested struct {
	AppID            string            `json:"app_id"`
	InterfaceID      string            `json:"interface_id"`
	GenerationID     string            `json:"generation_id"`
	InterfaceVersion int               `json:"interface_version"`
	Options          GenerationOptions `json:"options"`
	At               time.Time         `json:"at"`
}

// GenerationInfo records how cases were produced.
type GenerationInfo struct {
	Generator      string `json:"generator"` // llm or rules
	Model          string `json:"model,omitempty"`
	PromptVersion  string `json:"prompt_version,omitempty"`
	TokensIn       int    `json:"tokens_in,omitempty"`
	TokensOut      int    `json:"tokens_out,omitempty"`
	DurationMS     int64  `json:"duration_ms"`
	FallbackReason string `json:"fallback_reason,omitempty"`
	// Dropped lists the model's cases that failed validation, each with its reason.
	Dropped []string `json:"dropped,omitempty"`
}

// CasesGenerated: a generation finished with these cases.
type CasesGenerated struct {
	AppID        string          `json:"app_id"`
	InterfaceID  string          `json:"interface_id"`
	GenerationID string          `json:"generation_id"`
	Info         GenerationInfo  `json:"info"`
	Cases        []testcase.Case `json:"cases"`
	// Replaced lists the earlier generated cases these take the place of.
	Replaced []string  `json:"replaced,omitempty"`
	At       time.Time `json:"at"`
}

// CasesGenerationFailed: a generation produced nothing, with the reason.
type CasesGenerationFailed struct {
	AppID        string    `json:"app_id"`
	InterfaceID  string    `json:"interface_id"`
	GenerationID string    `json:"generation_id"`
	Reason       string    `json:"reason"`
	At           time.Time `json:"at"`
}

// CaseAdded: a user wrote a case by hand.
type CaseAdded struct {
	AppID       string        `json:"app_id"`
	InterfaceID string        `json:"interface_id"`
	Case        testcase.Case `json:"case"`
	At          time.Time     `json:"at"`
}

// CaseUpdated: a case changed; Case is the whole case after the change.
type CaseUpdated struct {
	AppID       string        `json:"app_id"`
	InterfaceID string        `json:"interface_id"`
	Case        testcase.Case `json:"case"`
	Changed     []string      `json:"changed"`
	At          time.Time     `json:"at"`
}

// CaseDeleted: a case is gone.
type CaseDeleted struct {
	AppID       string    `json:"app_id"`
	InterfaceID string    `json:"interface_id"`
	CaseID      string    `json:"case_id"`
	At          time.Time `json:"at"`
}

func (Defined) EventType() string                  { return "interface.defined" }
func (Updated) EventType() string                  { return "interface.updated" }
func (Deleted) EventType() string                  { return "interface.deleted" }
func (CasesGenerationRequested) EventType() string { return "interface.cases_generation_requested" }
func (CasesGenerated) EventType() string           { return "interface.cases_generated" }
func (CasesGenerationFailed) EventType() string    { return "interface.cases_generation_failed" }
func (CaseAdded) EventType() string                { return "interface.case_added" }
func (CaseUpdated) EventType() string              { return "interface.case_updated" }
func (CaseDeleted) EventType() string              { return "interface.case_deleted" }

func (e Defined) Subject() string { return domain.InterfaceSubject(e.AppID, e.InterfaceID) }
func (e Updated) Subject() string { return domain.InterfaceSubject(e.AppID, e.InterfaceID) }
func (e Deleted) Subject() string { return domain.InterfaceSubject(e.AppID, e.InterfaceID) }
func (e CasesGenerationRequested) Subject() string {
	return domain.InterfaceSubject(e.AppID, e.InterfaceID)
}
func (e CasesGenerated) Subject() string { return domain.InterfaceSubject(e.AppID, e.InterfaceID) }
func (e CasesGenerationFailed) Subject() string {
	return domain.InterfaceSubject(e.AppID, e.InterfaceID)
}
func (e CaseAdded) Subject() string   { return domain.InterfaceSubject(e.AppID, e.InterfaceID) }
func (e CaseUpdated) Subject() string { return domain.InterfaceSubject(e.AppID, e.InterfaceID) }
func (e CaseDeleted) Subject() string { return domain.InterfaceSubject(e.AppID, e.InterfaceID) }

// Register adds the interface's events to a catalog.
func Register(c *domain.Catalog) {
	domain.Register[Defined](c, 1)
	domain.Register[Updated](c, 1)
	domain.Register[Deleted](c, 1)
	domain.Register[CasesGenerationRequested](c, 1)
	domain.Register[CasesGenerated](c, 1)
	domain.Register[CasesGenerationFailed](c, 1)
	domain.Register[CaseAdded](c, 1)
	domain.Register[CaseUpdated](c, 1)
	domain.Register[CaseDeleted](c, 1)
}
