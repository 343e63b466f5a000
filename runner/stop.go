package runner

import (
	"context"
	"time"
)

// grace returns a context for the work in flight: it outlives ctx by StopTimeout, so
// that requests already sent finish and their results are appended, and is then
// cancelled, so that a request or an append that would not end (an append whose
// commit went to a stream leader that is gone) cannot hold the runner's stop. release
// stops the timer's goroutine; call it once Run is done.
func (r *Runner) grace(ctx context.Context) (bg context.Context, release func()) {
	bg, abort := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		t := time.NewTimer(r.cfg.StopTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			r.cfg.Logger.WithField("stop_timeout", r.cfg.StopTimeout).
				Warn("runner: stopping took too long; the work still in flight is cancelled and handed back")
			abort()
		case <-done:
		}
	}()
	return bg, func() { close(done); abort() }
}
