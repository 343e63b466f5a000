package projtest

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
)

func (h *History) submit(ctx context.Context) error {
	appID := pick(h.rnd, h.appIDs)
	a := h.apps[appID]
	var ifs []iface.State
	for _, id := range h.ifaceOf[appID] {
		ifs = append(ifs, h.ifaces[id])
	}
	id := h.id("batch")
	cmd := batch.Submit{BatchID: id, ActorID: a.OwnerID, App: a, Interfaces: ifs, At: h.tick()}
	if h.rnd.IntN(3) == 0 {
		cmd.Selection.Environment = "prod"
	}
	evs, err := batch.Decide(batch.State{}, cmd)
	if err != nil {
		return nil // no enabled case, or an archived app
	}
	h.batches[id] = batch.Evolve(batch.State{}, evs[0])
	h.running = append(h.running, id)
	return h.commit(ctx, evs)
}

// advanceBatch moves a running batch one step: request some cases, record some results,
// cancel it, or complete it and run it through analysis, report and notification.
func (h *History) advanceBatch(ctx context.Context) error {
	id := pick(h.rnd, h.running)
	s := h.batches[id]
	var evs []domain.Event
	switch {
	case h.rnd.IntN(40) == 0 && s.Completed == nil:
		evs = h.decideBatch(s, batch.Cancel{BatchID: id, ActorID: s.OwnerID, At: h.tick()})
	case s.Completed != nil || s.CancelRequested || len(s.Results) == len(s.Cases):
		return h.finish(ctx, id)
	default:
		evs = h.runSome(s)
	}
	return h.apply(ctx, id, evs)
}

func (h *History) decideBatch(s batch.State, cmd batch.Command) []domain.Event {
	evs, err := batch.Decide(s, cmd)
	if err != nil {
		return nil
	}
	return evs
}

func (h *History) apply(ctx context.Context, id string, evs []domain.Event) error {
	s := h.batches[id]
	for _, e := range evs {
		s = batch.Evolve(s, e)
	}
	h.batches[id] = s
	return h.commit(ctx, evs)
}

// runSome requests up to 5 cases and records results for up to 5 requested ones.
func (h *History) runSome(s batch.State) []domain.Event {
	var evs []domain.Event
	for _, cid := range s.Order {
		if len(evs) >= 5 {
			break
		}
		k := s.Cases[cid]
		if !s.Requested[cid] {
			req := batch.CaseExecutionRequested{AppID: s.AppID, BatchID: s.ID, CaseID: cid, InterfaceID: k.InterfaceID,
				Request: batch.HTTPRequest{Method: "GET", URL: s.Env.BaseURL + "/pets/1"}, TimeoutMS: 1000, At: h.tick()}
			evs = append(evs, h.decideBatch(s, batch.RequestExecution{BatchID: s.ID, ActorID: domain.System, Request: req})...)
			continue
		}
		if _, done := s.Results[cid]; done {
			continue
		}
		evs = append(evs, h.decideBatch(s, batch.RecordResult{BatchID: s.ID, ActorID: domain.System, Result: h.result(s, cid)})...)
	}
	return evs
}

func (h *History) result(s batch.State, cid string) batch.CaseExecuted {
	outcome := pick(h.rnd, []string{batch.Passed, batch.Passed, batch.Passed, batch.Failed, batch.Errored})
	status := map[string]int{batch.Passed: 200, batch.Failed: 500, batch.Errored: 0}[outcome]
	r := batch.CaseExecuted{AppID: s.AppID, BatchID: s.ID, CaseID: cid, InterfaceID: s.Cases[cid].InterfaceID, Outcome: outcome,
		StatusCode: status, DurationMS: float64(1+h.rnd.IntN(3000)) / 10, At: h.tick(),
		Request:  batch.HTTPRequest{Method: "GET", URL: s.Env.BaseURL + "/pets/1"},
		Response: batch.HTTPResponse{Status: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"id":1,"name":"Rex ✓"}`}}
	r.Assertions = []assert.Evaluated{{Target: "status", Op: "eq", Expected: 200.0, Actual: float64(status), Passed: outcome == batch.Passed, Message: "status"}}
	if outcome == batch.Errored {
		r.Error = "dial tcp 127.0.0.1:18080: connection refused"
	}
	return r
}

// finish completes a batch and takes it through analysis, report and notification.
func (h *History) finish(ctx context.Context, id string) error {
	s := h.batches[id]
	sys := domain.System
	var evs []domain.Event
	switch {
	case s.Completed == nil:
		evs = h.decideBatch(s, batch.Complete{BatchID: id, ActorID: sys, At: h.tick()})
	case s.Analyses == 0:
		doc, _ := json.Marshal(map[string]any{"pass_rate": float64(s.Completed.Totals.Passed) / float64(max(1, s.Completed.Totals.Total))})
		evs = h.decideBatch(s, batch.RecordAnalysis{BatchID: id, ActorID: sys, Analysis: doc, Narrator: "rules", At: h.tick()})
	case s.Reports == 0:
		evs = h.decideBatch(s, batch.RecordReport{BatchID: id, ActorID: sys, Formats: []string{"html", "json", "junit", "md"},
			Digests: map[string]string{"html": "sha256:00"}, At: h.tick()})
	default:
		evs = h.decideBatch(s, batch.RecordNotification{BatchID: id, ActorID: sys, Outcome: pick(h.rnd,
			[]string{batch.NotificationOutcomeSent, batch.NotificationOutcomeSkipped}), Recipients: []string{"qa@example.com"}, Reason: "no SMTP", At: h.tick()})
		h.running = slices.DeleteFunc(h.running, func(x string) bool { return x == id })
	}
	return h.apply(ctx, id, evs)
}
