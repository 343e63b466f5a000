package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore/estest"
	"github.com/assay-dev/assay/projections"
)

// slowProjection takes longer than AckWait to apply a batch.
type slowProjection struct {
	*memProjection
	delay time.Duration
}

func (s slowProjection) Apply(ctx context.Context, epoch int64, evs []domain.Envelope, through uint64) error {
	if len(evs) > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.memProjection.Apply(ctx, epoch, evs, through)
}

// A fetch whose transaction outlasts AckWait is kept in progress: the other replica,
// pulling meanwhile, is not handed the same events.
func TestEngineKeepsAFetchInProgressWhileApplying(t *testing.T) {
	t.Parallel()
	s := estest.Start(t, catalog.New())
	last := appendApps(t, s, 0, 5, func(i int) string { return fmt.Sprint("app ", i) })
	proj := slowProjection{memProjection: newMem(), delay: 1500 * time.Millisecond}
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for range 2 {
		e, err := projections.NewEngine(s, proj, proj, projections.EngineConfig{BatchSize: 10, MaxWait: 20 * time.Millisecond,
			AckWait: time.Second, HaltPoll: 10 * time.Millisecond}, nil, log)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer func() { done <- struct{}{} }()
			if err := e.Run(ctx); err != nil {
				t.Errorf("run: %v", err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); <-done; <-done })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if cp, _ := proj.Checkpoint(ctx); cp.Seq >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the events were not applied")
		}
	}
	// Longer than AckWait: a lapsed delivery would be handed to the other replica, which
	// would apply it again (this projection does not check the checkpoint itself).
	time.Sleep(1200 * time.Millisecond)
	proj.mu.Lock()
	defer proj.mu.Unlock()
	if proj.applied != 5 || len(proj.names) != 5 {
		t.Errorf("%d events applied for %d apps, want 5 each once", proj.applied, len(proj.names))
	}
}
