// Package tables is the SQL read side of assay: one projection, "tables", that keeps the
// tables users know (users, apps, api_interface, api_testcase, api_generation,
// api_testbatch, api_result, api_report) in step with the log through bun, on MySQL /
// MariaDB or SQLite, and the Reader that answers the API's queries from them.
//
// Apply runs one transaction per batch of events: it locks the checkpoint row, loads every
// row the events touch in one query per table, folds the events into those rows in memory
// (an event at or below a row's seq is already in it and changes nothing), then writes each
// touched row once — new rows with multi-row INSERT IGNORE, changed rows with an UPDATE
// that sets every column explicitly (no ON DUPLICATE KEY UPDATE, no VALUES()) — and stores
// the checkpoint. Results (batch.case_executed, most of the log) are insert-only: they go
// out in prepared 500-row INSERT IGNOREs while the next chunk is being encoded, and a
// batch's counters move by exactly the rows those inserts added.
package tables

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
)

// Name is the projection's name: its checkpoint row and durable consumer.
const Name = "tables"

// Table names the projection does not rebuild.
const (
	checkpointsTable = "projection_checkpoints"
	failuresTable    = "projection_failures"
	shadowSuffix     = "_rebuild"
)

// Tables is the "tables" projection (or its shadow during a rebuild).
type Tables struct {
	db     *bun.DB
	mysql  bool
	name   string // checkpoint row
	live   string // the live projection's name, whose skipped failures are honoured
	suffix string // appended to every projected table's name ("" or "_rebuild")
	owners *ownerCache
	chunk  chunking
	now    nowFunc
	stmts  *stmts
}

type chunking struct{ rows, bytes int }

type nowFunc func() time.Time

// Option tunes a Tables.
type Option func(*Tables)

// WithInsertChunk bounds one multi-row INSERT (default 500 rows, 4 MiB).
func WithInsertChunk(rows, bytes int) Option {
	return func(t *Tables) {
		if rows > 0 {
			t.chunk.rows = rows
		}
		if bytes > 0 {
			t.chunk.bytes = bytes
		}
	}
}

// WithClock sets the clock of checkpoint and failure times (tests).
func WithClock(now func() time.Time) Option { return func(t *Tables) { t.now = now } }

// New is the "tables" projection on db, whose schema migrations.Migrate created.
func New(db *bun.DB, opts ...Option) *Tables {
	t := &Tables{db: db, mysql: db.Dialect().Name() == dialect.MySQL, name: Name, live: Name,
		owners: newOwnerCache(), chunk: chunking{rows: 500, bytes: 4 << 20}, now: time.Now, stmts: &stmts{}}
	for _, o := range opts {
		o(t)
	}
	return t
}

var (
	_ projections.Projection  = (*Tables)(nil)
	_ projections.Rebuildable = (*Tables)(nil)
	_ projections.Failures    = (*Tables)(nil)
)

// Name is the checkpoint row's name: "tables", or "tables_rebuild" for a shadow.
func (t *Tables) Name() string { return t.name }

// DB is the database the projection writes.
func (t *Tables) DB() *bun.DB { return t.db }

// table is the physical name of a projected table for this projection (live or shadow).
func (t *Tables) table(base string) string { return base + t.suffix }

func (t *Tables) ident(base string) bun.Ident { return bun.Ident(t.table(base)) }

// Checkpoint reads the stored checkpoint (zero when the projection never ran).
func (t *Tables) Checkpoint(ctx context.Context) (projections.Checkpoint, error) {
	return readCheckpoint(ctx, t.db, t.name)
}

func readCheckpoint(ctx context.Context, db bun.IDB, name string) (projections.Checkpoint, error) {
	var row checkpointRow
	err := db.NewSelect().Model(&row).ModelTableExpr("? AS r", bun.Ident(checkpointsTable)).
		Where("r.name = ?", name).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return projections.Checkpoint{}, nil
	}
	if err != nil {
		return projections.Checkpoint{}, fmt.Errorf("tables: read checkpoint %s: %w", name, err)
	}
	return projections.Checkpoint{Seq: row.Seq, Epoch: row.Epoch}, nil
}

// ownerCache remembers each app's owner, a fact that never changes, so the hot path
// (results) needs no lookup.
type ownerCache struct {
	mu sync.Mutex
	m  map[string]string
}

const maxOwners = 100_000

func newOwnerCache() *ownerCache { return &ownerCache{m: map[string]string{}} }

func (c *ownerCache) get(app string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.m[app]
	return o, ok
}

func (c *ownerCache) put(owners map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(owners) > maxOwners {
		c.m = map[string]string{}
	}
	for a, o := range owners {
		if a != "" && o != "" {
			c.m[a] = o
		}
	}
}

// projected is the definitions of the projected tables.
var projected = migrations.Projected()
