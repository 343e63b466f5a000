package tables

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/assay-dev/assay/migrations"
)

// Checksum is a digest of each projected table (keyed by its live name, also for a
// shadow): every column of every row, seq included, rows in primary-key order. A rebuild
// from the same log gives the same digests as the live tables, row for row.
func (t *Tables) Checksum(ctx context.Context) (map[string]string, error) {
	out := make(map[string]string, len(projected))
	for _, tb := range projected {
		sum, err := t.checksumTable(ctx, tb)
		if err != nil {
			return nil, err
		}
		out[tb.Name] = sum
	}
	return out, nil
}

func (t *Tables) checksumTable(ctx context.Context, tb migrations.Table) (string, error) {
	d := t.db.Dialect().Name()
	cols := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		cols[i] = migrations.Quote(d, c.Name)
	}
	pk := make([]string, len(tb.PrimaryKey))
	for i, c := range tb.PrimaryKey {
		pk[i] = migrations.Quote(d, c)
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + migrations.Quote(d, t.table(tb.Name)) + " ORDER BY " + strings.Join(pk, ", ")
	rows, err := t.db.DB.QueryContext(ctx, q)
	if err != nil {
		return "", fmt.Errorf("tables: checksum %s: %w", t.table(tb.Name), err)
	}
	defer func() { _ = rows.Close() }()
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", fmt.Errorf("tables: checksum %s: %w", t.table(tb.Name), err)
		}
		for _, v := range vals {
			writeValue(h, v)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("tables: checksum %s: %w", t.table(tb.Name), err)
	}
	return fmt.Sprintf("%d:%s", n, hex.EncodeToString(h.Sum(nil))), nil
}

// writeValue hashes one value unambiguously (length-prefixed, with its kind).
func writeValue(h hash.Hash, v any) {
	var s string
	switch x := v.(type) {
	case nil:
		s = "N"
	case []byte:
		s = "s" + string(x)
	case string:
		s = "s" + x
	case time.Time:
		s = "t" + x.UTC().Format(time.RFC3339Nano)
	default:
		s = fmt.Sprintf("v%v", x)
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
