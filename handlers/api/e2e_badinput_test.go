package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// badInput is one request that must be refused with status, appending nothing.
type badInput struct {
	name   string
	req    func(f fixture) e2eReq
	status int
	field  string // a field the problem must name ("" = none required)
	detail string // a part of the problem's detail ("" = none required)
}

func post(path string, body any) func(fixture) e2eReq {
	return func(fixture) e2eReq { return e2eReq{method: "POST", path: path, json: body} }
}

func rawReq(method, path, ctype string, body []byte) func(fixture) e2eReq {
	return func(fixture) e2eReq { return e2eReq{method: method, path: path, raw: body, ctype: ctype} }
}

// bigJSON is {"name": "<n bytes>", "environments": [...]}.
func bigJSON(n int) []byte {
	b, _ := json.Marshal(map[string]any{"name": strings.Repeat("x", n), "environments": testEnvs})
	return b
}

const brokenRef = `openapi: 3.0.3
info: {title: broken, version: '1'}
paths:
  /pets:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pett'}
components:
  schemas:
    Pet: {type: object}
`

// TestE2EBadInput: every bad request is answered with its status and appends nothing.
func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	tenMB := bigJSON(10_000_000)
	justOver := bigJSON(5*mib - len(bigJSON(0)) + 1)
	if len(justOver) != 5*mib+1 {
		t.Fatalf("justOver is %d bytes", len(justOver))
	}
	justUnder := bigJSON(5*mib - len(bigJSON(0)))
	// An import between the two limits: too large for a command, not for an import.
	sixMiB := []byte("openapi: 3.0.3\ninfo: {title: big, version: '1'}\nx-pad: '" + strings.Repeat("a", 6*mib) + "'\n")
	overImport := []byte("openapi: 3.0.3\ninfo: {title: big, version: '1'}\nx-pad: '" + strings.Repeat("a", 20*mib) + "'\n")
	deep := []byte(`{"name": "deep", "method": "POST", "path": "/deep", "body": {"type": "object", "x": ` +
		strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) + `}}`)

	apps := "/api/v1/apps"
	app := func(f fixture) string { return "/api/v1/apps/" + f.app }
	tests := []badInput{
		// Malformed JSON: 400.
		{name: "truncated JSON", req: rawReq("POST", apps, "application/json", []byte(`{"name": "x",`)), status: 400, detail: "not valid JSON"},
		{name: "not JSON at all", req: rawReq("POST", apps, "application/json", []byte(`name=x`)), status: 400},
		{name: "trailing data", req: rawReq("POST", apps, "application/json", []byte(`{} {}`)), status: 400},
		{name: "empty body", req: rawReq("POST", apps, "application/json", []byte(``)), status: 400, detail: "required"},
		{name: "whitespace body", req: rawReq("POST", apps, "application/json", []byte(" \n ")), status: 400},
		{name: "malformed register", req: rawReq("POST", "/api/v1/auth/register", "application/json", []byte(`{"email":`)), status: 400},
		{name: "malformed login", req: rawReq("POST", "/api/v1/auth/login", "application/json", []byte(`{"email" "a"}`)), status: 400},
		{name: "malformed patch", req: func(f fixture) e2eReq {
			return e2eReq{method: "PATCH", path: app(f), raw: []byte(`{"name": 'single'}`), ctype: "application/json"}
		}, status: 400},
		{name: "nested too deep", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/interfaces", raw: deep, ctype: "application/json"}
		}, status: 400},

		// Wrong types and unknown fields: 422 naming the field.
		{name: "name is a number", req: post(apps, map[string]any{"name": 5, "environments": testEnvs}), status: 422, field: "name"},
		{name: "environments is an object", req: post(apps, map[string]any{"name": "x", "environments": map[string]any{"name": "e"}}), status: 422, field: "environments"},
		{name: "base_url is a number", req: post(apps, map[string]any{"name": "x", "environments": []map[string]any{{"name": "e", "base_url": 1}}}), status: 422, field: "environments.base_url"},
		{name: "body is a list", req: post(apps, []any{1, 2}), status: 422, field: "body"},
		{name: "body is a string", req: post(apps, "app"), status: 422, field: "body"},
		{name: "unknown field", req: post(apps, map[string]any{"nmae": "x", "environments": testEnvs}), status: 422, field: "nmae"},
		{name: "enabled is a string", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/cases", json: map[string]any{"name": "c", "enabled": "yes"}}
		}, status: 422, field: "enabled"},
		{name: "concurrency is a string", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/batches", json: map[string]any{"concurrency": "ten"}}
		}, status: 422, field: "concurrency"},
		{name: "max_cases is a fraction", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/generations", json: map[string]any{"max_cases": 1.5}}
		}, status: 422, field: "max_cases"},
		{name: "emails is a string", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: "/api/v1/batches/" + f.batch + "/notifications", json: map[string]any{"emails": "a@example.com"}}
		}, status: 422, field: "emails"},
		{name: "password is a number", req: post("/api/v1/auth/register", map[string]any{"email": "n@example.com", "password": 12345678, "name": "n"}), status: 422, field: "password"},

		// Missing fields and invalid values: 422 naming each field.
		{name: "app without fields", req: post(apps, map[string]any{}), status: 422, field: "environments"},
		{name: "app without a name", req: post(apps, map[string]any{"environments": testEnvs}), status: 422, field: "name"},
		{name: "app with a null body", req: rawReq("POST", apps, "application/json", []byte(`null`)), status: 422, field: "name"},
		{name: "app with a bad base_url", req: post(apps, map[string]any{"name": "x", "environments": []map[string]any{{"name": "e", "base_url": "ftp://x"}}}), status: 422, field: "environments[0].base_url"},
		{name: "app with a 201-character name", req: post(apps, map[string]any{"name": strings.Repeat("n", 201), "environments": testEnvs}), status: 422, field: "name"},
		{name: "patch to no environments", req: func(f fixture) e2eReq {
			return e2eReq{method: "PATCH", path: app(f), json: map[string]any{"environments": []any{}}}
		}, status: 422, field: "environments"},
		{name: "interface without fields", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/interfaces", json: map[string]any{}}
		}, status: 422, field: "method"},
		{name: "interface with an undeclared path parameter", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/interfaces", json: map[string]any{"name": "x", "method": "GET", "path": "/a/{id}"}}
		}, status: 422, field: "path_params"},
		{name: "case without fields", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/cases", json: map[string]any{}}
		}, status: 422, field: "name"},
		{name: "case with a bad assertion", req: func(f fixture) e2eReq {
			c := caseDef("bad")
			c["assertions"] = []map[string]any{{"target": "statuss", "op": "eq", "value": 1}}
			return e2eReq{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/cases", json: c}
		}, status: 422, field: "assertions[0].target"},
		{name: "batch with concurrency 5000", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/batches", json: map[string]any{"concurrency": 5000}}
		}, status: 422, field: "concurrency"},
		{name: "batch of an unknown environment", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/batches", json: map[string]any{"environment": "prod"}}
		}, status: 422, field: "environment"},
		{name: "generation by an unknown generator", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/generations", json: map[string]any{"generator": "magic"}}
		}, status: 422, field: "generator"},
		{name: "register without fields", req: post("/api/v1/auth/register", map[string]any{}), status: 422, field: "email"},
		{name: "register with a short password", req: post("/api/v1/auth/register", map[string]any{"email": "s@example.com", "password": "short", "name": "s"}), status: 422, field: "password"},
		{name: "register a taken email", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: "/api/v1/auth/register", json: map[string]any{"email": "taken@example.com", "password": "password1", "name": "t"}}
		}, status: 409},
		{name: "a too long Idempotency-Key", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: apps, json: map[string]any{"name": "x", "environments": testEnvs},
				header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}
		}, status: 422, field: "Idempotency-Key"},
		{name: "an id that is not one", req: func(f fixture) e2eReq {
			return e2eReq{method: "PATCH", path: "/api/v1/apps/not-an-id", json: map[string]any{"name": "x"}}
		}, status: 404},

		// What the read side cannot store would halt it for everyone: refused up front.
		{name: "a NUL in a name", req: post(apps, map[string]any{"name": "nul\u0000byte", "environments": testEnvs}), status: 422, field: "name"},
		{name: "a NUL in an environment's name", req: post(apps, map[string]any{"name": "x",
			"environments": []map[string]any{{"name": "e\u0000", "base_url": "https://example.com"}}}), status: 422, field: "environments[0].name"},
		{name: "a NUL in a user's name", req: post("/api/v1/auth/register", map[string]any{"email": "nul@example.com", "password": "password1", "name": "a\u0000b"}), status: 422, field: "name"},
		{name: "a NUL in a case's name", req: func(f fixture) e2eReq {
			return e2eReq{method: "PATCH", path: "/api/v1/cases/" + f.kase + "?min_seq=" + u64(f.seq), json: map[string]any{"name": "\u0000"}}
		}, status: 422, field: "name"},
		{name: "a NUL in an imported description", req: func(f fixture) e2eReq {
			doc := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      description: \"a\\0b\"\n      responses: {'200': {description: ok}}\n"
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: []byte(doc), ctype: "application/yaml"}
		}, status: 422, detail: "NUL"},
		{name: "a content type of 300 characters", req: func(f fixture) e2eReq {
			d := ifaceDef("long type")
			d["content_type"] = "application/" + strings.Repeat("x", 288)
			return e2eReq{method: "POST", path: app(f) + "/interfaces", json: d}
		}, status: 422, field: "content_type"},
		{name: "a content type of 300 characters in a patch", req: func(f fixture) e2eReq {
			return e2eReq{method: "PATCH", path: "/api/v1/interfaces/" + f.iface, json: map[string]any{"content_type": "text/" + strings.Repeat("x", 295)}}
		}, status: 422, field: "content_type"},

		// Bodies too large: 413, with and without a Content-Length.
		{name: "a 10 MB string", req: rawReq("POST", apps, "application/json", tenMB), status: 413},
		{name: "a 10 MB string, chunked", req: func(fixture) e2eReq {
			return e2eReq{method: "POST", path: apps, raw: tenMB, ctype: "application/json", chunked: true}
		}, status: 413},
		{name: "5 MiB and one byte", req: rawReq("POST", apps, "application/json", justOver), status: 413},
		{name: "5 MiB and one byte, chunked", req: func(fixture) e2eReq {
			return e2eReq{method: "POST", path: apps, raw: justOver, ctype: "application/json", chunked: true}
		}, status: 413},
		{name: "exactly 5 MiB is read (and its name is too long)", req: rawReq("POST", apps, "application/json", justUnder), status: 422, field: "name"},
		{name: "an import of 20 MiB and more", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: overImport, ctype: "application/yaml"}
		}, status: 413},
		{name: "an import of 20 MiB and more, chunked", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: overImport, ctype: "application/yaml", chunked: true}
		}, status: 413},
		{name: "an import of 6 MiB is read", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: sixMiB, ctype: "application/yaml"}
		}, status: 422, detail: "paths"},
		{name: "a 6 MB schema (over the 5 MiB body limit)", req: func(f fixture) e2eReq {
			d := ifaceDef("huge")
			d["body"] = map[string]any{"type": "object", "description": strings.Repeat("s", 6_000_000)}
			return e2eReq{method: "POST", path: app(f) + "/interfaces", json: d}
		}, status: 413},

		// Documents the importer cannot read: 422 with the parser's message, nothing imported.
		{name: "a broken $ref", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: []byte(brokenRef), ctype: "application/yaml"}
		}, status: 422, detail: "#/components/schemas/Pett"},
		{name: "an import that is not a document", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: []byte("{ this is: [ broken"), ctype: "application/yaml"}
		}, status: 422, detail: "neither JSON nor YAML"},
		{name: "an empty import", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: []byte(""), ctype: "application/json"}
		}, status: 422, detail: "empty"},
		{name: "a Swagger 2.0 import", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: []byte(`{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}`), ctype: "application/json"}
		}, status: 422, detail: "Swagger 2.0"},

		// Unknown content types: 415.
		{name: "text/plain", req: rawReq("POST", apps, "text/plain", []byte(`{"name": "x"}`)), status: 415},
		{name: "no content type", req: rawReq("POST", apps, "", []byte(`{"name": "x"}`)), status: 415},
		{name: "form", req: rawReq("POST", "/api/v1/auth/register", "application/x-www-form-urlencoded", []byte(`email=a%40b.c`)), status: 415},
		{name: "xml patch", req: func(f fixture) e2eReq {
			return e2eReq{method: "PATCH", path: app(f), raw: []byte(`<app/>`), ctype: "application/xml"}
		}, status: 415},
		{name: "bad media type", req: rawReq("POST", apps, "application/", []byte(`{}`)), status: 415},
		{name: "xml import", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: []byte(`<definitions/>`), ctype: "application/xml"}
		}, status: 415},
		{name: "import without a content type", req: func(f fixture) e2eReq {
			return e2eReq{method: "POST", path: app(f) + "/imports", raw: []byte(brokenRef)}
		}, status: 415},

		// Bad query parameters: 422.
		{name: "limit 0", req: func(fixture) e2eReq { return e2eReq{method: "GET", path: apps + "?limit=0"} }, status: 422, field: "limit"},
		{name: "limit 501", req: func(fixture) e2eReq { return e2eReq{method: "GET", path: apps + "?limit=501"} }, status: 422, field: "limit"},
		{name: "a cursor that is not one", req: func(fixture) e2eReq { return e2eReq{method: "GET", path: apps + "?cursor=nope"} }, status: 422, field: "cursor"},
		{name: "min_seq -1", req: func(fixture) e2eReq { return e2eReq{method: "GET", path: apps + "?min_seq=-1"} }, status: 422, field: "min_seq"},
		{name: "X-Assay-Min-Seq abc", req: func(fixture) e2eReq {
			return e2eReq{method: "GET", path: apps, header: map[string]string{"X-Assay-Min-Seq": "abc"}}
		}, status: 422, field: "min_seq"},
		{name: "an unknown outcome", req: func(f fixture) e2eReq {
			return e2eReq{method: "GET", path: "/api/v1/batches/" + f.batch + "/results?outcome=won"}
		}, status: 422, field: "outcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			f := ts.fixture()
			ts.must(http.StatusCreated, nil, e2eReq{method: "POST", path: "/api/v1/auth/register",
				json: map[string]any{"email": "taken@example.com", "password": "password1", "name": "t"}})
			r := tt.req(f)
			if !strings.HasPrefix(r.path, "/api/v1/auth/") {
				r.token = f.token
			}
			before := ts.lastSeq()
			a := ts.send(r)
			if a.status != tt.status {
				t.Fatalf("%s %s: %d, want %d: %.500s", r.method, r.path, a.status, tt.status, a.body)
			}
			p := a.problem(t)
			if tt.field != "" && !p.hasField(tt.field) {
				t.Errorf("the problem does not name %q: %s", tt.field, a.body)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("the detail %q does not say %q", p.Detail, tt.detail)
			}
			if after := ts.lastSeq(); after != before {
				t.Errorf("a refused request appended %v", ts.typesAfter(before))
			}
			// The read side still serves.
			ts.get(nil, f.token, "/api/v1/apps/"+f.app, f.seq)
		})
	}
}

// TestE2ENamesStoredExactly: unicode and SQL-looking names are stored and answered exactly.
func TestE2ENamesStoredExactly(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.signUp()
	names := []string{
		"Robert'); DROP TABLE apps;--",
		`" OR 1=1 --`,
		"%_\\%' ESCAPE '\\",
		"名前 🚀 ✓",
		"e\u0301 vs \u00e9",         // decomposed and composed: not normalized
		"\u202eRTL override",        // bidi control
		"  padded  ",                // not trimmed
		"tab\tnew\nline",            // control characters in a name
		"<script>alert(1)</script>", // not escaped in storage
		strings.Repeat("界", 200),    // 200 characters, 600 bytes
	}
	for _, name := range names {
		envName := string([]rune(name)[:min(100, utf8.RuneCountInString(name))]) // environments have at most 100
		a := ts.command("POST", "/api/v1/apps", token, map[string]any{"name": name, "description": name, "environments": []map[string]any{
			{"name": envName, "base_url": "https://example.com", "variables": map[string]string{"v": name}}}})
		i := ts.command("POST", "/api/v1/apps/"+a.ID+"/interfaces", token, map[string]any{"name": name, "method": "GET", "path": "/x", "description": name})
		k := ts.command("POST", "/api/v1/interfaces/"+i.ID+"/cases", token, map[string]any{"name": name, "class": "custom",
			"request": map[string]any{"method": "GET", "path": "/x", "headers": map[string]string{"X-Name": "v"}, "query": map[string]any{"q": name}}})
		var app struct {
			Name, Description  string
			DefaultEnvironment string `json:"default_environment"`
			Environments       []struct {
				Name      string
				Variables map[string]string
			}
		}
		ts.get(&app, token, "/api/v1/apps/"+a.ID, k.Seq)
		if app.Name != name || app.Description != name || app.DefaultEnvironment != envName || app.Environments[0].Name != envName || app.Environments[0].Variables["v"] != name {
			t.Errorf("app stored %q as %+v", name, app)
		}
		var ifc struct{ Name, Description string }
		ts.get(&ifc, token, "/api/v1/interfaces/"+i.ID, k.Seq)
		if ifc.Name != name || ifc.Description != name {
			t.Errorf("interface stored %q as %+v", name, ifc)
		}
		var kase struct {
			Name    string
			Request struct{ Query map[string]string }
		}
		ts.get(&kase, token, "/api/v1/cases/"+k.ID, k.Seq)
		if kase.Name != name || kase.Request.Query["q"] != name {
			t.Errorf("case stored %q as %+v", name, kase)
		}
	}
	// Every one of them is listed, in order, byte for byte.
	var list struct{ Items []struct{ Name string } }
	ts.get(&list, token, "/api/v1/apps?limit=500", ts.lastSeq())
	if len(list.Items) != len(names) {
		t.Fatalf("%d apps listed, want %d", len(list.Items), len(names))
	}
	for n, it := range list.Items {
		if !bytes.Equal([]byte(it.Name), []byte(names[n])) {
			t.Errorf("app %d listed as %q, want %q", n, it.Name, names[n])
		}
	}
	// The users table survived its injection attempt.
	ts.must(http.StatusOK, nil, e2eReq{method: "GET", path: "/api/v1/me", token: token})
}
