package api

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func readPetstore(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../importer/testdata/petstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type importAnswer struct {
	IDs []string `json:"ids"`
	Seq uint64   `json:"seq"`
}

type importedIface struct {
	ID          string                     `json:"id"`
	AppID       string                     `json:"app_id"`
	Name        string                     `json:"name"`
	Method      string                     `json:"method"`
	Path        string                     `json:"path"`
	Description string                     `json:"description"`
	Headers     map[string]any             `json:"headers"`
	PathParams  map[string]any             `json:"path_params"`
	Query       map[string]any             `json:"query"`
	Body        map[string]any             `json:"body"`
	ContentType string                     `json:"content_type"`
	Responses   map[string]json.RawMessage `json:"responses"`
	Source      string                     `json:"source"`
	SourceKey   string                     `json:"source_key"`
	Version     int                        `json:"version"`
}

func (ts *testServer) listInterfaces(token, app string, seq uint64) []importedIface {
	ts.t.Helper()
	var l struct{ Items []importedIface }
	ts.get(&l, token, "/api/v1/apps/"+app+"/interfaces?limit=500", seq)
	return l.Items
}

// TestE2EImportPetstore imports a real-world document: every operation with its schemas;
// importing it again updates in place (same ids, no duplicates).
func TestE2EImportPetstore(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	app := ts.createApp(token, "petstore")
	doc := readPetstore(t)
	var first importAnswer
	a := ts.must(http.StatusAccepted, &first, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/imports", token: token,
		raw: doc, ctype: "application/yaml"})
	if a.header.Get("Location") != "/api/v1/apps/"+app.ID+"/interfaces" {
		t.Errorf("Location %q", a.header.Get("Location"))
	}
	want := []string{"GET /pets", "POST /pets", "GET /pets/{petId}", "PUT /pets/{petId}", "DELETE /pets/{petId}",
		"GET /owners/{ownerId}/pets", "POST /owners"}
	if len(first.IDs) != len(want) {
		t.Fatalf("%d ids, want %d: %s", len(first.IDs), len(want), a.body)
	}
	list := ts.listInterfaces(token, app.ID, first.Seq)
	if len(list) != len(want) {
		t.Fatalf("%d interfaces listed, want %d", len(list), len(want))
	}
	byOp := map[string]importedIface{}
	for n, i := range list {
		op := i.Method + " " + i.Path
		byOp[op] = i
		if i.ID != first.IDs[n] || i.AppID != app.ID || i.Source != "openapi" || i.SourceKey == "" || i.Version != 1 {
			t.Errorf("%s: %+v (ids %v)", op, i, first.IDs)
		}
		if len(i.Responses) == 0 {
			t.Errorf("%s: no responses", op)
		}
	}
	for _, op := range want {
		if _, ok := byOp[op]; !ok {
			t.Errorf("%s was not imported (got %v)", op, keys(byOp))
		}
	}

	// The schemas came along, $refs inlined.
	prop := func(schema map[string]any, names ...string) map[string]any {
		for _, n := range names {
			props, _ := schema["properties"].(map[string]any)
			schema, _ = props[n].(map[string]any)
		}
		return schema
	}
	create := byOp["POST /pets"]
	if create.ContentType != "application/json" || !slices.ContainsFunc(anyList(create.Body["required"]), func(v any) bool { return v == "name" }) ||
		prop(create.Body, "name")["maxLength"] != float64(64) || prop(create.Body, "category", "name")["maxLength"] != float64(40) {
		t.Errorf("POST /pets body: %v", create.Body)
	}
	if status := prop(create.Body, "status"); !slices.Equal(anyList(status["enum"]), []any{"available", "pending", "sold"}) {
		t.Errorf("POST /pets status: %v", status)
	}
	if strings.Contains(mustJSON(t, create), "$ref") {
		t.Errorf("POST /pets keeps a $ref: %s", mustJSON(t, create))
	}
	var created struct{ Schema map[string]any }
	_ = json.Unmarshal(create.Responses["201"], &created)
	if created.Schema == nil {
		t.Errorf("POST /pets 201: %s", create.Responses["201"])
	}
	get := byOp["GET /pets/{petId}"]
	if id := prop(get.PathParams, "petId"); id["type"] != "integer" || id["minimum"] != float64(1) {
		t.Errorf("GET /pets/{petId} path_params: %v", get.PathParams)
	}
	if get.Description != "Returns one pet." {
		t.Errorf("GET /pets/{petId} description %q", get.Description)
	}
	listPets := byOp["GET /pets"]
	if prop(listPets.Query, "limit")["maximum"] != float64(100) || prop(listPets.Headers, "X-Request-ID") == nil {
		t.Errorf("GET /pets query %v, headers %v", listPets.Query, listPets.Headers)
	}
	if prop(listPets.Headers, "Authorization") != nil {
		t.Errorf("GET /pets imported the Authorization header: %v", listPets.Headers)
	}
	if owner := prop(byOp["GET /owners/{ownerId}/pets"].PathParams, "ownerId"); owner["format"] != "uuid" {
		t.Errorf("GET /owners/{ownerId}/pets path_params: %v", owner)
	}

	// The same document again: the same interfaces, unchanged, nothing duplicated.
	before := ts.lastSeq()
	var again importAnswer
	ts.must(http.StatusAccepted, &again, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/imports", token: token,
		raw: doc, ctype: "application/x-yaml"})
	if !slices.Equal(again.IDs, first.IDs) {
		t.Fatalf("the second import's ids %v, the first's %v", again.IDs, first.IDs)
	}
	if after := ts.lastSeq(); after != before {
		t.Errorf("importing an unchanged document appended %v", ts.typesAfter(before))
	}
	if l := ts.listInterfaces(token, app.ID, again.Seq); len(l) != len(want) {
		t.Fatalf("%d interfaces after the second import, want %d", len(l), len(want))
	}

	// A changed document updates the interfaces it changes, adds the new ones, and keeps the ids.
	changed := strings.Replace(string(doc), "description: Returns one pet.", "description: Returns exactly one pet.", 1)
	changed = strings.Replace(changed, "  /owners:\n", "  /health:\n    get:\n      responses:\n        '200': {description: ok}\n  /owners:\n", 1)
	var third importAnswer
	ts.must(http.StatusAccepted, &third, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/imports", token: token,
		raw: []byte(changed), ctype: "application/yaml"})
	l := ts.listInterfaces(token, app.ID, third.Seq)
	if len(l) != len(want)+1 || len(third.IDs) != len(want)+1 {
		t.Fatalf("%d interfaces (%d ids) after adding one, want %d", len(l), len(third.IDs), len(want)+1)
	}
	for _, i := range l {
		switch op := i.Method + " " + i.Path; op {
		case "GET /pets/{petId}":
			if i.ID != get.ID || i.Description != "Returns exactly one pet." || i.Version != 2 {
				t.Errorf("%s after the change: %+v", op, i)
			}
		case "GET /health":
		default:
			if i.ID != byOp[op].ID || i.Version != 1 {
				t.Errorf("%s after the change: id %s version %d, was %s", op, i.ID, i.Version, byOp[op].ID)
			}
		}
	}

	// JSON works as well as YAML: the bookshop (OpenAPI 3.1) and a Postman collection.
	for _, f := range []string{"bookshop-3.1.json", "collection.json"} {
		b, err := os.ReadFile("../importer/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		other := ts.createApp(token, f)
		var ans importAnswer
		ts.must(http.StatusAccepted, &ans, e2eReq{method: "POST", path: "/api/v1/apps/" + other.ID + "/imports", token: token,
			raw: b, ctype: "application/json"})
		if l := ts.listInterfaces(token, other.ID, ans.Seq); len(l) == 0 || len(l) != len(ans.IDs) {
			t.Errorf("%s: %d interfaces, %d ids", f, len(l), len(ans.IDs))
		}
	}
}

// TestE2EImportLongDescription: a 10 MB description is clipped, not refused.
func TestE2EImportLongDescription(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	app := ts.createApp(token, "long")
	doc := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      description: '" +
		strings.Repeat("d", 10_000_000) + "'\n      responses: {'200': {description: ok}}\n"
	var ans importAnswer
	ts.must(http.StatusAccepted, &ans, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/imports", token: token,
		raw: []byte(doc), ctype: "application/yaml"})
	l := ts.listInterfaces(token, app.ID, ans.Seq)
	if len(l) != 1 {
		t.Fatalf("imported %d interfaces", len(l))
	}
	if d := l[0].Description; utf8.RuneCountInString(d) != 20000 || strings.Trim(d, "d…") != "" {
		t.Fatalf("a description of %d characters", utf8.RuneCountInString(d))
	}
}

// TestE2EImportIntoArchivedApp: an archived app takes no import, not even of operations
// imported before, and nothing is appended.
func TestE2EImportIntoArchivedApp(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	app := ts.createApp(token, "archived")
	doc := readPetstore(t)
	ts.must(http.StatusAccepted, nil, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/imports", token: token, raw: doc, ctype: "application/yaml"})
	ts.command("DELETE", "/api/v1/apps/"+app.ID, token, nil)
	changed := strings.Replace(string(doc), "description: Returns one pet.", "description: changed", 1) +
		"x-new: 1\n"
	changed = strings.Replace(changed, "  /owners:\n", "  /zoo:\n    get:\n      responses:\n        '200': {description: ok}\n  /owners:\n", 1)
	before := ts.lastSeq()
	a := ts.must(http.StatusConflict, nil, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/imports", token: token, raw: []byte(changed), ctype: "application/yaml"})
	if p := a.problem(t); !strings.Contains(p.Detail, "archived") {
		t.Errorf("the problem does not say the app is archived: %s", a.body)
	}
	if after := ts.lastSeq(); after != before {
		t.Fatalf("an import into an archived app appended %v", ts.typesAfter(before))
	}
}

// TestE2EImportTooLargeForTheLog: a document whose operation cannot be stored as one event
// (over the log's 8 MiB message limit, under the 20 MiB import body limit)
// is refused whole: nothing is imported.
func TestE2EImportTooLargeForTheLog(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	app := ts.createApp(token, "huge")
	doc := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n" +
		"  /a:\n    get:\n      responses: {'200': {description: ok}}\n" +
		"  /b:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {type: object, description: '" +
		strings.Repeat("s", 9_000_000) + "'}\n      responses: {'200': {description: ok}}\n"
	before := ts.lastSeq()
	a := ts.must(http.StatusRequestEntityTooLarge, nil, e2eReq{method: "POST", path: "/api/v1/apps/" + app.ID + "/imports", token: token,
		raw: []byte(doc), ctype: "application/yaml"})
	if p := a.problem(t); !strings.Contains(p.Detail, "POST /b") {
		t.Errorf("the problem does not name the operation: %s", a.body)
	}
	if after := ts.lastSeq(); after != before {
		t.Fatalf("a refused import appended %v", ts.typesAfter(before))
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func anyList(v any) []any { l, _ := v.([]any); return l }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
