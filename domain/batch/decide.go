package batch

import (
	"math"
	"slices"

	"github.com/assay-dev/assay/domain"
)

// Decider is the Batch aggregate.
var Decider = domain.Decider[State, Command]{
	Initial: func() State { return State{} },
	Decide:  Decide,
	Evolve:  Evolve,
}

// Decide turns a command into events or a typed error.
func Decide(s State, c Command) ([]domain.Event, error) {
	if c, ok := c.(Submit); ok {
		return decideSubmit(s, c)
	}
	actor, id := actorOf(c)
	if !s.Exists() || !domain.May(actor, s.OwnerID) {
		return nil, domain.NotFound("batch", id)
	}
	switch c := c.(type) {
	case RequestExecution:
		return decideRequestExecution(s, c)
	case RecordResult:
		return decideRecordResult(s, c)
	case Cancel:
		return decideCancel(s, c)
	case Complete:
		return decideComplete(s, c)
	case RequestAnalysis:
		if s.Completed == nil {
			return nil, domain.Conflict("batch %q has not completed yet", s.ID)
		}
		return []domain.Event{AnalysisRequested{AppID: s.AppID, BatchID: s.ID, At: c.At}}, nil
	case RecordAnalysis:
		return decideRecordAnalysis(s, c)
	case RecordReport:
		return decideRecordReport(s, c)
	case RequestNotification:
		return decideRequestNotification(s, c)
	case RecordNotification:
		return decideRecordNotification(s, c)
	}
	return nil, domain.Invalid("command", "unknown batch command %T", c)
}

func actorOf(c Command) (actor, id string) {
	switch c := c.(type) {
	case RequestExecution:
		return c.ActorID, c.BatchID
	case RecordResult:
		return c.ActorID, c.BatchID
	case Cancel:
		return c.ActorID, c.BatchID
	case Complete:
		return c.ActorID, c.BatchID
	case RequestAnalysis:
		return c.ActorID, c.BatchID
	case RecordAnalysis:
		return c.ActorID, c.BatchID
	case RecordReport:
		return c.ActorID, c.BatchID
	case RequestNotification:
		return c.ActorID, c.BatchID
	case RecordNotification:
		return c.ActorID, c.BatchID
	}
	return "", ""
}

func decideRequestExecution(s State, c RequestExecution) ([]domain.Event, error) {
	r := c.Request
	kase, ok := s.Cases[r.CaseID]
	switch {
	case !ok:
		return nil, domain.Invalid("case_id", "case %q is not in batch %q", r.CaseID, s.ID)
	case r.BatchID != s.ID || r.AppID != s.AppID || r.InterfaceID != kase.InterfaceID:
		return nil, domain.Invalid("request", "names another batch, app or interface")
	case s.Requested[r.CaseID]:
		return nil, domain.Conflict("case %q of batch %q was already requested", r.CaseID, s.ID)
	case s.Completed != nil || s.CancelRequested:
		return nil, domain.Conflict("batch %q is no longer running", s.ID)
	}
	return []domain.Event{r}, nil
}

func decideRecordResult(s State, c RecordResult) ([]domain.Event, error) {
	r := c.Result
	kase, ok := s.Cases[r.CaseID]
	var p domain.Problems
	p.Check(ok, "case_id", "case %q is not in batch %q", r.CaseID, s.ID)
	p.Check(slices.Contains([]string{Passed, Failed, Errored, Canceled}, r.Outcome), "outcome", "must be passed, failed, errored or canceled")
	p.Check(r.BatchID == s.ID && r.AppID == s.AppID && (!ok || r.InterfaceID == kase.InterfaceID), "result", "names another batch, app or interface")
	// A case that was never requested can only end errored or canceled (its dependency failed).
	p.Check(s.Requested[r.CaseID] || r.Outcome == Errored || r.Outcome == Canceled, "case_id", "case %q was not requested", r.CaseID)
	// NaN fails the comparison; +Inf would pass it, then neither encode to JSON nor sum.
	p.Check(r.DurationMS >= 0 && !math.IsInf(r.DurationMS, 1), "duration_ms", "must be a finite number, not negative")
	if err := p.Err(); err != nil {
		return nil, err
	}
	if _, dup := s.Results[r.CaseID]; dup {
		return nil, domain.Conflict("case %q of batch %q already has a result", r.CaseID, s.ID)
	}
	if s.Completed != nil {
		return nil, domain.Conflict("batch %q has completed", s.ID)
	}
	return []domain.Event{r}, nil
}

func decideCancel(s State, c Cancel) ([]domain.Event, error) {
	if s.Completed != nil {
		return nil, domain.Conflict("batch %q has already completed", s.ID)
	}
	if s.CancelRequested {
		return nil, nil
	}
	return []domain.Event{CanceledEvent{AppID: s.AppID, BatchID: s.ID, At: c.At}}, nil
}

func decideComplete(s State, c Complete) ([]domain.Event, error) {
	if s.Completed != nil {
		return nil, domain.Conflict("batch %q has already completed", s.ID)
	}
	if !s.CancelRequested && len(s.Results) < len(s.Cases) {
		return nil, domain.Conflict("batch %q has %d of %d results", s.ID, len(s.Results), len(s.Cases))
	}
	totals, lat := summarize(s)
	dur := c.At.Sub(s.SubmittedAt).Milliseconds()
	return []domain.Event{Completed{AppID: s.AppID, BatchID: s.ID, Totals: totals, DurationMS: max(dur, 0),
		Latency: lat, Canceled: s.CancelRequested, At: c.At}}, nil
}
