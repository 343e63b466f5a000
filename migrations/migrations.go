// Package migrations creates and evolves assay's SQL schema with bun/migrate, for MySQL 8 /
// MariaDB 10.11 (the real deployment) and SQLite (the embedded mode). Migrations are Go
// files named <digits>_<name>.go that register themselves; DDL that differs between the
// dialects is rendered from one table definition (schema.go), which the projections share
// to create identical shadow tables for rebuilds.
package migrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Migrations is every migration of assay, registered by the files of this package.
var Migrations = migrate.NewMigrations()

// LockWait is how long Migrate waits for another process's migration to finish.
var LockWait = 2 * time.Minute

// Migrate applies the migrations not applied yet. Each is marked applied only once it
// succeeded (MySQL's DDL is not transactional: a failed migration is re-run, so every
// migration is written to be re-runnable). Concurrent callers are serialised by bun's
// migration lock; a caller waits up to LockWait for it.
func Migrate(ctx context.Context, db *bun.DB) error {
	m := migrate.NewMigrator(db, Migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("migrate: create the migration tables: %w", err)
	}
	if err := lock(ctx, m); err != nil {
		return err
	}
	defer func() { _ = m.Unlock(context.WithoutCancel(ctx)) }()
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// lock takes bun's migration lock, retrying while another process holds it.
func lock(ctx context.Context, m *migrate.Migrator) error {
	deadline := time.Now().Add(LockWait)
	for {
		err := m.Lock(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("migrate: another migration holds the lock for more than %s "+
				"(if no migration runs, delete the row of bun_migration_locks): %w", LockWait, err)
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("migrate: waiting for the migration lock: %w", errors.Join(ctx.Err(), err))
		case <-t.C:
		}
	}
}

// Status lists every migration and whether it is applied.
func Status(ctx context.Context, db *bun.DB) (migrate.MigrationSlice, error) {
	m := migrate.NewMigrator(db, Migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate: create the migration tables: %w", err)
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: status: %w", err)
	}
	return ms, nil
}

// createTables creates tables and their indexes if they do not exist.
func createTables(ctx context.Context, db *bun.DB, tables []Table) error {
	name := db.Dialect().Name()
	for _, t := range tables {
		stmts := append([]string{CreateTable(name, t, "")}, CreateIndexes(name, t, "")...)
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("create %s: %w", t.Name, err)
			}
		}
	}
	return nil
}

// dropTables drops tables, in reverse order.
func dropTables(ctx context.Context, db *bun.DB, tables []Table) error {
	var errs []string
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := db.ExecContext(ctx, DropTable(db.Dialect().Name(), tables[i].Name)); err != nil {
			errs = append(errs, fmt.Sprintf("drop %s: %v", tables[i].Name, err))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
