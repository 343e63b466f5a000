package tables

import (
	"context"
	"fmt"

	"github.com/assay-dev/assay/domain/batch"
)

func (t *tally) add(outcome string) { t.addN(outcome, 1) }

func (t *tally) addN(outcome string, n int) {
	switch outcome {
	case batch.Passed:
		t.passed += n
	case batch.Failed:
		t.failed += n
	case batch.Errored:
		t.errored += n
	case batch.Canceled:
		t.canceled += n
	}
}

// countResults moves a running batch's counters (a completed batch keeps the totals of
// batch.completed, which also count the cases that never ran).
func (u *unit) countResults(ctx context.Context, id string, t *tally) error {
	e := u.batches.get(id)
	if e == nil || !(e.existed || e.dirty) || !e.row.CompletedAt.IsZero() {
		return nil
	}
	r := &e.row
	if t.recount {
		var err error
		if t, err = u.recount(ctx, id, t.seq); err != nil {
			return err
		}
		r.Passed, r.Failed, r.Errored, r.Canceled = 0, 0, 0, 0
	}
	r.Passed, r.Failed, r.Errored, r.Canceled = r.Passed+t.passed, r.Failed+t.failed, r.Errored+t.errored, r.Canceled+t.canceled
	r.Seq = max(r.Seq, t.seq)
	return u.batches.done(e)
}

// recount counts a batch's results by outcome.
func (u *unit) recount(ctx context.Context, id string, seq uint64) (*tally, error) {
	var rows []struct {
		Outcome string `bun:"outcome"`
		N       int    `bun:"n"`
	}
	err := u.tx.NewSelect().TableExpr("?", u.t.ident("api_result")).ColumnExpr("outcome, COUNT(*) AS n").
		Where("batch_id = ?", id).Group("outcome").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count the results of batch %q: %w", id, err)
	}
	t := &tally{seq: seq}
	for _, r := range rows {
		t.addN(r.Outcome, r.N)
	}
	return t, nil
}
