package reactor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/command"
)

// AnalyzeName is the analysis reactor's durable consumer.
const AnalyzeName = "reactor-analyze"

// AnalyzeFilters select every batch's own subject (completed, analysis requested, …);
// results and execution requests are read from the log when needed.
var AnalyzeFilters = []string{"events.app.*.batch.*"}

// AnalyzerConfig tunes an Analyzer.
type AnalyzerConfig struct {
	Now func() time.Time // clock for the recorded events (default: the command handler's)
}

// Analyzer answers batch.completed and batch.analysis_requested: it loads the batch and the
// app's previous completed batches (up to analysis.MaxPrevious) from the log, computes the
// deterministic analysis with a rule-written narrative and records it. The command id is
// derived from the triggering event, so a redelivery (or another replica) records once.
type Analyzer struct {
	cmd   *command.Handler
	store *eventstore.Store
	cfg   AnalyzerConfig
}

// NewAnalyzer builds an Analyzer; run it with its Reactor.
func NewAnalyzer(cmd *command.Handler, cfg AnalyzerConfig) *Analyzer {
	if cfg.Now == nil {
		cfg.Now = cmd.Now
	}
	return &Analyzer{cmd: cmd, store: cmd.Store(), cfg: cfg}
}

// Reactor is the durable consumer running a; empty Name and Filters of cfg default to
// AnalyzeName and AnalyzeFilters.
func (a *Analyzer) Reactor(cfg Config, log logrus.FieldLogger, reg prometheus.Registerer) (*Reactor, error) {
	if cfg.Name == "" {
		cfg.Name = AnalyzeName
	}
	if len(cfg.Filters) == 0 {
		cfg.Filters = AnalyzeFilters
	}
	return New(a.store, cfg, a.Handle, log, reg)
}

// AnalyzeCommandID is the id of the RecordAnalysis sent in answer to the event eventID.
func AnalyzeCommandID(eventID string) string { return "analyze-" + eventID }

// Handle reacts to one event of a batch.
func (a *Analyzer) Handle(ctx context.Context, env domain.Envelope) error {
	var appID, batchID string
	switch e := env.Data.(type) {
	case batch.Completed:
		appID, batchID = e.AppID, e.BatchID
	case batch.AnalysisRequested:
		appID, batchID = e.AppID, e.BatchID
	default:
		return nil
	}
	if !domain.ValidID(appID) || !domain.ValidID(batchID) {
		return Permanent(fmt.Errorf("analyse batch %q of app %q: bad ids", batchID, appID))
	}
	cur, seq, err := a.loadBatch(ctx, appID, batchID)
	if err != nil {
		return err
	}
	if cur.Submitted.BatchID == "" {
		return Permanent(fmt.Errorf("analyse batch %s of app %s: it was never submitted", batchID, appID))
	}
	if cur.Completed.BatchID == "" {
		return nil // analysis requested before completion: the completion will trigger it
	}
	prev, err := a.previous(ctx, appID, batchID, cur.Completed.At, seq)
	if err != nil {
		return err
	}
	an := analysis.Analyze(cur, prev)
	doc, err := json.Marshal(an)
	if err != nil {
		return Permanent(fmt.Errorf("analyse batch %s: %w", batchID, err))
	}
	meta := domain.Metadata{CommandID: AnalyzeCommandID(env.ID), UserID: domain.System,
		CorrelationID: env.Meta.CorrelationID, CausationID: env.ID, RequestID: env.Meta.RequestID}
	_, err = a.cmd.Batch(ctx, meta, batchID, batch.RecordAnalysis{BatchID: batchID, ActorID: domain.System,
		Analysis: doc, Narrator: an.Narrator, At: a.cfg.Now()})
	switch {
	case err == nil, errors.Is(err, domain.ErrConflict):
		return nil // recorded (now or before), or the batch cannot take it
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrInvalid):
		return Permanent(fmt.Errorf("record analysis of batch %s: %w", batchID, err))
	}
	return fmt.Errorf("record analysis of batch %s: %w", batchID, err)
}

// loadBatch reads a batch's own events and results; seq is the stream sequence of its
// completion (0 when not completed).
func (a *Analyzer) loadBatch(ctx context.Context, appID, batchID string) (analysis.BatchHistory, uint64, error) {
	envs, _, err := a.store.Load(ctx, domain.BatchSubject(appID, batchID), domain.ResultSubject(appID, batchID, "*"))
	if err != nil {
		return analysis.BatchHistory{}, 0, fmt.Errorf("load batch %s: %w", batchID, err)
	}
	var h analysis.BatchHistory
	var seq uint64
	for _, env := range envs {
		switch e := env.Data.(type) {
		case batch.Submitted:
			h.Submitted = e
		case batch.CaseExecuted:
			h.Results = append(h.Results, e)
		case batch.Completed:
			if h.Completed.BatchID == "" {
				h.Completed, seq = e, env.Seq
			}
		}
	}
	return h, seq, nil
}

// previous reads the app's completed batches that completed before (at, seq), newest
// first, up to analysis.MaxPrevious, with their results.
func (a *Analyzer) previous(ctx context.Context, appID, batchID string, at time.Time, seq uint64) ([]analysis.BatchHistory, error) {
	envs, _, err := a.store.Load(ctx, domain.BatchSubject(appID, "*"))
	if err != nil {
		return nil, fmt.Errorf("load batches of app %s: %w", appID, err)
	}
	type done struct {
		h   analysis.BatchHistory
		seq uint64
	}
	subs := map[string]batch.Submitted{}
	var cands []done
	seen := map[string]bool{}
	for _, env := range envs {
		switch e := env.Data.(type) {
		case batch.Submitted:
			subs[e.BatchID] = e
		case batch.Completed:
			if e.BatchID == batchID || seen[e.BatchID] {
				continue
			}
			seen[e.BatchID] = true
			if e.At.Before(at) || (e.At.Equal(at) && env.Seq < seq) {
				cands = append(cands, done{h: analysis.BatchHistory{Completed: e}, seq: env.Seq})
			}
		}
	}
	cands = slices.DeleteFunc(cands, func(d done) bool { _, ok := subs[d.h.Completed.BatchID]; return !ok })
	slices.SortFunc(cands, func(x, y done) int {
		return cmp.Or(y.h.Completed.At.Compare(x.h.Completed.At), cmp.Compare(y.seq, x.seq))
	})
	cands = cands[:min(len(cands), analysis.MaxPrevious)]
	if len(cands) == 0 {
		return nil, nil
	}
	filters := make([]string, len(cands))
	index := map[string]int{}
	for i := range cands {
		id := cands[i].h.Completed.BatchID
		cands[i].h.Submitted = subs[id]
		filters[i] = domain.ResultSubject(appID, id, "*")
		index[id] = i
	}
	results, _, err := a.store.Load(ctx, filters...)
	if err != nil {
		return nil, fmt.Errorf("load results of the previous batches of app %s: %w", appID, err)
	}
	for _, env := range results {
		if r, ok := env.Data.(batch.CaseExecuted); ok {
			if i, ok := index[r.BatchID]; ok {
				cands[i].h.Results = append(cands[i].h.Results, r)
			}
		}
	}
	out := make([]analysis.BatchHistory, len(cands))
	for i, d := range cands {
		out[i] = d.h
	}
	return out, nil
}
