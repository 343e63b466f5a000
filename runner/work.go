package runner

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
)

// sentJob is a job whose request has had its answer, waiting for its evaluation.
type sentJob struct {
	job Job
	x   exchange
}

// work sends one job's request under its batch's limits and passes it on for
// evaluation. A job waiting for its batch's limits holds its worker; when ctx ends
// meanwhile it is handed back unexecuted.
func (r *Runner) work(ctx, bg context.Context, j Job, sent chan<- sentJob) {
	release, err := r.lim.acquire(ctx, j.Request, r.cfg.Heartbeat, beat(j))
	if err != nil {
		if j.Nak != nil {
			_ = j.Nak(0)
		}
		return
	}
	r.m.inFlight.Inc()
	stop := r.heartbeat(j)
	x := r.exec.roundTrip(bg, j.Request)
	stop()
	r.m.inFlight.Dec()
	release()
	sent <- sentJob{job: j, x: x}
}

// beat tells j's delivery it is in progress; nil when it cannot.
func beat(j Job) func() {
	if j.InProgress == nil {
		return nil
	}
	return func() { _ = j.InProgress() }
}

// conclude evaluates a sent job and builds its result envelope.
func (r *Runner) conclude(s sentJob) pending {
	j := s.job
	res := r.exec.conclude(j.Request, s.x)
	res.Runner = r.cfg.Name
	r.executed.Add(1)
	r.m.cases.WithLabelValues(res.Outcome).Inc()
	r.m.latency.Observe(res.DurationMS / 1000)
	correlation := j.Meta.CorrelationID
	if correlation == "" {
		correlation = j.EventID
	}
	// The request (its assertions, schemas) is not needed to settle the job: drop it
	// rather than hold it while the result waits for its append.
	j.Request = batch.CaseExecutionRequested{}
	return pending{job: j, env: domain.Envelope{
		ID:      uuid.Must(uuid.NewV7()).String(),
		Subject: res.Subject(),
		Meta: domain.Metadata{
			RequestID:     j.Meta.RequestID,
			UserID:        domain.System,
			CorrelationID: correlation,
			CausationID:   j.EventID,
		},
		Data: res,
	}}
}

// heartbeat tells the job's delivery it is in progress every Heartbeat until stopped.
func (r *Runner) heartbeat(j Job) (stop func()) {
	timeout := DefaultTimeout
	if j.Request.TimeoutMS > 0 {
		timeout = time.Duration(j.Request.TimeoutMS) * time.Millisecond
	}
	if j.InProgress == nil || timeout < r.cfg.Heartbeat {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(r.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := j.InProgress(); err != nil {
					r.cfg.Logger.WithFields(logrus.Fields{"case": j.Request.CaseID, "err": err}).Warn("runner: in progress failed")
				}
			}
		}
	}()
	return func() { close(done) }
}
