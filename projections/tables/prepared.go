package tables

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/assay-dev/assay/migrations"
)

// The hot path: a rebuild is mostly batch.case_executed, one api_result row each. Full
// chunks of results are inserted with a prepared multi-row INSERT IGNORE and bound
// arguments (no SQL text to build, escape or parse per chunk); other chunks and every other
// table go through bun.

// resultColumns are api_result's columns in resultRow's field order (resultRow.args').
var resultColumns = bunColumns(reflect.TypeOf(resultRow{}))

func bunColumns(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("bun"), ",")
		if !typ.Field(i).Anonymous && name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// args appends the row's values in resultColumns' order, as a driver takes them.
func (r *resultRow) args(dst []any) []any {
	return append(dst, r.BatchID, r.CaseID, r.AppID, r.OwnerID, r.InterfaceID, r.Outcome, r.StatusCode,
		r.DurationMS, r.Assertions, r.Error, r.Request, r.Response, r.Extracted, r.Runner, nullTime(r.ExecutedAt), int64(r.Seq))
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// stmts caches prepared statements by text; database/sql prepares each on every
// connection that runs it.
type stmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmts) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s, nil
	}
	s, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = s
	return s, nil
}

func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		_ = s.Close()
	}
	c.m = nil
}

// insertIgnoreSQL is a multi-row INSERT that leaves rows whose key exists alone.
func (t *Tables) insertIgnoreSQL(table string, cols []string, rows int) string {
	d := t.db.Dialect().Name()
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = migrations.Quote(d, c)
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	values := strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
	if t.mysql {
		return "INSERT IGNORE INTO " + migrations.Quote(d, table) + " (" + strings.Join(q, ",") + ") VALUES " + values
	}
	return "INSERT INTO " + migrations.Quote(d, table) + " (" + strings.Join(q, ",") + ") VALUES " + values + " ON CONFLICT DO NOTHING"
}

// insertResultChunk inserts one chunk of results and says how many were new: a full chunk
// with the prepared statement, another with bun.
func (u *unit) insertResultChunk(ctx context.Context, part []resultRow) (int, error) {
	table := u.t.table("api_result")
	if len(part) != u.t.chunk.rows {
		res, err := u.tx.NewInsert().Model(&part).ModelTableExpr("?", bun.Ident(table)).Ignore().Returning("").Exec(ctx)
		return affected(res, err, table, len(part))
	}
	stmt, err := u.t.stmts.get(ctx, u.t.db.DB, u.t.insertIgnoreSQL(table, resultColumns, len(part)))
	if err != nil {
		return 0, fmt.Errorf("prepare the insert into %s: %w", table, err)
	}
	args := make([]any, 0, len(part)*len(resultColumns))
	for i := range part {
		args = part[i].args(args)
	}
	res, err := u.tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	return affected(res, err, table, len(part))
}

func affected(res sql.Result, err error, table string, rows int) (int, error) {
	if err != nil {
		return 0, fmt.Errorf("insert %d rows into %s: %w", rows, table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("insert into %s: rows affected: %w", table, err)
	}
	return int(n), nil
}
