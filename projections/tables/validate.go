package tables

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/assay-dev/assay/migrations"
)

// maxValue is the most bytes one JSON value may have: a statement must fit MariaDB's
// default max_allowed_packet (16 MiB) with room for the rest of its rows.
const maxValue = 8 << 20

// rowSchema checks a row struct against its table's column definitions before it is
// written, so that a value the database would refuse (or, worse, silently truncate under
// INSERT IGNORE) is a poison event naming the column, on every dialect alike.
type rowSchema struct {
	table  migrations.Table
	fields []fieldCheck
}

type fieldCheck struct {
	index int
	col   migrations.Column
	pk    bool
}

var schemas sync.Map // reflect.Type → *rowSchema

// schemaOf matches a row type's bun columns with a table's columns; every column of the
// table must have a field and every field a column.
func schemaOf(typ reflect.Type, table string) (*rowSchema, error) {
	if s, ok := schemas.Load(typ); ok {
		return s.(*rowSchema), nil
	}
	t, ok := migrations.Lookup(table)
	if !ok {
		return nil, fmt.Errorf("tables: no table %s in migrations", table)
	}
	s := &rowSchema{table: t}
	seen := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("bun"), ",")
		if f.Anonymous || name == "" || name == "-" {
			continue
		}
		c, ok := t.Column(name)
		if !ok {
			return nil, fmt.Errorf("tables: %s.%s (field %s) is not a column of the table", table, name, f.Name)
		}
		seen[name] = true
		s.fields = append(s.fields, fieldCheck{index: i, col: c, pk: slices.Contains(t.PrimaryKey, name)})
	}
	for _, c := range t.Columns {
		if !seen[c.Name] {
			return nil, fmt.Errorf("tables: column %s.%s has no field in %s", table, c.Name, typ)
		}
	}
	schemas.Store(typ, s)
	return s, nil
}

// mustSchema is schemaOf for the package's own row types, which a test keeps in step.
func mustSchema(row any, table string) *rowSchema {
	s, err := schemaOf(reflect.TypeOf(row), table)
	if err != nil {
		panic(err)
	}
	return s
}

// check reports the first value the table cannot store, and the row's approximate size
// in a statement. row is a pointer to a row struct.
func (s *rowSchema) check(row any) (int, error) {
	v := reflect.ValueOf(row).Elem()
	size := 0
	for _, f := range s.fields {
		n, err := checkValue(f, v.Field(f.index))
		if err != nil {
			return 0, fmt.Errorf("%s.%s: %w", s.table.Name, f.col.Name, err)
		}
		size += n + 8
	}
	return size, nil
}

func checkValue(f fieldCheck, v reflect.Value) (int, error) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		return len(s), checkString(f, s)
	case reflect.Int, reflect.Int64:
		if x := v.Int(); f.col.Kind == migrations.Int && (x > math.MaxInt32 || x < math.MinInt32) {
			return 0, fmt.Errorf("%d does not fit a 32-bit integer", x)
		}
	case reflect.Uint64:
		if x := v.Uint(); x > math.MaxInt64 {
			return 0, fmt.Errorf("%d does not fit a signed 64-bit integer", x)
		}
	case reflect.Float64:
		if x := v.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("%v is not a finite number", x)
		}
	case reflect.Struct:
		if x, ok := v.Addr().Interface().(*time.Time); ok && !x.IsZero() && (x.UTC().Year() < 1000 || x.UTC().Year() > 9999) {
			return 0, fmt.Errorf("time %s is outside years 1000–9999", x.UTC().Format(time.RFC3339))
		}
	}
	return 0, nil
}

func checkString(f fieldCheck, s string) error {
	switch {
	case f.pk && s == "":
		return fmt.Errorf("is empty")
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("contains a NUL character")
	case !utf8.ValidString(s):
		return fmt.Errorf("is not valid UTF-8")
	}
	switch f.col.Kind {
	case migrations.ID:
		if n := utf8.RuneCountInString(s); n > 64 {
			return fmt.Errorf("has %d characters, at most 64 fit", n)
		}
	case migrations.Str:
		if n := utf8.RuneCountInString(s); n > f.col.Size {
			return fmt.Errorf("has %d characters, at most %d fit", n, f.col.Size)
		}
	case migrations.Text:
		if len(s) > migrations.MaxText {
			return fmt.Errorf("has %d bytes, at most %d fit", len(s), migrations.MaxText)
		}
	case migrations.JSON:
		if len(s) > maxValue {
			return fmt.Errorf("has %d bytes, at most %d are stored", len(s), maxValue)
		}
	}
	return nil
}
