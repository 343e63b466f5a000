package projections

import (
	"context"
	"errors"
	"time"
)

// halt records a poison event and stops the projection there: never a silent skip.
func (e *Engine) halt(ctx context.Context, p *PoisonError) {
	f := Failure{Projection: e.proj.Name(), Seq: p.Seq, EventType: p.Type, Reason: p.Reason.Error()}
	for attempt := 1; ctx.Err() == nil; attempt++ {
		err := e.failures.RecordFailure(ctx, f)
		if err == nil {
			break
		}
		e.pause(ctx, "record failure", err, attempt)
	}
	e.metrics.failures.WithLabelValues(f.Projection).Inc()
	e.metrics.halted.WithLabelValues(f.Projection).Set(1)
	e.log.WithField("seq", f.Seq).WithField("type", f.EventType).WithField("reason", f.Reason).
		Error("projection halted at a poison event; `assay projections skip` moves past it")
	e.setStatus(func(s *Status) { s.State, s.Halt = StateHalted, &f })
}

// waitForSkip waits until an operator skipped the poison event, then resumes from the
// checkpoint the skip wrote.
func (e *Engine) waitForSkip(ctx context.Context, cp Checkpoint) (Checkpoint, error) {
	t := time.NewTimer(e.cfg.HaltPoll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return cp, ctx.Err()
	case <-t.C:
	}
	f, err := e.failures.OpenFailure(ctx, e.proj.Name())
	if err != nil || f != nil {
		return cp, errors.Join(err, ErrHalted)
	}
	// The failure store may keep its checkpoints elsewhere (the views keep theirs in Redis):
	// move this projection's own checkpoint past the skipped event.
	if halt := e.Status().Halt; halt != nil && halt.Seq > cp.Seq {
		if err := e.proj.Apply(ctx, cp.Epoch, nil, halt.Seq); err != nil {
			return cp, err
		}
	}
	next, err := e.proj.Checkpoint(ctx)
	if err != nil {
		return cp, err
	}
	e.log.WithField("checkpoint", next.Seq).Warn("poison event skipped by an operator; resuming")
	e.metrics.halted.WithLabelValues(e.proj.Name()).Set(0)
	e.setStatus(func(s *Status) { s.State, s.Halt, s.Seq = StateRunning, nil, next.Seq })
	return next, nil
}

// pause logs a transient failure and waits (exponential, capped) before the next try.
func (e *Engine) pause(ctx context.Context, what string, err error, attempt int) {
	d := min(time.Duration(1<<min(attempt, 10))*50*time.Millisecond, e.cfg.RetryMax)
	e.log.WithError(err).WithField("retry_in", d.String()).Warn(what + " failed; retrying")
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
