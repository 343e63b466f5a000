package tables

import (
	"context"
	"fmt"
)

// flush writes every changed row once: results first (their inserts decide the batches'
// counters), then the batches and the rest.
func (u *unit) flush(ctx context.Context) error {
	if err := writeSet(ctx, u, u.users); err != nil {
		return err
	}
	if err := writeSet(ctx, u, u.apps); err != nil {
		return err
	}
	if err := writeSet(ctx, u, u.ifaces); err != nil {
		return err
	}
	if err := writeSet(ctx, u, u.gens); err != nil {
		return err
	}
	if err := writeSet(ctx, u, u.cases); err != nil {
		return err
	}
	if err := u.insertResults(ctx); err != nil {
		return err
	}
	if err := writeSet(ctx, u, u.batches); err != nil {
		return err
	}
	return writeSet(ctx, u, u.reports)
}

// writeSet inserts a set's new rows (multi-row INSERT IGNORE) and updates its changed
// rows (UPDATE … SET every column … WHERE primary key).
func writeSet[R keyed](ctx context.Context, u *unit, s *set[R]) error {
	var fresh []R
	var sizes []int
	for _, k := range s.order {
		e := s.m[k]
		if !e.existed {
			fresh, sizes = append(fresh, e.row), append(sizes, e.size)
			continue
		}
		_, err := u.tx.NewUpdate().Model(&e.row).ModelTableExpr("? AS r", u.t.ident(s.base)).WherePK().Exec(ctx)
		if err != nil {
			return fmt.Errorf("update %s %q: %w", u.t.table(s.base), k, err)
		}
	}
	return insertRows(ctx, u, s.base, fresh, sizes)
}

// insertRows inserts rows with INSERT IGNORE (a row whose key exists is left alone) in
// chunks bounded by rows and bytes.
func insertRows[R any](ctx context.Context, u *unit, base string, rows []R, sizes []int) error {
	for _, c := range chunks(sizes, u.t.chunk) {
		part := rows[c.start:c.end]
		res, err := u.tx.NewInsert().Model(&part).ModelTableExpr("?", u.t.ident(base)).Ignore().Returning("").Exec(ctx)
		if _, err := affected(res, err, u.t.table(base), len(part)); err != nil {
			return err
		}
	}
	return nil
}

type chunkResult struct{ start, end, inserted int }

// chunks cuts rows into runs of at most c.rows rows and about c.bytes bytes.
func chunks(sizes []int, c chunking) []chunkResult {
	var out []chunkResult
	start, bytes := 0, 0
	for i, n := range sizes {
		if i > start && (i-start >= c.rows || bytes+n > c.bytes) {
			out = append(out, chunkResult{start: start, end: i})
			start, bytes = i, 0
		}
		bytes += n
	}
	if start < len(sizes) {
		out = append(out, chunkResult{start: start, end: len(sizes)})
	}
	return out
}
