package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// DefaultSQLitePath is the database Open uses for an empty DSN (ASSAY_DATA_DIR's default).
const DefaultSQLitePath = ".assay/assay.db"

// Open opens the database a DSN names: a MySQL DSN (user:pass@tcp(host:port)/db?…, or a
// mysql:// prefix) opens MySQL/MariaDB; anything else is a SQLite file path ("" is
// DefaultSQLitePath). It pings the database before answering.
func Open(ctx context.Context, dsn string) (*bun.DB, error) {
	if IsMySQLDSN(dsn) {
		return OpenMySQL(ctx, strings.TrimPrefix(dsn, "mysql://"))
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	if path == "" {
		path = DefaultSQLitePath
	}
	return OpenSQLite(ctx, path)
}

// IsMySQLDSN tells a go-sql-driver/mysql DSN from a file path.
func IsMySQLDSN(dsn string) bool {
	if strings.HasPrefix(dsn, "mysql://") {
		return true
	}
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return false
	}
	rest := dsn[at+1:]
	return strings.HasPrefix(rest, "tcp(") || strings.HasPrefix(rest, "unix(") || strings.HasPrefix(rest, "/")
}

// OpenSQLite opens (creating it and its directory if needed) a SQLite database file in WAL
// mode, with a busy timeout, foreign keys off, and immediate write transactions (a read
// that becomes a write never fails with SQLITE_BUSY half-way through).
func OpenSQLite(ctx context.Context, path string) (*bun.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(0)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	return ping(ctx, bun.NewDB(sqldb, sqlitedialect.New()), "sqlite "+path)
}

// OpenMySQL opens MySQL 8 / MariaDB 10.11 with times parsed in UTC and utf8mb4.
func OpenMySQL(ctx context.Context, dsn string) (*bun.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql dsn: %w", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// The driver talks utf8mb4 unless the DSN names another charset (v1.8+).
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql %s: %w", cfg.Addr, err)
	}
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxOpenConns(32)
	sqldb.SetMaxIdleConns(16)
	sqldb.SetConnMaxLifetime(30 * time.Minute)
	// A quick ping first: mysqldialect asks the server's version when the DB is made.
	if err := sqldb.PingContext(ctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("mysql %s/%s: %w", cfg.Addr, cfg.DBName, err)
	}
	return bun.NewDB(sqldb, mysqldialect.New(mysqldialect.WithTimeLocation("UTC"))), nil
}

func ping(ctx context.Context, db *bun.DB, what string) (*bun.DB, error) {
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return db, nil
}
