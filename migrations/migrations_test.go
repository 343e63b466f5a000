package migrations_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/migrations"
)

func TestSQLite(t *testing.T) {
	suite(t, func(t *testing.T) *bun.DB {
		db, err := migrations.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "a.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	})
}

func TestMySQL(t *testing.T) {
	suite(t, func(t *testing.T) *bun.DB {
		db, err := migrations.OpenMySQL(context.Background(), testenv.NewMySQLDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	})
}

func suite(t *testing.T, open func(t *testing.T) *bun.DB) {
	t.Run("migrate twice, every table and index", func(t *testing.T) {
		db := open(t)
		ctx := context.Background()
		if err := migrations.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		if err := migrations.Migrate(ctx, db); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		st, err := migrations.Status(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 0 || len(st.Unapplied()) != 0 {
			t.Fatalf("migrations: %v, unapplied %v", st, st.Unapplied())
		}
		for _, tb := range migrations.Current() {
			cols := columnsOf(t, db, tb.Name)
			for _, c := range tb.Columns {
				if !slices.Contains(cols, c.Name) {
					t.Errorf("%s: column %s missing (have %v)", tb.Name, c.Name, cols)
				}
			}
			idx := indexesOf(t, db, tb.Name)
			for _, ix := range tb.Indexes {
				if !slices.Contains(idx, tb.IndexName(ix)) {
					t.Errorf("%s: index %s missing (have %v)", tb.Name, tb.IndexName(ix), idx)
				}
			}
		}
	})
	t.Run("utf8mb4 round trip", func(t *testing.T) {
		db := open(t)
		ctx := context.Background()
		if err := migrations.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		name := "Ünïcödé 🚀 名前 '; DROP TABLE users; -- \\ \" `x`"
		if _, err := db.ExecContext(ctx, "INSERT INTO users (id, email, name, seq) VALUES (?, ?, ?, ?)",
			"u1", "a@b.c", name, 1); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := db.NewSelect().TableExpr("users").Column("name").Where("id = ?", "u1").Scan(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if got != name {
			t.Fatalf("name = %q, want %q", got, name)
		}
	})
}

func columnsOf(t *testing.T, db *bun.DB, table string) []string {
	t.Helper()
	var cols []string
	var err error
	if db.Dialect().Name() == dialect.MySQL {
		err = db.NewSelect().TableExpr("information_schema.COLUMNS").Column("COLUMN_NAME").
			Where("TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", table).Scan(context.Background(), &cols)
	} else {
		err = db.NewSelect().TableExpr("pragma_table_info(?)", table).Column("name").Scan(context.Background(), &cols)
	}
	if err != nil {
		t.Fatalf("columns of %s: %v", table, err)
	}
	return cols
}

func indexesOf(t *testing.T, db *bun.DB, table string) []string {
	t.Helper()
	var idx []string
	var err error
	if db.Dialect().Name() == dialect.MySQL {
		err = db.NewSelect().TableExpr("information_schema.STATISTICS").ColumnExpr("DISTINCT INDEX_NAME").
			Where("TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", table).Scan(context.Background(), &idx)
	} else {
		err = db.NewSelect().TableExpr("sqlite_master").Column("name").
			Where("type = 'index' AND tbl_name = ?", table).Scan(context.Background(), &idx)
	}
	if err != nil {
		t.Fatalf("indexes of %s: %v", table, err)
	}
	return idx
}
