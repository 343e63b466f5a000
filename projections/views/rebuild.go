package views

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/projections"
)

// Shadow is a fresh generation of the views, built beside the live one with its own
// checkpoint (starting at zero, epoch 0) until Promote makes it live or Discard drops it.
type Shadow struct {
	v   *Views
	gen int64
	key string // its checkpoint
}

// Name is "views".
func (s *Shadow) Name() string { return Name }

// Generation is the shadow's namespace number.
func (s *Shadow) Generation() int64 { return s.gen }

// Checkpoint is the shadow's own checkpoint.
func (s *Shadow) Checkpoint(ctx context.Context) (projections.Checkpoint, error) {
	st, err := readState(ctx, s.v.rdb, s.key)
	if err != nil {
		return projections.Checkpoint{}, err
	}
	if !st.exists {
		return projections.Checkpoint{}, errShadowGone
	}
	return projections.Checkpoint{Seq: st.seq, Epoch: st.epoch}, nil
}

// Apply writes the shadow's namespace, as Views.Apply writes the live one.
func (s *Shadow) Apply(ctx context.Context, epoch int64, events []domain.Envelope, through uint64) error {
	return s.v.apply(ctx, target{key: s.key, shadow: true}, epoch, events, through)
}

// Shadow allocates a new generation above every one used so far and creates its checkpoint.
func (v *Views) Shadow(ctx context.Context) (projections.Projection, error) {
	var s *Shadow
	err := v.retryTx(ctx, func(tx *redis.Tx) error {
		live, err := readState(ctx, tx, v.keys.live())
		if err != nil {
			return err
		}
		last, err := tx.Get(ctx, v.keys.gens()).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("views: read generation counter: %w", err)
		}
		gen := max(last, live.gen) + 1
		key := v.keys.ns(gen).ckpt()
		cmds, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, v.keys.gens(), gen, 0)
			p.HSet(ctx, key, "gen", gen, "seq", 0, "epoch", 0)
			return nil
		})
		if err = errors.Join(err, cmdsErr(cmds)); err != nil {
			return err
		}
		s = &Shadow{v: v, gen: gen, key: key}
		return nil
	}, v.keys.live(), v.keys.gens())
	if err != nil {
		return nil, fmt.Errorf("views: create shadow: %w", err)
	}
	return s, nil
}

// Promote switches the live pointer to the shadow's generation and sets the live checkpoint
// to the shadow's, in the next epoch, in one MULTI/EXEC; the shadow's own checkpoint goes in
// the same step (so a stale shadow writer stops). Then it deletes the old generation's keys.
func (v *Views) Promote(ctx context.Context, p projections.Projection) error {
	s, err := v.own(p)
	if err != nil {
		return err
	}
	var old int64
	err = v.retryTx(ctx, func(tx *redis.Tx) error {
		live, err := readState(ctx, tx, v.keys.live())
		if err != nil {
			return err
		}
		sh, err := readState(ctx, tx, s.key)
		if err != nil {
			return err
		}
		if !sh.exists {
			return errShadowGone
		}
		old = live.gen
		cmds, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, v.keys.live(), "gen", s.gen, "seq", sh.seq, "epoch", live.epoch+1)
			p.Del(ctx, s.key)
			return nil
		})
		return errors.Join(err, cmdsErr(cmds))
	}, v.keys.live(), s.key)
	if err != nil {
		return fmt.Errorf("views: promote generation %d: %w", s.gen, err)
	}
	if err := v.dropNamespace(ctx, v.keys.ns(old)); err != nil {
		return fmt.Errorf("views: promoted generation %d, but deleting generation %d failed: %w", s.gen, old, err)
	}
	return nil
}

// Discard drops a shadow that was not promoted: its checkpoint first (its writers stop),
// then its keys.
func (v *Views) Discard(ctx context.Context, p projections.Projection) error {
	s, err := v.own(p)
	if err != nil {
		return err
	}
	err = v.retryTx(ctx, func(tx *redis.Tx) error {
		live, err := readState(ctx, tx, v.keys.live())
		if err != nil {
			return err
		}
		if live.gen == s.gen {
			return fmt.Errorf("views: generation %d is live: it was promoted", s.gen)
		}
		cmds, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, s.key)
			return nil
		})
		return errors.Join(err, cmdsErr(cmds))
	}, v.keys.live(), s.key)
	if err == nil {
		err = v.dropNamespace(ctx, v.keys.ns(s.gen))
	}
	if err != nil {
		return fmt.Errorf("views: discard generation %d: %w", s.gen, err)
	}
	return nil
}

func (v *Views) own(p projections.Projection) (*Shadow, error) {
	s, ok := p.(*Shadow)
	if !ok || s == nil || s.v.keys != v.keys {
		return nil, fmt.Errorf("views: %T is not a shadow of these views (%s)", p, v.keys.root)
	}
	return s, nil
}

// dropNamespace deletes a generation's keys: SCAN, UNLINK in batches of 500.
func (v *Views) dropNamespace(ctx context.Context, n ns) error {
	const batchSize = 500
	batch := make([]string, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := v.rdb.Unlink(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	it := v.rdb.Scan(ctx, 0, n.pattern(), 1000).Iterator()
	for it.Next(ctx) {
		if batch = append(batch, it.Val()); len(batch) == batchSize {
			if err := flush(); err != nil {
				return fmt.Errorf("views: unlink keys of %s: %w", n, err)
			}
		}
	}
	if err := errors.Join(it.Err(), flush()); err != nil {
		return fmt.Errorf("views: delete keys of %s: %w", n, err)
	}
	return nil
}
