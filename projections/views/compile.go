package views

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/projections"
)

// op is a script call for one event, or for several results in a row.
type op struct {
	s      *script
	keys   []string
	args   []any
	events int
}

// plan is what an Apply runs: script calls for `events` events, the last at seq `last`.
type plan struct {
	ops    []op
	events int
	last   uint64
}

// maxPerCall bounds how many results one script call takes.
const maxPerCall = 250

var (
	typeSubmitted = batch.Submitted{}.EventType()
	typeExecuted  = batch.CaseExecuted{}.EventType()
	typeCompleted = batch.Completed{}.EventType()
	typeAnalyzed  = batch.Analyzed{}.EventType()
	typeReported  = batch.ReportGenerated{}.EventType()
	typeDeleted   = iface.Deleted{}.EventType()
)

// compileAll turns the events above `after` into script calls; an event it cannot apply is
// a poison error naming it. Results in a row share a call.
func compileAll(cfg Config, n ns, events []domain.Envelope, after uint64) (plan, error) {
	p := plan{ops: make([]op, 0, len(events)), last: after}
	for _, env := range events {
		if env.Seq <= after {
			continue
		}
		o, err := compile(cfg, n, env)
		if err != nil {
			return plan{}, projections.Poison(env, err)
		}
		p.last = max(p.last, env.Seq)
		if o == nil {
			continue
		}
		p.events++
		if k := len(p.ops) - 1; k >= 0 && o.s == resultScript && p.ops[k].s == resultScript && p.ops[k].events < maxPerCall {
			p.ops[k].keys = append(p.ops[k].keys, o.keys[1:]...)
			p.ops[k].args = append(p.ops[k].args, o.args[1:]...)
			p.ops[k].events++
			continue
		}
		p.ops = append(p.ops, *o)
	}
	return p, nil
}

// compile is nil for the events the views do not need.
func compile(cfg Config, n ns, env domain.Envelope) (*op, error) {
	switch env.Type {
	case typeSubmitted:
		return with(env, func(e batch.Submitted) (*op, error) { return submitted(n, env.Seq, e) })
	case typeExecuted:
		return with(env, func(e batch.CaseExecuted) (*op, error) { return executed(cfg, n, env.Seq, e) })
	case typeCompleted:
		return with(env, func(e batch.Completed) (*op, error) { return completed(n, e) })
	case typeAnalyzed:
		return with(env, func(e batch.Analyzed) (*op, error) { return advance(n, e.AppID, e.BatchID, batch.StatusAnalyzed) })
	case typeReported:
		return with(env, func(e batch.ReportGenerated) (*op, error) {
			return advance(n, e.AppID, e.BatchID, batch.StatusReported)
		})
	case typeDeleted:
		return with(env, func(e iface.Deleted) (*op, error) { return forget(n, e) })
	}
	return nil, nil
}

// with hands the envelope's data, as a T or a non-nil *T, to fn.
func with[T domain.Event](env domain.Envelope, fn func(T) (*op, error)) (*op, error) {
	switch d := any(env.Data).(type) {
	case T:
		return fn(d)
	case *T:
		if d != nil {
			return fn(*d)
		}
	}
	var zero T
	return nil, fmt.Errorf("views: data is %T, want %T", env.Data, zero)
}

func submitted(n ns, seq uint64, e batch.Submitted) (*op, error) {
	if err := ids("app_id", e.AppID, "batch_id", e.BatchID); err != nil {
		return nil, err
	}
	return &op{s: submittedScript, events: 1, keys: []string{n.batch(e.BatchID), n.latest(e.AppID), n.applying()},
		args: []any{e.AppID, e.Environment.Name, len(e.Cases), stamp(e.At), seq, e.BatchID}}, nil
}

var outcomeLetter = map[string]string{batch.Passed: "p", batch.Failed: "f", batch.Errored: "e", batch.Canceled: "c"}

func executed(cfg Config, n ns, seq uint64, e batch.CaseExecuted) (*op, error) {
	err := errors.Join(ids("app_id", e.AppID, "batch_id", e.BatchID, "case_id", e.CaseID, "interface_id", e.InterfaceID),
		nonNegative("duration_ms", e.DurationMS))
	letter, ok := outcomeLetter[e.Outcome]
	if !ok {
		err = errors.Join(err, fmt.Errorf("views: outcome %q is not passed, failed, errored or canceled", e.Outcome))
	}
	if err != nil {
		return nil, err
	}
	// '.' is never part of an ID, so the member names one result unambiguously.
	member := letter + "." + e.BatchID + "." + e.CaseID
	return &op{s: resultScript, events: 1,
		keys: []string{n.applying(), n.batch(e.BatchID), n.outcomes(e.BatchID), n.health(e.InterfaceID),
			n.dur(e.InterfaceID), n.slowest(e.AppID)},
		args: []any{cfg.HealthWindow, e.CaseID, e.Outcome, member, seq, num(e.DurationMS), e.InterfaceID}}, nil
}

func completed(n ns, e batch.Completed) (*op, error) {
	t, l := e.Totals, e.Latency
	err := ids("app_id", e.AppID, "batch_id", e.BatchID)
	for _, c := range []struct {
		name string
		v    float64
	}{{"total", float64(t.Total)}, {"passed", float64(t.Passed)}, {"failed", float64(t.Failed)},
		{"errored", float64(t.Errored)}, {"canceled", float64(t.Canceled)}, {"duration_ms", float64(e.DurationMS)},
		{"p50", l.P50}, {"p95", l.P95}, {"p99", l.P99}} {
		err = errors.Join(err, nonNegative(c.name, c.v))
	}
	if err != nil {
		return nil, err
	}
	status := batch.StatusCompleted
	if e.Canceled {
		status = batch.StatusCanceled
	}
	// Completion's totals are final: cases that never ran count as canceled, and done = total.
	return &op{s: completedScript, events: 1, keys: []string{n.batch(e.BatchID), n.outcomes(e.BatchID), n.applying()},
		args: []any{status, "total", t.Total, "done", t.Total, "passed", t.Passed, "failed", t.Failed,
			"errored", t.Errored, "canceled", t.Canceled, "completed_at", stamp(e.At), "duration_ms", e.DurationMS,
			"p50", num(l.P50), "p95", num(l.P95), "p99", num(l.P99)}}, nil
}

func advance(n ns, app, batchID, status string) (*op, error) {
	if err := ids("app_id", app, "batch_id", batchID); err != nil {
		return nil, err
	}
	return &op{s: statusScript, events: 1, keys: []string{n.batch(batchID), n.applying()}, args: []any{status}}, nil
}

// forget drops a deleted interface's health and its place among its app's slowest.
func forget(n ns, e iface.Deleted) (*op, error) {
	if err := ids("app_id", e.AppID, "interface_id", e.InterfaceID); err != nil {
		return nil, err
	}
	return &op{s: forgetScript, events: 1,
		keys: []string{n.health(e.InterfaceID), n.dur(e.InterfaceID), n.slowest(e.AppID), n.applying()},
		args: []any{e.InterfaceID}}, nil
}

// ids checks name/value pairs: the values become parts of keys and members.
func ids(pairs ...string) error {
	var errs []error
	for i := 0; i+1 < len(pairs); i += 2 {
		if !domain.ValidID(pairs[i+1]) {
			errs = append(errs, fmt.Errorf("views: %s %q is not a valid id", pairs[i], pairs[i+1]))
		}
	}
	return errors.Join(errs...)
}

// nonNegative refuses what Redis cannot store as a score or what makes no sense as a count.
func nonNegative(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("views: %s %v is not a finite number ≥ 0", name, v)
	}
	return nil
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
