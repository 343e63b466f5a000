package runner

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

// hangingAppender never answers, as an atomic batch whose commit went to a stream leader
// that then went away: only the caller's context ends the call.
type hangingAppender struct {
	calls  atomic.Int64
	called chan struct{}
}

func (h *hangingAppender) Append(ctx context.Context, _ eventstore.Expect, _ ...domain.Envelope) ([]domain.Envelope, error) {
	if h.calls.Add(1) == 1 {
		close(h.called)
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// Once its context ends, a runner whose appends hang returns within StopTimeout (plus
// the end of one fetch), not after AppendTimeout; the jobs it held come back at once
// (handed back, not after AckWait) and another runner records each case once.
func TestRunnerStopIsBoundedWhenAppendsHang(t *testing.T) {
	t.Parallel()
	const n = 40
	store := estest.Start(t, catalog.New())
	tg := newTarget(t)
	appendRequests(t, store, tg, "app-1", "b-1", n)
	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	// AckWait a minute: a job not handed back would hold the second runner that long.
	srcCfg := JetStreamConfig{Prefetch: 8, MaxWait: 200 * time.Millisecond, AckWait: time.Minute, Logger: silent()}

	hang := &hangingAppender{called: make(chan struct{})}
	const stopTimeout = 500 * time.Millisecond
	r1, err := New(hang, ex, Config{Name: "r1", Concurrency: 8, AppendTimeout: time.Minute, StopTimeout: stopTimeout, Logger: silent()})
	if err != nil {
		t.Fatal(err)
	}
	src1, err := NewJetStreamSource(store, srcCfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- r1.Run(ctx, src1) }()
	select {
	case <-hang.called:
	case <-time.After(30 * time.Second):
		t.Fatal("no append was attempted")
	}
	cancel()
	stopped := time.Now()
	// The bound: StopTimeout, then the fetch in progress ends (MaxWait + 1 s at most).
	const bound = stopTimeout + 2*time.Second
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(bound + 5*time.Second):
		t.Fatalf("Run did not return within %v of the cancellation", bound+5*time.Second)
	}
	took := time.Since(stopped)
	t.Logf("Run returned %v after the cancellation (StopTimeout %v, AppendTimeout 1m)", took.Round(time.Millisecond), stopTimeout)
	if took > bound {
		t.Errorf("Run took %v to return, want at most %v", took, bound)
	}
	if st := r1.Stats(); st.Recorded != 0 || st.Retried == 0 {
		t.Errorf("first runner stats %+v: want nothing recorded and the jobs handed back", st)
	}

	r2, err := New(store, ex, Config{Name: "r2", Concurrency: 8, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	src2, err := NewJetStreamSource(store, srcCfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runUntil(t, r2, src2, func() bool { return r2.Stats().Recorded >= n })
	t.Logf("the second runner recorded %d cases in %v", n, time.Since(start).Round(time.Millisecond))
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the second runner took %v: jobs waited out their AckWait", d)
	}
	if counts := resultCounts(t, store, "app-1", "b-1"); len(counts) != n || total(counts) != n {
		t.Errorf("%d result subjects holding %d results, want %d each once", len(counts), total(counts), n)
	}
}
