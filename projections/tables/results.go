package tables

import (
	"context"
)

var resultSchema = mustSchema(resultRow{}, "api_result")

// resultSet is the results a unit adds, once per (batch, case). Each full chunk is inserted
// on the transaction in the background while the unit goes on folding events (which needs
// no database): one statement at a time, in order. A unit that fails is rolled back whole.
type resultSet struct {
	rows    []resultRow
	seen    map[[2]string]bool
	chunk   chunking
	start   int // first row not sent yet
	bytes   int // their size
	done    []chunkResult
	running chan struct{} // closed when the chunk being inserted is done; nil when idle
	err     error
	insert  func(context.Context, []resultRow) (int, error)
}

func (u *unit) newResultSet(n int) *resultSet {
	return &resultSet{rows: make([]resultRow, 0, n), seen: map[[2]string]bool{}, chunk: u.t.chunk, insert: u.insertResultChunk}
}

// add keeps a result (not one already kept), first sending the pending rows when it would
// not fit their chunk.
func (s *resultSet) add(ctx context.Context, r resultRow, size int) {
	k := [2]string{r.BatchID, r.CaseID}
	if s.seen[k] {
		return
	}
	s.seen[k] = true
	if n := len(s.rows) - s.start; n > 0 && (n >= s.chunk.rows || s.bytes+size > s.chunk.bytes) {
		s.send(ctx)
	}
	s.rows = append(s.rows, r)
	s.bytes += size
}

// send inserts the pending rows after the previous chunk is done.
func (s *resultSet) send(ctx context.Context) {
	s.wait()
	c := chunkResult{start: s.start, end: len(s.rows)}
	s.start, s.bytes = c.end, 0
	if s.err != nil || c.end == c.start {
		return
	}
	part, ch := s.rows[c.start:c.end], make(chan struct{})
	s.running = ch
	go func() {
		defer close(ch)
		c.inserted, s.err = s.insert(ctx, part)
		s.done = append(s.done, c)
	}()
}

// wait lets the chunk being inserted finish (before the transaction is used or ends).
func (s *resultSet) wait() {
	if s.running != nil {
		<-s.running
		s.running = nil
	}
}

// finish inserts what is pending and reports each chunk and how many of its rows were new.
func (s *resultSet) finish(ctx context.Context) ([]chunkResult, error) {
	s.send(ctx)
	s.wait()
	return s.done, s.err
}

// tally is what a unit's inserted results add to one batch.
type tally struct {
	passed, failed, errored, canceled int
	recount                           bool // a chunk had rows that already existed: count them all
	seq                               uint64
}

// insertResults finishes the results' inserts and moves each batch's counters by exactly
// the rows inserted: all of a chunk inserted → add its outcomes; else (a replay) recount.
func (u *unit) insertResults(ctx context.Context) error {
	done, err := u.results.finish(ctx)
	if err != nil {
		return err
	}
	tallies := map[string]*tally{}
	var order []string
	for _, c := range done {
		for _, r := range u.results.rows[c.start:c.end] {
			t := tallies[r.BatchID]
			if t == nil {
				t = &tally{}
				tallies[r.BatchID] = t
				order = append(order, r.BatchID)
			}
			t.seq = max(t.seq, r.Seq)
			if c.inserted < c.end-c.start {
				t.recount = true
				continue
			}
			t.add(r.Outcome)
		}
	}
	for _, id := range order {
		if err := u.countResults(ctx, id, tallies[id]); err != nil {
			return err
		}
	}
	return nil
}
