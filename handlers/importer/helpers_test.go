package importer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/handlers/importer"
)

// parseFile imports a testdata file, failing the test on an error.
func parseFile(t *testing.T, name string) *importer.Result {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := importer.Parse(context.Background(), body)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	checkDefinitions(t, res)
	return res
}

// checkDefinitions asserts what every import promises: valid definitions, with a source and a
// unique source key.
func checkDefinitions(t testing.TB, res *importer.Result) {
	t.Helper()
	keys := map[string]bool{}
	for _, d := range res.Interfaces {
		if err := d.Validate(); err != nil {
			t.Errorf("%s %s does not validate: %v", d.Method, d.Path, err)
		}
		if d.Source != "openapi" && d.Source != "postman" {
			t.Errorf("%s %s: source %q", d.Method, d.Path, d.Source)
		}
		if !strings.HasPrefix(d.SourceKey, d.Source+":") || keys[d.SourceKey] {
			t.Errorf("%s %s: source key %q is not %s:… or is not unique", d.Method, d.Path, d.SourceKey, d.Source)
		}
		keys[d.SourceKey] = true
	}
}

// find returns the interface with that source key.
func find(t *testing.T, res *importer.Result, key string) iface.Definition {
	t.Helper()
	for _, d := range res.Interfaces {
		if d.SourceKey == key {
			return d
		}
	}
	t.Fatalf("no interface %q", key)
	return iface.Definition{}
}

// at walks a JSON document along a dotted path; numeric segments index arrays.
func at(t *testing.T, raw json.RawMessage, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				t.Fatalf("%s: no %q in %s", path, seg, compact(x))
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i >= len(x) {
				t.Fatalf("%s: no [%s] in %s", path, seg, compact(x))
			}
			v = x[i]
		default:
			t.Fatalf("%s: %q of a %T", path, seg, v)
		}
	}
	return v
}

// has reports whether the dotted path leads somewhere.
func has(raw json.RawMessage, path string) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	for _, seg := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[seg]; !ok {
			return false
		}
	}
	return true
}

// sameJSON asserts that got and want are the same JSON value.
func sameJSON(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got no JSON: %v (%s)", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, compact(g), compact(w))
	}
}

// equal asserts that got, decoded JSON, equals want (also given as JSON text).
func equal(t *testing.T, what string, got any, want string) {
	t.Helper()
	b, _ := json.Marshal(got)
	sameJSON(t, what, b, want)
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func hasWarning(res *importer.Result, parts ...string) bool {
	for _, w := range res.Warnings {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(w, p)
		}
		if all {
			return true
		}
	}
	return false
}
