package reactor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore"
)

// Durable names of the reactors.
const (
	DispatchName = "reactor-dispatch"
	CompleteName = "reactor-complete"
)

// BatchFilters select what both reactors consume: every batch's own subject (submitted,
// canceled, completed, …) and every case result. Execution requests are not among them.
var BatchFilters = []string{"events.app.*.batch.*", "events.app.*.batch.*.result.*"}

// DefaultCacheSize is how many batches a reactor keeps state for.
const DefaultCacheSize = 256

// DispatcherConfig tunes a Dispatcher.
type DispatcherConfig struct {
	CacheSize int              // batches kept in memory (default DefaultCacheSize)
	Now       func() time.Time // clock (default time.Now().UTC)
}

// Dispatcher appends the execution requests of submitted batches: on batch.submitted one
// per case without dependency, and, as results arrive, one per case whose dependencies all
// passed (their extracted values substituted) — or an errored result for a case whose
// dependency did not pass, which cascades. Requests and dependency results go to their own
// subjects expecting sequence 0, so a redelivered event, a crashed dispatcher resuming, or
// several replicas never record a second one. Nothing more is dispatched for a batch once
// it is canceled or completed.
type Dispatcher struct {
	store *eventstore.Store
	cfg   DispatcherConfig
	mu    sync.Mutex // guards cache; Handle runs one event at a time
	cache *lru[*dispatchState]
}

// dispatchState is what the dispatcher knows of one batch, rebuilt from the log when it is
// not cached. results holds only cases others depend on.
type dispatchState struct {
	sub        batch.Submitted
	meta       domain.Metadata
	cases      map[string]testcase.Case
	deps       map[string][]string // case → the cases it depends on
	dependants map[string][]string // case → the cases depending on it, in batch order
	results    map[string]batch.CaseExecuted
	batchSeq   uint64 // last sequence on the batch subject this state has seen
	stopped    bool   // canceled or completed
}

// NewDispatcher builds a Dispatcher; run it with its Reactor.
func NewDispatcher(store *eventstore.Store, cfg DispatcherConfig) *Dispatcher {
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	return &Dispatcher{store: store, cfg: cfg, cache: newLRU[*dispatchState](cfg.CacheSize)}
}

// Reactor is the durable consumer running d; empty Name and Filters of cfg default to
// DispatchName and BatchFilters.
func (d *Dispatcher) Reactor(cfg Config, log logrus.FieldLogger, reg prometheus.Registerer) (*Reactor, error) {
	if cfg.Name == "" {
		cfg.Name = DispatchName
	}
	if len(cfg.Filters) == 0 {
		cfg.Filters = BatchFilters
	}
	return New(d.store, cfg, d.Handle, log, reg)
}

// Handle reacts to one event of a batch.
func (d *Dispatcher) Handle(ctx context.Context, env domain.Envelope) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e := env.Data.(type) {
	case batch.Submitted:
		return d.submitted(ctx, env, e)
	case batch.CaseExecuted:
		return d.executed(ctx, env, e)
	case batch.CanceledEvent:
		d.stop(e.AppID, e.BatchID, env.Seq)
	case batch.Completed:
		d.stop(e.AppID, e.BatchID, env.Seq)
	}
	return nil
}

func batchKey(appID, batchID string) string { return appID + "/" + batchID }

func (d *Dispatcher) stop(appID, batchID string, seq uint64) {
	if st, ok := d.cache.get(batchKey(appID, batchID)); ok {
		st.stopped, st.batchSeq = true, max(st.batchSeq, seq)
	}
}

func newDispatchState(env domain.Envelope, sub batch.Submitted) (*dispatchState, error) {
	deps, err := batch.Dependencies(sub.Cases, sub.Environment.Variables)
	if err != nil {
		return nil, err
	}
	st := &dispatchState{sub: sub, meta: env.Meta, cases: make(map[string]testcase.Case, len(sub.Cases)),
		deps: deps, dependants: map[string][]string{}, results: map[string]batch.CaseExecuted{}, batchSeq: env.Seq}
	for _, c := range sub.Cases {
		st.cases[c.ID] = c
		for _, dep := range deps[c.ID] {
			st.dependants[dep] = append(st.dependants[dep], c.ID)
		}
	}
	return st, nil
}

func (d *Dispatcher) submitted(ctx context.Context, env domain.Envelope, sub batch.Submitted) error {
	st, err := newDispatchState(env, sub)
	if err != nil {
		// The domain refuses such a batch at submission; one in the log is not ours to fix.
		return Permanent(fmt.Errorf("batch %s: dependencies: %w", sub.BatchID, err))
	}
	key := batchKey(sub.AppID, sub.BatchID)
	if old, ok := d.cache.get(key); ok {
		st.results, st.stopped, st.batchSeq = old.results, old.stopped, max(old.batchSeq, st.batchSeq)
	}
	d.cache.put(key, st)
	if stopped, err := d.stopped(ctx, st); err != nil || stopped {
		return err
	}
	now := d.cfg.Now()
	var execs, errored []domain.Envelope
	for _, c := range sub.Cases {
		if len(st.deps[c.ID]) > 0 {
			continue
		}
		e, err := d.request(st, c, nil, env, now)
		if err != nil {
			return err
		}
		if _, ok := e.Data.(batch.CaseExecuted); ok {
			errored = append(errored, e)
		} else {
			execs = append(execs, e)
		}
	}
	// A batch canceled while a big one is dispatched stops between groups of chunks.
	const group = 10 * eventstore.MaxBatch
	probe := domain.ExecSubject(sub.AppID, sub.BatchID, "*")
	for start := 0; start < len(execs); start += group {
		if start > 0 {
			if stopped, err := d.stopped(ctx, st); err != nil || stopped {
				return err
			}
		}
		if err := d.appendNew(ctx, probe, execs[start:min(start+group, len(execs))]...); err != nil {
			return err
		}
	}
	return d.appendNew(ctx, "", errored...)
}

// executed records a result and dispatches (or errors) the cases waiting on it.
func (d *Dispatcher) executed(ctx context.Context, env domain.Envelope, r batch.CaseExecuted) error {
	st, err := d.state(ctx, r.AppID, r.BatchID)
	if err != nil || st == nil {
		return err
	}
	dependants := st.dependants[r.CaseID]
	if len(dependants) == 0 {
		return nil
	}
	st.results[r.CaseID] = r
	if stopped, err := d.stopped(ctx, st); err != nil || stopped {
		return err
	}
	now := d.cfg.Now()
	var out []domain.Envelope
	for _, id := range dependants {
		if _, done := st.results[id]; done {
			continue
		}
		extracted := map[string]string{}
		var failed string
		ready := true
		for _, dep := range st.deps[id] {
			res, ok, err := d.result(ctx, st, dep)
			if err != nil {
				return err
			}
			if !ok {
				ready = false
				break
			}
			if res.Outcome != batch.Passed && failed == "" {
				failed = dep
			}
			for k, v := range res.Extracted {
				extracted[k] = v
			}
		}
		switch {
		case !ready:
			continue
		case failed != "":
			out = append(out, d.errored(st, st.cases[id], fmt.Sprintf("dependency %s failed", failed), env, now))
		default:
			e, err := d.request(st, st.cases[id], extracted, env, now)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
	}
	return d.appendNew(ctx, "", out...)
}

// request is the execution request of c, or its errored result when c cannot be resolved
// (a ${var} its dependencies did not extract): a case that can never run still ends.
func (d *Dispatcher) request(st *dispatchState, c testcase.Case, extracted map[string]string, cause domain.Envelope, now time.Time) (domain.Envelope, error) {
	req, err := Resolve(st.sub, c, extracted, now)
	if err != nil {
		return d.errored(st, c, "cannot build the request: "+err.Error(), cause, now), nil
	}
	return d.envelope(st, "exec", req, cause, now), nil
}

func (d *Dispatcher) errored(st *dispatchState, c testcase.Case, reason string, cause domain.Envelope, now time.Time) domain.Envelope {
	r := batch.CaseExecuted{AppID: st.sub.AppID, BatchID: st.sub.BatchID, CaseID: c.ID, InterfaceID: c.InterfaceID,
		Outcome: batch.Errored, Error: reason, Runner: DispatchName, At: now}
	return d.envelope(st, "result", r, cause, now)
}

// envelope gives an event an id derived from its batch, case and kind, so a second
// dispatch of the same thing is also a duplicate to the server's deduplication window.
func (d *Dispatcher) envelope(st *dispatchState, kind string, e domain.Event, cause domain.Envelope, now time.Time) domain.Envelope {
	id := uuid.NewSHA1(idSpace, []byte(kind+"/"+e.Subject())).String()
	corr := cause.Meta.CorrelationID
	if corr == "" {
		corr = st.meta.CorrelationID
	}
	return domain.Envelope{ID: id, Type: e.EventType(), Subject: e.Subject(), Time: now, Data: e,
		Meta: domain.Metadata{UserID: domain.System, CorrelationID: corr, CausationID: cause.ID, RequestID: st.meta.RequestID}}
}

var idSpace = uuid.MustParse("0b6c1f0e-9a53-4f5e-b7a1-6f3f4c1d2e7a")

// appendNew appends events that must each be the first on their subject, at most MaxBatch
// per atomic append. When a chunk conflicts (some are already there: a crashed or
// concurrent dispatcher), the subjects already taken are read once (one request listing
// the subjects under probe, not the events) and the rest of the chunk, and of every later
// chunk, is appended without them; should that conflict again (a dispatcher racing this
// one), each event is appended alone and "already there" counts as done.
func (d *Dispatcher) appendNew(ctx context.Context, probe string, envs ...domain.Envelope) error {
	var taken map[string]uint64
	for start := 0; start < len(envs); start += eventstore.MaxBatch {
		chunk := without(envs[start:min(start+eventstore.MaxBatch, len(envs))], taken)
		err := d.appendFirsts(ctx, chunk)
		if err == nil {
			continue
		}
		if !errors.Is(err, domain.ErrConflict) {
			return err
		}
		if taken == nil && probe != "" {
			if taken, err = d.subjects(ctx, probe); err != nil {
				return err
			}
			chunk = without(chunk, taken)
			if err = d.appendFirsts(ctx, chunk); err == nil {
				continue
			} else if !errors.Is(err, domain.ErrConflict) {
				return err
			}
		}
		for _, e := range chunk {
			if err := d.appendFirsts(ctx, []domain.Envelope{e}); err != nil && !errors.Is(err, domain.ErrConflict) {
				return err
			}
		}
	}
	return nil
}

// appendFirsts appends envs atomically, each expecting to be the first on its subject.
func (d *Dispatcher) appendFirsts(ctx context.Context, envs []domain.Envelope) error {
	expect := make(eventstore.Expect, len(envs))
	for _, e := range envs {
		expect[e.Subject] = 0
	}
	_, err := d.store.Append(ctx, expect, envs...)
	return err
}

// subjects lists the subjects matching filter that hold events, with their counts.
func (d *Dispatcher) subjects(ctx context.Context, filter string) (map[string]uint64, error) {
	stream, err := d.store.JetStream().Stream(ctx, d.store.StreamName())
	if err != nil {
		return nil, fmt.Errorf("list subjects %s: %w", filter, err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("list subjects %s: %w", filter, err)
	}
	if info.State.Subjects == nil {
		return map[string]uint64{}, nil
	}
	return info.State.Subjects, nil
}

func without(envs []domain.Envelope, taken map[string]uint64) []domain.Envelope {
	if len(taken) == 0 {
		return envs
	}
	out := make([]domain.Envelope, 0, len(envs))
	for _, e := range envs {
		if taken[e.Subject] == 0 {
			out = append(out, e)
		}
	}
	return out
}

// state is the cached state of a batch, rebuilt from the log (its own subject and its
// results) when unknown; nil when the batch has no submitted event.
func (d *Dispatcher) state(ctx context.Context, appID, batchID string) (*dispatchState, error) {
	key := batchKey(appID, batchID)
	if st, ok := d.cache.get(key); ok {
		return st, nil
	}
	subj := domain.BatchSubject(appID, batchID)
	envs, _, err := d.store.Load(ctx, subj, subj+".result.*")
	if err != nil {
		return nil, err
	}
	var st *dispatchState
	for _, env := range envs {
		switch e := env.Data.(type) {
		case batch.Submitted:
			if st, err = newDispatchState(env, e); err != nil {
				return nil, Permanent(fmt.Errorf("batch %s: dependencies: %w", batchID, err))
			}
		case batch.CaseExecuted:
			if st != nil && len(st.dependants[e.CaseID]) > 0 {
				st.results[e.CaseID] = e
			}
		case batch.CanceledEvent, batch.Completed:
			if st != nil {
				st.stopped = true
			}
		}
		if st != nil && env.Subject == subj {
			st.batchSeq = env.Seq
		}
	}
	if st == nil {
		return nil, Permanent(fmt.Errorf("batch %s of app %s: a result without a submitted batch", batchID, appID))
	}
	d.cache.put(key, st)
	return st, nil
}

// stopped is true once the batch was canceled or completed, as the log has it now: another
// replica may have seen the cancel.
func (d *Dispatcher) stopped(ctx context.Context, st *dispatchState) (bool, error) {
	if st.stopped {
		return true, nil
	}
	subj := domain.BatchSubject(st.sub.AppID, st.sub.BatchID)
	last, err := d.store.LastSubjectSeq(ctx, subj)
	if err != nil || last <= st.batchSeq {
		return false, err
	}
	envs, _, err := d.store.Load(ctx, subj)
	if err != nil {
		return false, err
	}
	for _, env := range envs {
		switch env.Data.(type) {
		case batch.CanceledEvent, batch.Completed:
			st.stopped = true
		}
	}
	st.batchSeq = last
	return st.stopped, nil
}

// result is the result of a case: from the state, else from the log (another replica may
// have handled it), then kept.
func (d *Dispatcher) result(ctx context.Context, st *dispatchState, caseID string) (batch.CaseExecuted, bool, error) {
	if r, ok := st.results[caseID]; ok {
		return r, true, nil
	}
	seq, err := d.store.LastSubjectSeq(ctx, domain.ResultSubject(st.sub.AppID, st.sub.BatchID, caseID))
	if err != nil || seq == 0 {
		return batch.CaseExecuted{}, false, err
	}
	env, err := d.store.Get(ctx, seq)
	if err != nil {
		return batch.CaseExecuted{}, false, err
	}
	r, ok := env.Data.(batch.CaseExecuted)
	if !ok {
		return batch.CaseExecuted{}, false, Permanent(fmt.Errorf("seq %d on a result subject is a %s", seq, env.Type))
	}
	st.results[caseID] = r
	return r, true, nil
}
