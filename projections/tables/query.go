package tables

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/assay-dev/assay/domain"
)

// Reader answers the API's queries from the live tables. Every query is the owner's: a
// resource of another user is not found (an error wrapping domain.ErrNotFound), exactly
// like one that does not exist.
type Reader struct {
	db *bun.DB
}

// NewReader reads the tables of db.
func NewReader(db *bun.DB) *Reader { return &Reader{db: db} }

// AppliedSeq is the sequence the read side has applied (X-Assay-Seq).
func (r *Reader) AppliedSeq(ctx context.Context) (uint64, error) {
	cp, err := readCheckpoint(ctx, r.db, Name)
	return cp.Seq, err
}

// Page asks for one page of a list.
type Page struct {
	Limit  int    // 0 = DefaultLimit; more than MaxLimit is MaxLimit
	Cursor string // "" = the first page; else a List's Next
}

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

func (p Page) limit() (int, error) {
	switch {
	case p.Limit < 0:
		return 0, domain.Invalid("limit", "must be between 1 and %d", MaxLimit)
	case p.Limit == 0:
		return DefaultLimit, nil
	}
	return min(p.Limit, MaxLimit), nil
}

// cursor is a position in a list: the created_seq (or seq) of the last item, and the
// position within it for cases. Opaque to clients.
type cursor struct {
	seq uint64
	pos int
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte("c1:" + strconv.FormatUint(c.seq, 10) + ":" + strconv.Itoa(c.pos)))
}

func (p Page) cursor() (cursor, bool, error) {
	if p.Cursor == "" {
		return cursor{}, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	parts := strings.Split(string(b), ":")
	if err != nil || len(parts) != 3 || parts[0] != "c1" {
		return cursor{}, false, domain.Invalid("cursor", "is not a cursor of this list")
	}
	seq, err1 := strconv.ParseUint(parts[1], 10, 64)
	pos, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return cursor{}, false, domain.Invalid("cursor", "is not a cursor of this list")
	}
	return cursor{seq: seq, pos: pos}, true, nil
}

// pageOf turns limit+1 rows into a List: the extra row says there is a next page.
func pageOf[R any, T any](rows []R, limit int, conv func(R) T, at func(R) cursor) List[T] {
	out := List[T]{Items: make([]T, 0, min(len(rows), limit))}
	for i, row := range rows {
		if i == limit {
			out.Next = at(rows[i-1]).String()
			break
		}
		out.Items = append(out.Items, conv(row))
	}
	return out
}

// one reads the single row of q into dst; no row is domain.ErrNotFound about what/id.
func one(ctx context.Context, q *bun.SelectQuery, what, id string) error {
	err := q.Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.NotFound(what, id)
	}
	if err != nil {
		return fmt.Errorf("tables: read %s %q: %w", what, id, err)
	}
	return nil
}

func (r *Reader) sel(model any, table string) *bun.SelectQuery {
	return r.db.NewSelect().Model(model).ModelTableExpr("? AS r", bun.Ident(table))
}

// GetUser is a user (GET /me).
func (r *Reader) GetUser(ctx context.Context, id string) (User, error) {
	var row userRow
	if err := one(ctx, r.sel(&row, "users").Where("r.id = ?", id), "user", id); err != nil {
		return User{}, err
	}
	return User{ID: row.ID, Email: row.Email, Name: row.Name}, nil
}

// GetApp is one of the owner's apps, archived or not.
func (r *Reader) GetApp(ctx context.Context, owner, id string) (App, error) {
	var row appRow
	if err := one(ctx, r.sel(&row, "apps").Where("r.id = ? AND r.owner_id = ?", id, owner), "app", id); err != nil {
		return App{}, err
	}
	return appOf(row), nil
}

// ListApps lists the owner's apps that are not archived, in creation order.
func (r *Reader) ListApps(ctx context.Context, owner string, p Page) (List[App], error) {
	limit, err := p.limit()
	if err != nil {
		return List[App]{}, err
	}
	c, _, err := p.cursor()
	if err != nil {
		return List[App]{}, err
	}
	var rows []appRow
	err = r.sel(&rows, "apps").Where("r.owner_id = ? AND r.archived_at IS NULL AND r.created_seq > ?", owner, c.seq).
		OrderExpr("r.created_seq").Limit(int64(limit) + 1).Scan(ctx)
	if err != nil {
		return List[App]{}, fmt.Errorf("tables: list apps: %w", err)
	}
	return pageOf(rows, limit, appOf, func(a appRow) cursor { return cursor{seq: a.CreatedSeq} }), nil
}

func appOf(a appRow) App {
	return App{ID: a.ID, Name: a.Name, Description: a.Description, Environments: rawOf(a.Environments),
		DefaultEnvironment: a.DefaultEnvironment, NotifyEmails: rawOf(a.NotifyEmails), DisabledChecks: rawOf(a.DisabledChecks),
		Archived: !a.ArchivedAt.IsZero(), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// rawOf is a stored JSON column as a document ("null" when empty).
func rawOf(s string) []byte {
	if s == "" {
		return []byte("null")
	}
	return []byte(s)
}
