package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// 0001: every table of the first schema (tables_v1.go). Re-runnable: IF NOT EXISTS.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return createTables(ctx, db, v1)
	}, func(ctx context.Context, db *bun.DB) error {
		return dropTables(ctx, db, v1)
	})
}
