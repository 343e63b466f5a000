package tables

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/projections"
)

// ErrNoOpenFailure: Skip names a sequence at which the projection has no open failure.
var ErrNoOpenFailure = fmt.Errorf("no open failure at that sequence: %w", domain.ErrNotFound)

// RecordFailure stores a poison event a projection halted at; recording it again (after a
// restart) re-opens it and keeps the first time it was seen.
func (t *Tables) RecordFailure(ctx context.Context, f projections.Failure) error {
	row := failureRow{Projection: f.Projection, Seq: f.Seq, EventType: clip(f.EventType, 100),
		Reason: clip(f.Reason, 60_000), CreatedAt: t.now().UTC()}
	err := t.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).ModelTableExpr("?", bun.Ident(failuresTable)).Ignore().Returning("").Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewUpdate().TableExpr("?", bun.Ident(failuresTable)).Set("event_type = ?", row.EventType).
			Set("reason = ?", row.Reason).Set("resolved_at = NULL").
			Where("projection = ? AND seq = ?", row.Projection, row.Seq).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("tables: record failure of %s at %d: %w", f.Projection, f.Seq, err)
	}
	return nil
}

// OpenFailure is the projection's earliest unresolved failure, or nil.
func (t *Tables) OpenFailure(ctx context.Context, projection string) (*projections.Failure, error) {
	var row failureRow
	err := t.db.NewSelect().Model(&row).ModelTableExpr("? AS r", bun.Ident(failuresTable)).
		Where("r.projection = ? AND r.resolved_at IS NULL", projection).OrderExpr("r.seq").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tables: open failure of %s: %w", projection, err)
	}
	return &projections.Failure{Projection: row.Projection, Seq: row.Seq, EventType: row.EventType, Reason: row.Reason}, nil
}

// Skip resolves the open failure at seq and moves the projection's checkpoint to seq when
// it is below, in one transaction: the event is deliberately left out (a rebuild leaves it
// out too). It is ErrNoOpenFailure when no failure is open at seq.
func (t *Tables) Skip(ctx context.Context, projection string, seq uint64) error {
	err := t.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().TableExpr("?", bun.Ident(failuresTable)).Set("resolved_at = ?", t.now().UTC()).
			Where("projection = ? AND seq = ? AND resolved_at IS NULL", projection, seq).Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, ErrNoOpenFailure)
		}
		cp, err := lockCheckpoint(ctx, tx, projection, t.mysql, t.now)
		if err != nil || cp.Seq >= seq {
			return err
		}
		return storeCheckpoint(ctx, tx, projection, seq, cp.Epoch, t.now)
	})
	if err != nil {
		return fmt.Errorf("tables: skip %s at %d: %w", projection, seq, err)
	}
	return nil
}

// CheckpointRow is one projection's checkpoint, for `assay projections status`.
type CheckpointRow struct {
	Name      string    `json:"name"`
	Seq       uint64    `json:"seq"`
	Epoch     int64     `json:"epoch"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Checkpoints lists every checkpoint stored, by name (a negative epoch: a promotion is in
// progress, or stopped half-way and needs Recover).
func (t *Tables) Checkpoints(ctx context.Context) ([]CheckpointRow, error) {
	var rows []checkpointRow
	if err := t.db.NewSelect().Model(&rows).ModelTableExpr("? AS r", bun.Ident(checkpointsTable)).OrderExpr("r.name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("tables: checkpoints: %w", err)
	}
	out := make([]CheckpointRow, len(rows))
	for i, r := range rows {
		out[i] = CheckpointRow{Name: r.Name, Seq: r.Seq, Epoch: r.Epoch, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}

// SetCheckpoint stores a projection's checkpoint as given (creating the row).
func (t *Tables) SetCheckpoint(ctx context.Context, name string, cp projections.Checkpoint) error {
	return t.changeCheckpoint(ctx, name, func(projections.Checkpoint) projections.Checkpoint { return cp })
}

// ResetCheckpoint sets a projection's checkpoint to 0 in the next epoch: its engine notices
// and replays the whole log (the tables' handlers are idempotent, so this repairs them).
func (t *Tables) ResetCheckpoint(ctx context.Context, name string) error {
	return t.changeCheckpoint(ctx, name, func(cp projections.Checkpoint) projections.Checkpoint {
		return projections.Checkpoint{Seq: 0, Epoch: max(cp.Epoch, 0) + 1}
	})
}

func (t *Tables) changeCheckpoint(ctx context.Context, name string, fn func(projections.Checkpoint) projections.Checkpoint) error {
	err := t.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := lockCheckpoint(ctx, tx, name, t.mysql, t.now)
		if err != nil {
			return err
		}
		cp := fn(projections.Checkpoint{Seq: row.Seq, Epoch: row.Epoch})
		return storeCheckpoint(ctx, tx, name, cp.Seq, cp.Epoch, t.now)
	})
	if err != nil {
		return fmt.Errorf("tables: checkpoint %s: %w", name, err)
	}
	return nil
}

// clip cuts s to at most n characters, on a character boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
