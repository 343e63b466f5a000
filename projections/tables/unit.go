package tables

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/projections"
)

// unit is one Apply: the rows its events touch, loaded once, changed in memory, written once.
type unit struct {
	t       *Tables
	tx      bun.Tx
	users   *set[userRow]
	apps    *set[appRow]
	ifaces  *set[ifaceRow]
	gens    *set[genRow]
	cases   *set[caseRow]
	batches *set[batchRow]
	reports *set[reportRow]
	results *resultSet
	ctx     context.Context
	owners  map[string]string // app → owner, learnt in this unit
	enc     *encoder
	scratch []byte
}

func newUnit(t *Tables, tx bun.Tx) *unit {
	return &unit{t: t, tx: tx,
		users:   newSet[userRow]("users", "id"),
		apps:    newSet[appRow]("apps", "id"),
		ifaces:  newSet[ifaceRow]("api_interface", "id"),
		gens:    newSet[genRow]("api_generation", "id"),
		cases:   newSet[caseRow]("api_testcase", "id"),
		batches: newSet[batchRow]("api_testbatch", "id"),
		reports: newSet[reportRow]("api_report", "batch_id"),
		owners:  map[string]string{},
		enc:     newEncoder(),
	}
}

// run folds events (in order, skipping the sequences in skip) into the rows and writes them.
func (u *unit) run(ctx context.Context, events []domain.Envelope, skip map[uint64]bool) error {
	u.ctx, u.results = ctx, u.newResultSet(len(events))
	defer u.results.wait()
	for _, env := range events {
		if !skip[env.Seq] {
			u.collect(env.Data)
		}
	}
	if err := u.load(ctx); err != nil {
		return err
	}
	for _, env := range events {
		if skip[env.Seq] {
			continue
		}
		if err := u.apply(env); err != nil {
			return projections.Poison(env, err)
		}
	}
	if err := u.flush(ctx); err != nil {
		return err
	}
	u.t.owners.put(u.owners)
	return nil
}

// needOwner asks for an app's row when its owner is not known yet.
func (u *unit) needOwner(app string) {
	if app == "" {
		return
	}
	if _, ok := u.owners[app]; ok {
		return
	}
	if o, ok := u.t.owners.get(app); ok {
		u.owners[app] = o
		return
	}
	u.apps.want(app)
}

// ownerOf is an app's owner ("" when the app is unknown: the row is then nobody's).
func (u *unit) ownerOf(app string) string {
	if o, ok := u.owners[app]; ok {
		return o
	}
	if e := u.apps.get(app); e != nil {
		return e.row.OwnerID
	}
	return ""
}

func (u *unit) load(ctx context.Context) error {
	if err := loadSet(ctx, u, u.apps); err != nil {
		return err
	}
	for _, e := range u.apps.m {
		if e.existed && e.row.OwnerID != "" {
			u.owners[e.row.ID] = e.row.OwnerID
		}
	}
	for _, err := range []error{loadSet(ctx, u, u.users), loadSet(ctx, u, u.ifaces), loadSet(ctx, u, u.gens),
		loadSet(ctx, u, u.cases), loadSet(ctx, u, u.batches), loadSet(ctx, u, u.reports)} {
		if err != nil {
			return err
		}
	}
	return nil
}

// keyed rows have a primary key and a seq.
type keyed interface {
	key() string
	seq() uint64
}

// entry is one row of a unit.
type entry[R keyed] struct {
	row     R
	existed bool // it was in the table when the unit began
	dirty   bool // an event changed it
	size    int  // its size in a statement, once checked
}

// set holds the rows of one table a unit touches, by primary key.
type set[R keyed] struct {
	base, pk string
	schema   *rowSchema
	wanted   []string
	m        map[string]*entry[R]
	order    []string // changed rows in the order they first changed
}

func newSet[R keyed](base, pk string) *set[R] {
	var zero R
	return &set[R]{base: base, pk: pk, schema: mustSchema(zero, base), m: map[string]*entry[R]{}}
}

// done records that an event changed a row (the handler set its seq) and checks that the
// table can store it.
func (s *set[R]) done(e *entry[R]) error {
	if !e.dirty {
		e.dirty = true
		s.order = append(s.order, e.row.key())
	}
	n, err := s.schema.check(&e.row)
	e.size = n
	return err
}

func (s *set[R]) want(key string) {
	if key != "" {
		s.wanted = append(s.wanted, key)
	}
}

func (s *set[R]) get(key string) *entry[R] { return s.m[key] }

// touch returns the row an event at seq changes, or nil when the row already holds that
// event (its seq is at or past it) or does not exist and create is nil. create makes the
// row when it does not exist. The handler sets the row's seq and calls done.
func (s *set[R]) touch(key string, seq uint64, create func() R) *entry[R] {
	e := s.m[key]
	if e == nil {
		if create == nil || key == "" {
			return nil
		}
		e = &entry[R]{row: create()}
		s.m[key] = e
		return e
	}
	if (e.existed || e.dirty) && e.row.seq() >= seq {
		return nil
	}
	return e
}

// loadSet reads the wanted rows of a set in one query per 1,000 keys.
func loadSet[R keyed](ctx context.Context, u *unit, s *set[R]) error {
	keys := dedupe(s.wanted)
	for start := 0; start < len(keys); start += 1000 {
		part := keys[start:min(start+1000, len(keys))]
		var rows []R
		err := u.tx.NewSelect().Model(&rows).ModelTableExpr("? AS r", u.t.ident(s.base)).
			Where("r.? IN (?)", bun.Ident(s.pk), bun.List(part)).Scan(ctx)
		if err != nil {
			return fmt.Errorf("load %s: %w", u.t.table(s.base), err)
		}
		for _, r := range rows {
			s.m[r.key()] = &entry[R]{row: r, existed: true}
		}
	}
	return nil
}

func dedupe(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
