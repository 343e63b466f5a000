package batch

import (
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/testcase"
)

// Statuses API.md names.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusAnalyzed  = "analyzed"
	StatusReported  = "reported"
	StatusCanceled  = "canceled"
)

// ResultSummary is what the aggregate keeps of a result.
type ResultSummary struct {
	Outcome    string
	DurationMS float64
	Extracted  map[string]string
}

// State is a batch as its events left it.
type State struct {
	ID, AppID, OwnerID string
	Env                app.Environment
	Cases              map[string]testcase.Case
	Order              []string
	Interfaces         map[string]InterfaceRef
	Settings           Settings
	Requested          map[string]bool
	Results            map[string]ResultSummary
	CancelRequested    bool
	Completed          *Completed
	Analyses           int
	Reports            int
	SubmittedAt        time.Time
}

// Exists is true once submitted.
func (s State) Exists() bool { return s.ID != "" }

// Status is the batch's status as API.md names it.
func (s State) Status() string {
	switch {
	case s.Completed != nil && s.Completed.Canceled && s.Analyses == 0:
		return StatusCanceled
	case s.Reports > 0:
		return StatusReported
	case s.Analyses > 0:
		return StatusAnalyzed
	case s.Completed != nil:
		return StatusCompleted
	}
	return StatusRunning
}

// Evolve folds one event into the state. It updates the state's maps in place: states are
// folded once, front to back, never shared.
func Evolve(s State, e domain.Event) State {
	if s.Cases == nil { // a history that does not start with Submitted must not panic
		s.Cases, s.Interfaces = map[string]testcase.Case{}, map[string]InterfaceRef{}
		s.Requested, s.Results = map[string]bool{}, map[string]ResultSummary{}
	}
	switch e := e.(type) {
	case Submitted:
		s = State{ID: e.BatchID, AppID: e.AppID, OwnerID: e.OwnerID, Env: e.Environment, Settings: e.Settings,
			Cases: make(map[string]testcase.Case, len(e.Cases)), Interfaces: map[string]InterfaceRef{},
			Requested: map[string]bool{}, Results: map[string]ResultSummary{}, SubmittedAt: e.At}
		for _, c := range e.Cases {
			s.Cases[c.ID] = c
			s.Order = append(s.Order, c.ID)
		}
		for _, i := range e.Interfaces {
			s.Interfaces[i.ID] = i
		}
	case CaseExecutionRequested:
		s.Requested[e.CaseID] = true
	case CaseExecuted:
		s.Results[e.CaseID] = ResultSummary{Outcome: e.Outcome, DurationMS: e.DurationMS, Extracted: e.Extracted}
	case CanceledEvent:
		s.CancelRequested = true
	case Completed:
		c := e
		s.Completed = &c
	case Analyzed:
		s.Analyses++
	case ReportGenerated:
		s.Reports++
	}
	return s
}
