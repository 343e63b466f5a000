package iface

import (
	"encoding/json"
	"time"

	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/testcase"
)

// Command is an interface command.
type Command interface{ isCommand() }

// Define creates an interface on an app. App is the app as the log has it now.
type Define struct {
	InterfaceID string
	ActorID     string
	App         app.State
	Def         Definition
	At          time.Time
}

// Patch holds the definition fields an update changes; nil means unchanged.
type Patch struct {
	Name, Method, Path, Description, ContentType *string
	Headers, PathParams, Query, Body             *json.RawMessage
	Responses                                    *map[string]Response
}

// Update changes an interface's definition.
type Update struct {
	InterfaceID string
	ActorID     string
	Patch       Patch
	At          time.Time
}

// Redefine replaces the whole definition (an import of the same operation again).
type Redefine struct {
	InterfaceID string
	ActorID     string
	Def         Definition
	At          time.Time
}

// Delete removes an interface and its cases from lists and batches.
type Delete struct {
	InterfaceID string
	ActorID     string
	At          time.Time
}

// RequestGeneration asks for cases to be generated.
type RequestGeneration struct {
	InterfaceID  string
	ActorID      string
	GenerationID string
	Options      GenerationOptions
	At           time.Time
}

// RecordGeneration stores a generation's cases (sent by the generation reactor).
type RecordGeneration struct {
	InterfaceID  string
	ActorID      string
	GenerationID string
	Info         GenerationInfo
	Cases        []testcase.Case
	At           time.Time
}

// FailGeneration ends a generation without cases.
type FailGeneration struct {
	InterfaceID  string
	ActorID      string
	GenerationID string
	Reason       string
	At           time.Time
}

// AddCase adds a hand-written case.
type AddCase struct {
	InterfaceID string
	ActorID     string
	Case        testcase.Case
	At          time.Time
}

// CasePatch holds the case fields an update changes; nil means unchanged.
type CasePatch struct {
	Name, Class, Priority *string
	Request               *testcase.Request
	Assertions            *[]assert.Assertion
	Extract               *map[string]string
	Enabled               *bool
}

// UpdateCase changes a case.
type UpdateCase struct {
	InterfaceID string
	ActorID     string
	CaseID      string
	Patch       CasePatch
	At          time.Time
}

// DeleteCase removes a case.
type DeleteCase struct {
	InterfaceID string
	ActorID     string
	CaseID      string
	At          time.Time
}

func (Define) isCommand()            {}
func (Update) isCommand()            {}
func (Redefine) isCommand()          {}
func (Delete) isCommand()            {}
func (RequestGeneration) isCommand() {}
func (RecordGeneration) isCommand()  {}
func (FailGeneration) isCommand()    {}
func (AddCase) isCommand()           {}
func (UpdateCase) isCommand()        {}
func (DeleteCase) isCommand()        {}
