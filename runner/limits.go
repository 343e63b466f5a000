package runner

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/assay-dev/assay/domain/batch"
)

// Per-batch limits. A batch's Settings.Concurrency and Settings.RatePerSecond travel on
// each of its execution requests; a runner keeps, per batch, a semaphore of Concurrency
// slots and a token bucket of RatePerSecond (burst 1), so this runner never has more
// than Concurrency requests of the batch in flight nor sends them faster than the rate.
//
// The limits are per process: several runners sharing a queue share a batch's limit
// only approximately (each enforces the whole limit on its own, so N runners may reach
// up to N times the limit). Exact global limits would need a shared limiter (or one
// runner per batch); the target sees at most that.
const (
	maxBatchLimits  = 4096             // batches whose limiters are kept at most (unless in use)
	batchLimitsIdle = 30 * time.Second // an unused batch's limiter is dropped after this
)

// batchKey names a batch across apps.
type batchKey struct{ app, batch string }

// batchLimit is one batch's semaphore and rate limiter.
type batchLimit struct {
	sem   chan struct{} // nil: no concurrency limit
	rate  *rate.Limiter // nil: no rate limit
	users int           // jobs holding or waiting for it; guarded by limits.mu
	last  time.Time     // when it was last released; guarded by limits.mu
}

// limits holds the limiters of the batches a runner is executing: a bounded map whose
// idle entries are dropped.
type limits struct {
	mu        sync.Mutex
	m         map[batchKey]*batchLimit
	lastSweep time.Time
	max       int
	idle      time.Duration
	now       func() time.Time
}

func newLimits() *limits {
	return &limits{m: make(map[batchKey]*batchLimit), max: maxBatchLimits, idle: batchLimitsIdle, now: time.Now}
}

// limited says whether a request carries any limit.
func limited(req batch.CaseExecutionRequested) bool {
	return req.Concurrency > 0 || req.RatePerSecond > 0
}

// get returns the batch's limiter, counted as used until put.
func (l *limits) get(req batch.CaseExecutionRequested) *batchLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= l.max || now.Sub(l.lastSweep) > l.idle/2 {
		l.sweep(now, len(l.m) >= l.max)
	}
	k := batchKey{req.AppID, req.BatchID}
	b, ok := l.m[k]
	if !ok {
		b = &batchLimit{}
		if req.Concurrency > 0 {
			b.sem = make(chan struct{}, req.Concurrency)
		}
		if req.RatePerSecond > 0 {
			b.rate = rate.NewLimiter(rate.Limit(req.RatePerSecond), 1)
		}
		// Beyond max only while every entry is in use, which the runner's own
		// concurrency bounds.
		l.m[k] = b
	}
	b.users++
	return b
}

// put releases a use of b.
func (l *limits) put(b *batchLimit) {
	l.mu.Lock()
	b.users--
	b.last = l.now()
	l.mu.Unlock()
}

// sweep drops unused limiters idle for longer than idle, or every unused one when full.
func (l *limits) sweep(now time.Time, full bool) {
	l.lastSweep = now
	for k, b := range l.m {
		if b.users == 0 && (full || now.Sub(b.last) > l.idle) {
			delete(l.m, k)
		}
	}
}

// size is the number of batches tracked.
func (l *limits) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// acquire waits until j's batch allows one more request: a free slot of its
// concurrency, then a token of its rate. While it waits, beat (if not nil) is called
// every interval so that the job's delivery is not given to another runner. It fails
// only when ctx ends; otherwise release must be called once the request is done.
func (l *limits) acquire(ctx context.Context, req batch.CaseExecutionRequested, interval time.Duration, beat func()) (release func(), err error) {
	if !limited(req) {
		return func() {}, nil
	}
	b := l.get(req)
	var tick <-chan time.Time
	if beat != nil && interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	held := false
	fail := func(err error) (func(), error) {
		if held {
			<-b.sem
		}
		l.put(b)
		return nil, err
	}
	if b.sem != nil {
		for !held {
			select {
			case b.sem <- struct{}{}:
				held = true
			case <-tick:
				beat()
			case <-ctx.Done():
				return fail(ctx.Err())
			}
		}
	}
	if b.rate != nil {
		r := b.rate.Reserve()
		if !r.OK() {
			return fail(context.Canceled) // burst 1 and n 1: cannot happen
		}
		if d := r.Delay(); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
		wait:
			for {
				select {
				case <-t.C:
					break wait
				case <-tick:
					beat()
				case <-ctx.Done():
					r.Cancel()
					return fail(ctx.Err())
				}
			}
		}
	}
	return func() {
		if held {
			<-b.sem
		}
		l.put(b)
	}, nil
}
