package tables

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
)

// Shadow creates fresh, empty <table>_rebuild tables (the DDL migrations uses; on SQLite the
// secondary indexes come at Promote, so the replay does not maintain them) and a shadow
// checkpoint "tables_rebuild", and returns the projection that writes them. Leftovers of an
// earlier rebuild are dropped first. Only one rebuild may run at a time.
func (t *Tables) Shadow(ctx context.Context) (projections.Projection, error) {
	if t.suffix != "" {
		return nil, errors.New("tables: a shadow has no shadow")
	}
	if err := t.Recover(ctx); err != nil {
		return nil, err
	}
	live, err := t.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	s := &Tables{db: t.db, mysql: t.mysql, name: t.name + shadowSuffix, live: t.name, suffix: shadowSuffix,
		owners: newOwnerCache(), chunk: t.chunk, now: t.now, stmts: &stmts{}}
	d := t.db.Dialect().Name()
	for _, tb := range projected {
		for _, stmt := range []string{migrations.DropTable(d, s.table(tb.Name)), migrations.CreateTable(d, tb, s.table(tb.Name))} {
			if _, err := t.db.ExecContext(ctx, stmt); err != nil {
				return nil, fmt.Errorf("tables: shadow %s: %w", s.table(tb.Name), err)
			}
		}
	}
	if err := t.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := lockCheckpoint(ctx, tx, s.name, t.mysql, t.now); err != nil {
			return err
		}
		return storeCheckpoint(ctx, tx, s.name, 0, live.Epoch+1, t.now)
	}); err != nil {
		return nil, fmt.Errorf("tables: shadow checkpoint: %w", err)
	}
	return s, nil
}

// Discard drops a shadow's tables and checkpoint.
func (t *Tables) Discard(ctx context.Context, shadow projections.Projection) error {
	s, err := t.shadowOf(shadow)
	if err != nil {
		return err
	}
	if err := t.Recover(ctx); err != nil {
		return err
	}
	s.stmts.close()
	if err := dropAll(ctx, t.db, s.suffix); err != nil {
		return err
	}
	if _, err := t.db.NewDelete().TableExpr("?", bun.Ident(checkpointsTable)).Where("name = ?", s.name).Exec(ctx); err != nil {
		return fmt.Errorf("tables: discard checkpoint %s: %w", s.name, err)
	}
	return nil
}

// Promote swaps the shadow's tables in: readers see the old tables or the new ones, never
// neither. The live checkpoint becomes the shadow's, in the next epoch.
func (t *Tables) Promote(ctx context.Context, shadow projections.Projection) error {
	s, err := t.shadowOf(shadow)
	if err != nil {
		return err
	}
	if err := t.Recover(ctx); err != nil {
		return err
	}
	s.stmts.close()
	if !t.mysql {
		return t.promoteSQLite(ctx, s)
	}
	return t.promoteMySQL(ctx, s)
}

func (t *Tables) shadowOf(p projections.Projection) (*Tables, error) {
	s, ok := p.(*Tables)
	if !ok || s.suffix == "" || s.live != t.name || s.db != t.db {
		return nil, fmt.Errorf("tables: %v is not a shadow of %s", p.Name(), t.name)
	}
	return s, nil
}

// promoteSQLite swaps everything in one transaction: SQLite's DDL is transactional, and a
// reader keeps the snapshot it started with.
func (t *Tables) promoteSQLite(ctx context.Context, s *Tables) error {
	d := t.db.Dialect().Name()
	err := t.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		live, err := lockCheckpoint(ctx, tx, t.name, false, t.now)
		if err != nil {
			return err
		}
		sh, err := shadowCheckpoint(ctx, tx, s.name)
		if err != nil {
			return err
		}
		for _, tb := range projected {
			stmts := []string{migrations.DropTable(d, tb.Name),
				"ALTER TABLE " + migrations.Quote(d, s.table(tb.Name)) + " RENAME TO " + migrations.Quote(d, tb.Name)}
			for _, stmt := range append(stmts, migrations.CreateIndexes(d, tb, "")...) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("swap %s: %w", tb.Name, err)
				}
			}
		}
		if err := storeCheckpoint(ctx, tx, t.name, sh.Seq, live.Epoch+1, t.now); err != nil {
			return err
		}
		_, err = tx.NewDelete().TableExpr("?", bun.Ident(checkpointsTable)).Where("name = ?", s.name).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("tables: promote: %w", err)
	}
	return nil
}

// promoteMySQL: MySQL's DDL commits, so the swap takes three steps. The live checkpoint's
// epoch is first set to -(next epoch), which stops live Applies before they touch a table
// (they retry); then one RENAME TABLE swaps every table atomically; then the checkpoint
// takes the shadow's sequence and the next epoch. Recover finishes or undoes a promotion
// that stopped half-way.
func (t *Tables) promoteMySQL(ctx context.Context, s *Tables) error {
	if err := dropAll(ctx, t.db, "_old"); err != nil {
		return err
	}
	err := t.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		live, err := lockCheckpoint(ctx, tx, t.name, true, t.now)
		if err != nil {
			return err
		}
		if _, err := shadowCheckpoint(ctx, tx, s.name); err != nil {
			return err
		}
		return storeCheckpoint(ctx, tx, t.name, live.Seq, -(live.Epoch + 1), t.now)
	})
	if err != nil {
		return fmt.Errorf("tables: promote: stop the live projection: %w", err)
	}
	var pairs []string
	for _, tb := range projected {
		q := func(n string) string { return migrations.Quote(dialect.MySQL, n) }
		pairs = append(pairs, q(tb.Name)+" TO "+q(tb.Name+"_old"), q(s.table(tb.Name))+" TO "+q(tb.Name))
	}
	if _, err := t.db.ExecContext(ctx, "RENAME TABLE "+strings.Join(pairs, ", ")); err != nil {
		return errors.Join(fmt.Errorf("tables: promote: rename: %w", err), t.Recover(context.WithoutCancel(ctx)))
	}
	return t.finishPromotion(ctx, s.name)
}

// finishPromotion moves the live checkpoint to the shadow's and drops the old tables.
// Without the shadow's checkpoint the tables are replayed from 0 (the handlers are
// idempotent: slow, but right).
func (t *Tables) finishPromotion(ctx context.Context, shadowName string) error {
	err := t.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		live, err := lockCheckpoint(ctx, tx, t.name, true, t.now)
		if err != nil || live.Epoch >= 0 {
			return err
		}
		sh, err := readCheckpoint(ctx, tx, shadowName)
		if err != nil {
			return err
		}
		if err := storeCheckpoint(ctx, tx, t.name, sh.Seq, -live.Epoch, t.now); err != nil {
			return err
		}
		_, err = tx.NewDelete().TableExpr("?", bun.Ident(checkpointsTable)).Where("name = ?", shadowName).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("tables: promote: move the checkpoint: %w", err)
	}
	return dropAll(ctx, t.db, "_old")
}

// Recover finishes a MySQL promotion that stopped after its RENAME, or undoes one that
// stopped before it (the live checkpoint's epoch is negative meanwhile). Shadow, Promote
// and Discard call it; it must not run beside a promotion in progress.
func (t *Tables) Recover(ctx context.Context) error {
	if !t.mysql {
		return nil
	}
	live, err := readCheckpoint(ctx, t.db, t.name)
	if err != nil || live.Epoch >= 0 {
		return err
	}
	n, err := t.db.NewSelect().TableExpr("information_schema.TABLES").
		Where("TABLE_SCHEMA = DATABASE()").Where("TABLE_NAME = ?", projected[0].Name+shadowSuffix).Count(ctx)
	if err != nil {
		return fmt.Errorf("tables: recover: %w", err)
	}
	if n == 0 { // renamed: finish
		return t.finishPromotion(ctx, t.name+shadowSuffix)
	}
	_, err = t.db.NewUpdate().TableExpr("?", bun.Ident(checkpointsTable)).Set("epoch = ?", -live.Epoch-1).
		Where("name = ? AND epoch = ?", t.name, live.Epoch).Exec(ctx)
	if err != nil {
		return fmt.Errorf("tables: recover: restore the epoch: %w", err)
	}
	return nil
}

// shadowCheckpoint is a shadow's checkpoint, which must exist.
func shadowCheckpoint(ctx context.Context, db bun.IDB, name string) (projections.Checkpoint, error) {
	n, err := db.NewSelect().TableExpr("?", bun.Ident(checkpointsTable)).Where("name = ?", name).Count(ctx)
	if err != nil {
		return projections.Checkpoint{}, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	if n == 0 {
		return projections.Checkpoint{}, fmt.Errorf("no shadow %s (discarded, or promoted already)", name)
	}
	return readCheckpoint(ctx, db, name)
}

func dropAll(ctx context.Context, db *bun.DB, suffix string) error {
	for _, tb := range projected {
		if _, err := db.ExecContext(ctx, migrations.DropTable(db.Dialect().Name(), tb.Name+suffix)); err != nil {
			return fmt.Errorf("tables: drop %s%s: %w", tb.Name, suffix, err)
		}
	}
	return nil
}
