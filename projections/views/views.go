package views

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/projections"
)

// Views is the "views" projection over one Redis (one key prefix).
type Views struct {
	rdb    redis.UniversalClient
	cfg    Config
	keys   keys
	loaded atomic.Bool // scripts are in the server's cache, as far as we know
}

var (
	_ projections.Rebuildable = (*Views)(nil)
	_ projections.Projection  = (*Shadow)(nil)
)

// New is the projection. It panics on a config Validate refuses: validate configs read from
// outside first.
func New(rdb redis.UniversalClient, cfg Config) *Views {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Views{rdb: rdb, cfg: cfg, keys: newKeys(cfg.KeyPrefix)}
}

// Name is "views".
func (v *Views) Name() string { return Name }

// Reader reads these views.
func (v *Views) Reader() *Reader { return NewReader(v.rdb, v.cfg) }

// Checkpoint is the live checkpoint (zero when the projection never ran).
func (v *Views) Checkpoint(ctx context.Context) (projections.Checkpoint, error) {
	st, err := readState(ctx, v.rdb, v.keys.live())
	if err != nil {
		return projections.Checkpoint{}, err
	}
	return projections.Checkpoint{Seq: st.seq, Epoch: st.epoch}, nil
}

// Apply applies events to the live generation and stores the checkpoint in the same
// MULTI/EXEC, watched: see apply.
func (v *Views) Apply(ctx context.Context, epoch int64, events []domain.Envelope, through uint64) error {
	return v.apply(ctx, target{key: v.keys.live()}, epoch, events, through)
}

// target is where a checkpoint lives: the live key, or a shadow's own key.
type target struct {
	key    string
	shadow bool // a shadow's key must exist: once gone, the shadow was promoted or discarded
}

// errShadowGone: the shadow was promoted or discarded; its writers must stop, as after an epoch change.
var errShadowGone = fmt.Errorf("views: the shadow was promoted or discarded: %w", projections.ErrEpochChanged)

const maxAttempts = 8

// apply WATCHes the checkpoint key, reads the checkpoint (its generation names the namespace),
// checks the epoch, skips events at or below the checkpoint, then queues a script call per
// event (results in a row share one) and the checkpoint script in one MULTI/EXEC: three round
// trips (WATCH, HMGET, MULTI…EXEC), whatever the number of events.
func (v *Views) apply(ctx context.Context, t target, epoch int64, events []domain.Envelope, through uint64) error {
	for attempt := 1; ; attempt++ {
		if err := v.ensureScripts(ctx); err != nil {
			return err
		}
		err := v.rdb.Watch(ctx, func(tx *redis.Tx) error {
			return v.applyTx(ctx, tx, t, epoch, events, through)
		}, t.key)
		switch {
		case err == nil:
			return nil
		case attempt < maxAttempts && errors.Is(err, redis.TxFailedErr):
			continue // the checkpoint key changed under us: read it again
		case attempt < maxAttempts && redis.HasErrorPrefix(err, "NOSCRIPT"):
			v.loaded.Store(false) // the server lost its scripts (restart, SCRIPT FLUSH); nothing moved
			continue
		}
		return err
	}
}

func (v *Views) applyTx(ctx context.Context, tx *redis.Tx, t target, epoch int64, events []domain.Envelope, through uint64) error {
	st, err := readState(ctx, tx, t.key)
	switch {
	case err != nil:
		return err
	case t.shadow && !st.exists:
		return errShadowGone
	case st.epoch != epoch:
		return fmt.Errorf("views: stored epoch %d, applying in %d: %w", st.epoch, epoch, projections.ErrEpochChanged)
	}
	n := v.keys.ns(st.gen)
	plan, err := compileAll(v.cfg, n, events, st.seq)
	if err != nil {
		return err
	}
	seq := max(st.seq, through, plan.last)
	if plan.events == 0 && seq == st.seq {
		return nil
	}
	cmds, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, n.applying())
		for _, o := range plan.ops {
			o.s.queue(ctx, p, o.keys, o.args...)
		}
		checkpointScript.queue(ctx, p, []string{t.key, n.applying()}, plan.events, st.gen, seq, epoch)
		return nil
	})
	if errors.Is(err, redis.TxFailedErr) {
		return err
	}
	// TxPipelined reports only the first failure: look at every command's.
	if cerr := cmdsErr(cmds); cerr != nil || err != nil {
		return fmt.Errorf("views: apply %d events through %d to %s: %w", plan.events, seq, n, errors.Join(cerr, err))
	}
	return nil
}

func (v *Views) ensureScripts(ctx context.Context) error {
	if v.loaded.Load() {
		return nil
	}
	if err := loadScripts(ctx, v.rdb); err != nil {
		return err
	}
	v.loaded.Store(true)
	return nil
}

// state is a checkpoint hash: the generation it points at, the sequence and the epoch.
type state struct {
	gen    int64
	seq    uint64
	epoch  int64
	exists bool
}

func readState(ctx context.Context, c redis.Cmdable, key string) (state, error) {
	vals, err := c.HMGet(ctx, key, "gen", "seq", "epoch").Result()
	if err != nil {
		return state{}, fmt.Errorf("views: read checkpoint %s: %w", key, err)
	}
	var st state
	var perr error
	parse := func(i int, set func(string) error) {
		s, ok := vals[i].(string)
		if !ok {
			return
		}
		st.exists = true
		if err := set(s); err != nil {
			perr = errors.Join(perr, err)
		}
	}
	parse(0, func(s string) (err error) { st.gen, err = strconv.ParseInt(s, 10, 64); return })
	parse(1, func(s string) (err error) { st.seq, err = strconv.ParseUint(s, 10, 64); return })
	parse(2, func(s string) (err error) { st.epoch, err = strconv.ParseInt(s, 10, 64); return })
	if perr != nil {
		return state{}, fmt.Errorf("views: checkpoint %s is damaged: %w", key, perr)
	}
	return st, nil
}

// cmdsErr joins the errors of every command (a few of them, and how many in all).
func cmdsErr(cmds []redis.Cmder) error {
	var errs []error
	failed := 0
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			if failed++; failed <= 3 {
				errs = append(errs, fmt.Errorf("command %d (%s): %w", i, c.Name(), err))
			}
		}
	}
	if failed > 3 {
		errs = append(errs, fmt.Errorf("and %d more failed commands", failed-3))
	}
	return errors.Join(errs...)
}

// retryTx runs fn under WATCH keys, again while a watched key changes before EXEC.
func (v *Views) retryTx(ctx context.Context, fn func(tx *redis.Tx) error, keys ...string) error {
	for attempt := 1; ; attempt++ {
		err := v.rdb.Watch(ctx, fn, keys...)
		if attempt < maxAttempts && errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return err
	}
}
