package migrations

import (
	"fmt"
	"strings"

	"github.com/uptrace/bun/dialect"
)

// Kind is a column's portable type; each dialect renders it (see sqlType).
type Kind int

// Column kinds. Strings are utf8mb4 on MySQL (binary collation: compared and returned exactly).
const (
	ID     Kind = iota // an identifier: VARCHAR(64)
	Str                // a short string: VARCHAR(Size), Size in characters
	Text               // a long string: MEDIUMTEXT (16 MiB)
	JSON               // a JSON document as text: LONGTEXT
	Int                // INT
	BigInt             // BIGINT
	Seq                // a stream sequence: BIGINT UNSIGNED
	Bool               // TINYINT(1)
	Float              // DOUBLE
	Time               // DATETIME(6), UTC, always nullable (NULL = unknown)
)

// MaxText is the most bytes a Text column holds (MySQL MEDIUMTEXT).
const MaxText = 1<<24 - 1

// Column is one column of a table.
type Column struct {
	Name string
	Kind Kind
	Size int  // Str: the most characters
	Null bool // may be NULL (Time columns always may)
}

// Index is a secondary index; its SQL name is <table>_<Name> (SQLite's index names are
// global to a database, so they carry the table's name).
type Index struct {
	Name    string
	Columns []string
	Unique  bool
	// Prefix indexes only the first N characters of a column on MySQL, which cannot index
	// a whole TEXT column; SQLite indexes the whole value.
	Prefix map[string]int
}

// Table is a table's definition, rendered per dialect by CreateTable and CreateIndexes.
type Table struct {
	Name       string
	Columns    []Column
	PrimaryKey []string
	Indexes    []Index
	// Projected tables are read models rebuilt from the log; the others are primary stores
	// (credentials, idempotency keys) or the projections' own bookkeeping.
	Projected bool
}

// Column finds a column by name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// IndexName is the SQL name of an index of the table.
func (t Table) IndexName(ix Index) string { return t.Name + "_" + ix.Name }

// CreateTable is the CREATE TABLE statement of t under the name `as` (t.Name when empty).
// On MySQL it includes the secondary indexes; on SQLite they are CreateIndexes.
func CreateTable(d dialect.Name, t Table, as string) string {
	if as == "" {
		as = t.Name
	}
	q := quoter(d)
	var parts []string
	for _, c := range t.Columns {
		null := " NOT NULL"
		if c.Null || c.Kind == Time {
			null = " NULL"
		}
		parts = append(parts, q(c.Name)+" "+sqlType(d, c)+null)
	}
	parts = append(parts, "PRIMARY KEY ("+quoteList(q, t.PrimaryKey)+")")
	if d == dialect.MySQL {
		for _, ix := range t.Indexes {
			kind := "KEY "
			if ix.Unique {
				kind = "UNIQUE KEY "
			}
			parts = append(parts, kind+q(t.IndexName(ix))+" ("+indexColumns(d, q, ix)+")")
		}
	}
	s := "CREATE TABLE IF NOT EXISTS " + q(as) + " (\n\t" + strings.Join(parts, ",\n\t") + "\n)"
	if d == dialect.MySQL {
		s += " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
	}
	return s
}

// CreateIndexes are the CREATE INDEX statements of t's secondary indexes on the table named
// `as` (t.Name when empty), for SQLite; MySQL has them in CreateTable and gets none.
func CreateIndexes(d dialect.Name, t Table, as string) []string {
	if d == dialect.MySQL {
		return nil
	}
	if as == "" {
		as = t.Name
	}
	q := quoter(d)
	out := make([]string, 0, len(t.Indexes))
	for _, ix := range t.Indexes {
		kind := "INDEX"
		if ix.Unique {
			kind = "UNIQUE INDEX"
		}
		out = append(out, fmt.Sprintf("CREATE %s IF NOT EXISTS %s ON %s (%s)", kind, q(t.IndexName(ix)), q(as), indexColumns(d, q, ix)))
	}
	return out
}

// DropTable drops a table if it exists.
func DropTable(d dialect.Name, name string) string {
	return "DROP TABLE IF EXISTS " + quoter(d)(name)
}

func sqlType(d dialect.Name, c Column) string {
	if d != dialect.MySQL {
		switch c.Kind {
		case ID, Str, Text, JSON:
			return "TEXT"
		case Int, BigInt, Seq, Bool:
			return "INTEGER"
		case Float:
			return "REAL"
		case Time:
			return "DATETIME"
		}
		panic(fmt.Sprintf("migrations: column %s: unknown kind %d", c.Name, c.Kind))
	}
	switch c.Kind {
	case ID:
		return "VARCHAR(64)"
	case Str:
		return fmt.Sprintf("VARCHAR(%d)", c.Size)
	case Text:
		return "MEDIUMTEXT"
	case JSON:
		return "LONGTEXT"
	case Int:
		return "INT"
	case BigInt:
		return "BIGINT"
	case Seq:
		return "BIGINT UNSIGNED"
	case Bool:
		return "TINYINT(1)"
	case Float:
		return "DOUBLE"
	case Time:
		return "DATETIME(6)"
	}
	panic(fmt.Sprintf("migrations: column %s: unknown kind %d", c.Name, c.Kind))
}

func indexColumns(d dialect.Name, q func(string) string, ix Index) string {
	cols := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		cols[i] = q(c)
		if n := ix.Prefix[c]; n > 0 && d == dialect.MySQL {
			cols[i] += fmt.Sprintf("(%d)", n)
		}
	}
	return strings.Join(cols, ", ")
}

// Quote quotes an identifier for a dialect.
func Quote(d dialect.Name, name string) string { return quoter(d)(name) }

func quoter(d dialect.Name) func(string) string {
	if d == dialect.MySQL {
		return func(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
	}
	return func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
}

func quoteList(q func(string) string, names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = q(n)
	}
	return strings.Join(out, ", ")
}
