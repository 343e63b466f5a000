package tables

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/batch"
)

// Every row struct matches its table in migrations, column for column.
func TestRowsMatchMigrations(t *testing.T) {
	for table, row := range map[string]any{"users": userRow{}, "apps": appRow{}, "api_interface": ifaceRow{},
		"api_generation": genRow{}, "api_testcase": caseRow{}, "api_testbatch": batchRow{}, "api_result": resultRow{},
		"api_report": reportRow{}, checkpointsTable: checkpointRow{}, failuresTable: failureRow{}} {
		if _, err := schemaOf(reflect.TypeOf(row), table); err != nil {
			t.Error(err)
		}
	}
	if len(projected) != 8 {
		t.Errorf("projected tables: %d, want 8", len(projected))
	}
}

func TestChunks(t *testing.T) {
	got := chunks([]int{10, 10, 10, 50, 10}, chunking{rows: 2, bytes: 40})
	want := []chunkResult{{start: 0, end: 2}, {start: 2, end: 3}, {start: 3, end: 4}, {start: 4, end: 5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks = %v, want %v", got, want)
	}
}

// args lists resultRow's fields in the order of its columns.
func TestResultArgsFollowColumns(t *testing.T) {
	r := resultRow{BatchID: "b", CaseID: "c", AppID: "a", OwnerID: "o", InterfaceID: "i", Outcome: "passed", StatusCode: 201,
		DurationMS: 1.5, Assertions: "[]", Error: "e", Request: "{}", Response: "{1}", Extracted: "{2}", Runner: "r", Seq: 9}
	args := r.args(nil)
	v := reflect.ValueOf(r)
	if len(args) != len(resultColumns) {
		t.Fatalf("%d args for %d columns", len(args), len(resultColumns))
	}
	for i, col := range resultColumns {
		f := v.FieldByIndex(fieldOf(t, col))
		want := f.Interface()
		switch x := want.(type) {
		case uint64:
			want = int64(x)
		case time.Time:
			want = nil // zero time → NULL
		}
		if !reflect.DeepEqual(args[i], want) {
			t.Errorf("arg %d (%s) = %#v, want %#v", i, col, args[i], want)
		}
	}
}

func fieldOf(t *testing.T, col string) []int {
	typ := reflect.TypeOf(resultRow{})
	for i := range typ.NumField() {
		if name, _, _ := strings.Cut(typ.Field(i).Tag.Get("bun"), ","); name == col {
			return []int{i}
		}
	}
	t.Fatalf("no field for %s", col)
	return nil
}

// The hand-written JSON is what encoding/json writes (without HTML escaping).
func TestFastJSON(t *testing.T) {
	odd := "a\"b\\c\n\r\t\b\f\x01\x1f<>&\u2028\u2029 é 🚀 \xff\xfe end"
	req := batch.HTTPRequest{Method: "POST", URL: "https://x/" + odd, Headers: map[string]string{"Z": odd, "A": "1"}, Body: odd}
	resp := batch.HTTPResponse{Status: 503, Headers: map[string]string{odd: "v"}, Body: odd, BodyTruncated: true}
	for _, c := range []struct {
		got []byte
		v   any
	}{
		{appendRequestDoc(nil, req), map[string]any{"method": req.Method, "url": req.URL, "headers": req.Headers, "body": req.Body}},
		{appendResponseDoc(nil, resp), map[string]any{"status": resp.Status, "headers": resp.Headers, "body": resp.Body, "body_truncated": true}},
		{appendStringMap(nil, nil), map[string]string{}},
	} {
		want, err := newEncoder().encode(c.v, "")
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(c.got, &a); err != nil {
			t.Fatalf("%s: %v", c.got, err)
		}
		_ = json.Unmarshal([]byte(want), &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("got  %s\nwant %s", c.got, want)
		}
	}
	if got, want := string(appendJSONString(nil, odd)), mustEncode(t, odd); got != want {
		t.Errorf("appendJSONString = %s, want %s", got, want)
	}
}

func mustEncode(t *testing.T, v any) string {
	s, err := newEncoder().encode(v, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The result set sends chunks of at most `rows` rows and about `bytes` bytes, one at a
// time and in order, skips duplicates, and reports every chunk.
func TestResultSetChunks(t *testing.T) {
	var sent [][]string
	s := &resultSet{seen: map[[2]string]bool{}, chunk: chunking{rows: 2, bytes: 25},
		insert: func(_ context.Context, rows []resultRow) (int, error) {
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.CaseID)
			}
			sent = append(sent, ids)
			return len(rows), nil
		}}
	ctx := context.Background()
	for i, size := range []int{10, 10, 10, 20, 10, 10} {
		s.add(ctx, resultRow{BatchID: "b", CaseID: string(rune('a' + i))}, size)
		s.add(ctx, resultRow{BatchID: "b", CaseID: string(rune('a' + i))}, size) // a duplicate
	}
	done, err := s.finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b"}, {"c"}, {"d"}, {"e", "f"}}
	if !reflect.DeepEqual(sent, want) || len(done) != 4 || done[3] != (chunkResult{start: 4, end: 6, inserted: 2}) {
		t.Fatalf("sent %v, done %v; want %v", sent, done, want)
	}
}
