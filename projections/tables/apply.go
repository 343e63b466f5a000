package tables

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/projections"
)

// ErrPromoting: a rebuild is being swapped in (MySQL); Apply fails with it, a transient
// error the engine retries, until the swap is done and the new epoch makes it
// ErrEpochChanged. It lasts if a promotion stopped half-way: Recover ends that.
var ErrPromoting = errors.New("tables: a rebuild is being promoted; retry")

// Apply applies events in one transaction and stores the checkpoint `through` with them.
// The checkpoint row is read first (and locked, on MySQL); if its epoch is not epoch
// nothing changes and the error is projections.ErrEpochChanged. An event whose data cannot
// be stored rolls everything back and is returned as a *projections.PoisonError. Applying
// an event again changes nothing. The checkpoint never moves backwards.
func (t *Tables) Apply(ctx context.Context, epoch int64, events []domain.Envelope, through uint64) error {
	err := t.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		cp, err := lockCheckpoint(ctx, tx, t.name, t.mysql, t.now)
		if err != nil {
			return err
		}
		if cp.Epoch != epoch {
			return fmt.Errorf("tables: %s is at epoch %d, not %d: %w", t.name, cp.Epoch, epoch, projections.ErrEpochChanged)
		}
		if cp.Epoch < 0 {
			return ErrPromoting
		}
		skip, err := t.skipped(ctx, tx, events)
		if err != nil {
			return err
		}
		u := newUnit(t, tx)
		if err := u.run(ctx, events, skip); err != nil {
			return err
		}
		return storeCheckpoint(ctx, tx, t.name, max(cp.Seq, through), cp.Epoch, t.now)
	})
	if err != nil {
		var pe *projections.PoisonError
		if errors.As(err, &pe) || errors.Is(err, projections.ErrEpochChanged) || errors.Is(err, ErrPromoting) {
			return err
		}
		return fmt.Errorf("tables: apply %d events through %d: %w", len(events), through, err)
	}
	return nil
}

// lockCheckpoint reads a checkpoint row inside tx, creating it when missing; on MySQL the
// row is locked until tx ends, so concurrent Applies and a Promote are serialised. (SQLite
// transactions are BEGIN IMMEDIATE: already exclusive for writers.)
func lockCheckpoint(ctx context.Context, tx bun.Tx, name string, mysql bool, now nowFunc) (checkpointRow, error) {
	for attempt := 0; ; attempt++ {
		var row checkpointRow
		q := tx.NewSelect().Model(&row).ModelTableExpr("? AS r", bun.Ident(checkpointsTable)).Where("r.name = ?", name)
		if mysql {
			q = q.For("UPDATE")
		}
		err := q.Scan(ctx)
		if err == nil {
			return row, nil
		}
		if !errors.Is(err, sql.ErrNoRows) || attempt > 0 {
			return row, fmt.Errorf("lock checkpoint %s: %w", name, err)
		}
		row = checkpointRow{Name: name, UpdatedAt: now().UTC()}
		if _, err := tx.NewInsert().Model(&row).ModelTableExpr("?", bun.Ident(checkpointsTable)).Ignore().Returning("").Exec(ctx); err != nil {
			return row, fmt.Errorf("create checkpoint %s: %w", name, err)
		}
	}
}

func storeCheckpoint(ctx context.Context, db bun.IDB, name string, seq uint64, epoch int64, now nowFunc) error {
	_, err := db.NewUpdate().TableExpr("?", bun.Ident(checkpointsTable)).
		Set("seq = ?", seq).Set("epoch = ?", epoch).Set("updated_at = ?", now().UTC()).
		Where("name = ?", name).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store checkpoint %s at %d: %w", name, seq, err)
	}
	return nil
}

// skipped is the set of sequences among events that an operator skipped on the live
// projection: a rebuild leaves them out too, so that it equals the live tables.
func (t *Tables) skipped(ctx context.Context, tx bun.Tx, events []domain.Envelope) (map[uint64]bool, error) {
	if len(events) == 0 {
		return nil, nil
	}
	lo, hi := events[0].Seq, events[0].Seq
	for _, e := range events {
		lo, hi = min(lo, e.Seq), max(hi, e.Seq)
	}
	var seqs []uint64
	err := tx.NewSelect().TableExpr("?", bun.Ident(failuresTable)).Column("seq").
		Where("projection = ?", t.live).Where("seq BETWEEN ? AND ?", lo, hi).
		Where("resolved_at IS NOT NULL").Scan(ctx, &seqs)
	if err != nil {
		return nil, fmt.Errorf("read skipped events: %w", err)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	out := make(map[uint64]bool, len(seqs))
	for _, s := range seqs {
		out[s] = true
	}
	return out, nil
}
