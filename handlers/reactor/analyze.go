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
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/command"
)

// AnalyzeName is the analysis reactor's durable consumer.
const AnalyzeName = "reactor-analyze"

// AnalyzeFilters select every batch's own subject (completed, analysis requested, …);
// results and execution requests are read from the log when needed.
var AnalyzeFilters = []string{"events.app.*.batch.*"}

// Narrator writes an analysis's narrative and its clusters' hypotheses (ai.Narrator does,
// with an LLM). It returns an error only when ctx ends; any other failure is a narration
// by the rules with its Fallback reason.
type Narrator interface {
	Narrate(ctx context.Context, a analysis.Analysis) (analysis.Narration, error)
}

// AnalyzerConfig tunes an Analyzer.
type AnalyzerConfig struct {
	Now func() time.Time // clock for the recorded events (default: the command handler's)
	// Narrator rewrites the rules' narrative and hypotheses; nil keeps the rules'. The
	// reactor keeps the event in progress while it waits, so its timeout may exceed AckWait.
	Narrator Narrator
	// PreviousWindow is the first span of log sequences searched backwards for the app's
	// earlier batches; each further search is 8 times wider (default 16384).
	PreviousWindow uint64
}

// Analyzer answers batch.completed and batch.analysis_requested: it loads the batch, the
// definitions of its interfaces at the versions it froze and the app's previous completed
// batches (up to analysis.MaxPrevious) from the log, computes the deterministic analysis
// with a rule-written narrative, lets the Narrator (if any) reword it, and records it. The command id is
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
	if cfg.PreviousWindow == 0 {
		cfg.PreviousWindow = 1 << 14
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
	if cur.Definitions, err = a.definitions(ctx, appID, cur.Submitted.Interfaces); err != nil {
		return err
	}
	prev, err := a.previous(ctx, appID, batchID, seq)
	if err != nil {
		return err
	}
	an := analysis.Analyze(cur, prev)
	if a.cfg.Narrator != nil {
		n, err := a.cfg.Narrator.Narrate(ctx, an)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("narrate batch %s: %w", batchID, err)
			}
			n = analysis.Narration{Narrator: analysis.NarratorRules, Fallback: "error: " + err.Error()}
		}
		an = an.WithNarration(n)
	}
	doc, err := json.Marshal(an)
	if err != nil {
		return Permanent(fmt.Errorf("analyse batch %s: %w", batchID, err))
	}
	meta := domain.Metadata{CommandID: AnalyzeCommandID(env.ID), UserID: domain.System,
		CorrelationID: env.Meta.CorrelationID, CausationID: env.ID, RequestID: env.Meta.RequestID}
	_, err = a.cmd.Batch(ctx, meta, batchID, batch.RecordAnalysis{BatchID: batchID, ActorID: domain.System,
		Analysis: doc, Narrator: an.Narrator, Model: an.NarratorModel, Fallback: an.NarratorFallback, At: a.cfg.Now()})
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

// definitions reads the batch's interfaces as defined at the versions it froze (the batch
// freezes only what checks responses; coverage needs the parameters' schemas). An
// interface whose version is not in the log is left out: its coverage is not measured.
func (a *Analyzer) definitions(ctx context.Context, appID string, refs []batch.InterfaceRef) (map[string]iface.Definition, error) {
	want := map[string]int{}
	filters := make([]string, 0, len(refs))
	for _, r := range refs {
		if domain.ValidID(r.ID) {
			want[r.ID] = r.Version
			filters = append(filters, domain.InterfaceSubject(appID, r.ID))
		}
	}
	if len(filters) == 0 {
		return nil, nil
	}
	envs, _, err := a.store.Load(ctx, filters...)
	if err != nil {
		return nil, fmt.Errorf("load the interfaces of app %s: %w", appID, err)
	}
	out := map[string]iface.Definition{}
	for _, env := range envs {
		switch e := env.Data.(type) {
		case iface.Defined:
			if v, ok := want[e.InterfaceID]; ok && v == e.Version {
				out[e.InterfaceID] = e.Interface
			}
		case iface.Updated:
			if v, ok := want[e.InterfaceID]; ok && v == e.Version {
				out[e.InterfaceID] = e.Interface
			}
		}
	}
	return out, nil
}

// previous reads the app's batches that completed before the batch (whose completion is at
// stream sequence seq), newest first, up to analysis.MaxPrevious, with their results. It
// searches backwards in widening windows of the log rather than reading the app's whole
// batch history, so its cost follows the recent batches, not the app's age.
func (a *Analyzer) previous(ctx context.Context, appID, batchID string, seq uint64) ([]analysis.BatchHistory, error) {
	type done struct {
		c   batch.Completed
		seq uint64
	}
	var cands []done
	for w := a.cfg.PreviousWindow; ; w *= 8 {
		from := uint64(0)
		if seq > w {
			from = seq - w
		}
		cands = cands[:0]
		seen := map[string]bool{}
		err := a.store.Replay(ctx, from, seq, []string{domain.BatchSubject(appID, "*")}, func(env domain.Envelope) error {
			if e, ok := env.Data.(batch.Completed); ok && e.BatchID != batchID && !seen[e.BatchID] && env.Seq < seq {
				seen[e.BatchID] = true
				cands = append(cands, done{c: e, seq: env.Seq})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load the batches of app %s: %w", appID, err)
		}
		if len(cands) >= analysis.MaxPrevious || from == 0 {
			break
		}
	}
	slices.SortFunc(cands, func(x, y done) int { return cmp.Or(y.c.At.Compare(x.c.At), cmp.Compare(y.seq, x.seq)) })
	cands = cands[:min(len(cands), analysis.MaxPrevious)]
	if len(cands) == 0 {
		return nil, nil
	}
	filters := make([]string, 0, 2*len(cands))
	out := make([]analysis.BatchHistory, len(cands))
	index := map[string]int{}
	for i, d := range cands {
		out[i].Completed = d.c
		index[d.c.BatchID] = i
		filters = append(filters, domain.BatchSubject(appID, d.c.BatchID), domain.ResultSubject(appID, d.c.BatchID, "*"))
	}
	envs, _, err := a.store.Load(ctx, filters...)
	if err != nil {
		return nil, fmt.Errorf("load the previous batches of app %s: %w", appID, err)
	}
	for _, env := range envs {
		switch e := env.Data.(type) {
		case batch.Submitted:
			if i, ok := index[e.BatchID]; ok {
				out[i].Submitted = e
			}
		case batch.CaseExecuted:
			if i, ok := index[e.BatchID]; ok {
				out[i].Results = append(out[i].Results, e)
			}
		}
	}
	return slices.DeleteFunc(out, func(h analysis.BatchHistory) bool { return h.Submitted.BatchID == "" }), nil
}
