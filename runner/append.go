package runner

import (
	"context"
	"errors"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// pending is an executed job waiting for its result to be appended.
type pending struct {
	job Job
	env domain.Envelope
}

// collect groups results. The first result of a batch opens a window of AppendWindow;
// once it has passed (or AppendMax results have gathered) the batch goes to the first
// free appender, and while every appender is busy it keeps gathering up to AppendMax:
// each atomic batch has a fixed cost on the server (a staging store, an fsync), so a
// busy log gets bigger batches.
func (r *Runner) collect(results <-chan pending, batches chan<- []pending) {
	defer close(batches)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		b      []pending
		window <-chan time.Time
		ripe   bool // the window has passed
		in     = results
	)
	for in != nil || len(b) > 0 {
		var out chan<- []pending
		if len(b) > 0 && (ripe || in == nil || len(b) >= r.cfg.AppendMax) {
			out = batches
		}
		recv := in
		if len(b) >= r.cfg.AppendMax {
			recv = nil
		}
		select {
		case p, ok := <-recv:
			if !ok {
				in = nil
				continue
			}
			if len(b) == 0 {
				b = make([]pending, 0, min(r.cfg.AppendMax, 128)) // grows only as far as the log lags
				timer.Reset(r.cfg.AppendWindow)
				window, ripe = timer.C, false
			}
			b = append(b, p)
		case <-window:
			window, ripe = nil, true
		case out <- b:
			timer.Stop()
			b, window, ripe = nil, nil, false
		}
	}
}

// flush appends a batch atomically, each result expecting its subject to be empty. A
// refused batch means one of its cases already has a result (a redelivered request):
// then each result is appended alone and a conflict there is that duplicate, dropped.
// Atomic, though results of different cases need no atomicity: an atomic batch costs
// the server one fsync where results published one by one cost one each (with
// SyncAlways, the durable setting, ~4,000 events/s against ~34,000 in batches of 1,000).
func (r *Runner) flush(ctx context.Context, b []pending) {
	if ctx.Err() != nil { // the stop's grace is over: hand back, append nothing
		for _, p := range b {
			r.nak(p)
		}
		return
	}
	// The same case twice in one batch (delivered again while its first result waits)
	// would escape the expectation, which covers a subject's first message only.
	seen := make(map[string]struct{}, len(b))
	var main, again []pending
	for _, p := range b {
		if _, dup := seen[p.env.Subject]; dup {
			again = append(again, p)
			continue
		}
		seen[p.env.Subject] = struct{}{}
		main = append(main, p)
	}
	defer func() {
		for _, p := range again {
			r.single(ctx, p)
		}
	}()
	if len(main) == 1 {
		r.single(ctx, main[0])
		return
	}
	expect := make(eventstore.Expect, len(main))
	envs := make([]domain.Envelope, len(main))
	for i, p := range main {
		expect[p.env.Subject] = 0
		envs[i] = p.env
	}
	actx, cancel := context.WithTimeout(ctx, r.cfg.AppendTimeout)
	_, err := r.log.Append(actx, expect, envs...)
	cancel()
	switch {
	case err == nil:
		r.m.appends.WithLabelValues("batch", "ok").Inc()
		r.recorded.Add(int64(len(main)))
		for _, p := range main {
			r.ack(ctx, p)
		}
	case errors.Is(err, domain.ErrConflict):
		r.m.appends.WithLabelValues("batch", "conflict").Inc()
		for _, p := range main {
			r.single(ctx, p)
		}
	default:
		r.m.appends.WithLabelValues("batch", "error").Inc()
		r.cfg.Logger.WithFields(logrus.Fields{"results": len(main), "err": err}).Error("runner: appending results failed; requests handed back")
		for _, p := range main {
			r.nak(p)
		}
	}
}

// single appends one result; a conflict means the case already has its result.
func (r *Runner) single(ctx context.Context, p pending) {
	if err := ctx.Err(); err != nil {
		r.settle(ctx, p, "single", err)
		return
	}
	actx, cancel := context.WithTimeout(ctx, r.cfg.AppendTimeout)
	_, err := r.log.Append(actx, eventstore.Expect{p.env.Subject: 0}, p.env)
	cancel()
	r.settle(ctx, p, "single", err)
}

// settle acknowledges a job whose result was appended (err nil) or was a duplicate (a
// conflict), and hands it back otherwise.
func (r *Runner) settle(ctx context.Context, p pending, kind string, err error) {
	switch {
	case err == nil:
		r.m.appends.WithLabelValues(kind, "ok").Inc()
		r.recorded.Add(1)
	case errors.Is(err, domain.ErrConflict):
		r.m.appends.WithLabelValues(kind, "conflict").Inc()
		r.duplicates.Add(1)
		r.m.duplicates.Inc()
		r.cfg.Logger.WithFields(logrus.Fields{"subject": p.env.Subject, "attempt": p.job.Attempt}).Debug("runner: case already has a result; duplicate dropped")
	default:
		r.m.appends.WithLabelValues(kind, "error").Inc()
		r.cfg.Logger.WithFields(logrus.Fields{"subject": p.env.Subject, "err": err}).Error("runner: appending a result failed; request handed back")
		r.nak(p)
		return
	}
	r.ack(ctx, p)
}

func (r *Runner) ack(ctx context.Context, p pending) {
	if p.job.Ack == nil {
		return
	}
	// Not cancelled with the stop's grace: the result is stored, an ack costs nothing.
	if err := p.job.Ack(context.WithoutCancel(ctx)); err != nil {
		// A lost ack only means a redelivery, which ends as a dropped duplicate.
		r.cfg.Logger.WithFields(logrus.Fields{"subject": p.env.Subject, "err": err}).Warn("runner: ack failed")
	}
}

func (r *Runner) nak(p pending) {
	r.retried.Add(1)
	if p.job.Nak == nil {
		return
	}
	if err := p.job.Nak(time.Second); err != nil {
		r.cfg.Logger.WithFields(logrus.Fields{"subject": p.env.Subject, "err": err}).Warn("runner: nak failed")
	}
}
