package projections

import (
	"context"
	"fmt"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// RebuildOptions bound a rebuild.
type RebuildOptions struct {
	ToSeq     uint64 // 0 = up to the last sequence when the rebuild started
	BatchSize int    // events per transaction (default 1000)
	// Progress, if set, hears how far the rebuild got.
	Progress func(seq uint64, applied int)
}

// Rebuild replays the log from sequence 1 into a fresh copy of the projection and swaps it
// in at the end, so readers see the old read side until the new one is whole. A live
// projector notices the swap (a new epoch) and continues from the rebuilt checkpoint.
func Rebuild(ctx context.Context, store *eventstore.Store, p Rebuildable, opt RebuildOptions) (uint64, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	shadow, err := p.Shadow(ctx)
	if err != nil {
		return 0, fmt.Errorf("rebuild %s: shadow: %w", p.Name(), err)
	}
	through, err := replayInto(ctx, store, shadow, opt)
	if err != nil {
		if derr := p.Discard(context.WithoutCancel(ctx), shadow); derr != nil {
			err = fmt.Errorf("%w (and discarding the shadow: %v)", err, derr)
		}
		return 0, fmt.Errorf("rebuild %s: %w", p.Name(), err)
	}
	if err := p.Promote(ctx, shadow); err != nil {
		return 0, fmt.Errorf("rebuild %s: promote: %w", p.Name(), err)
	}
	return through, nil
}

// replayInto applies the log to a projection in batches and returns its last sequence.
// Reading and decoding the log (one goroutine) overlaps with applying the previous batch
// (this one): on a small machine the two halves use different cores.
func replayInto(ctx context.Context, store *eventstore.Store, p Projection, opt RebuildOptions) (uint64, error) {
	to := opt.ToSeq
	if to == 0 {
		last, err := store.LastSeq(ctx)
		if err != nil {
			return 0, err
		}
		to = last
	}
	cp, err := p.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []domain.Envelope, 2)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		buf := make([]domain.Envelope, 0, opt.BatchSize)
		err := store.Replay(ctx, cp.Seq, to, nil, func(env domain.Envelope) error {
			if buf = append(buf, env); len(buf) < opt.BatchSize {
				return nil
			}
			select {
			case batches <- buf:
				buf = make([]domain.Envelope, 0, opt.BatchSize)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err == nil && len(buf) > 0 {
			batches <- buf
		}
		readErr <- err
	}()
	applied := 0
	for buf := range batches {
		if err := p.Apply(ctx, cp.Epoch, buf, buf[len(buf)-1].Seq); err != nil {
			cancel()
			for range batches { // let the reader finish
			}
			return 0, err
		}
		applied += len(buf)
		if opt.Progress != nil {
			opt.Progress(buf[len(buf)-1].Seq, applied)
		}
	}
	if err := <-readErr; err != nil {
		return 0, err
	}
	if err := p.Apply(ctx, cp.Epoch, nil, to); err != nil { // the checkpoint reaches `to` even past the last event
		return 0, err
	}
	return to, nil
}
