package assert_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain/assert"
)

var fuzzCache = assert.NewSchemaCache(64)

func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(`[{"target":"status","op":"eq","value":200}]`), []byte(`{"a":1}`), 200)
	f.Add([]byte(`[{"target":"body.a","op":"match","value":"("}]`), []byte(`{"a":"x"}`), 500)
	f.Add([]byte(`[{"target":"body.items.#(id==1","op":"exists"}]`), []byte(`{"items":[{"id":1}]}`), 404)
	f.Add([]byte(`[{"target":"body","op":"conforms","value":{"type":5}}]`), []byte(`[]`), 201)
	f.Add([]byte(`[{"target":"schema","op":"conforms"},{"target":"body.a","op":"length","value":2}]`), []byte(`{"a":[1,2]}`), 200)
	f.Add([]byte(`[{"target":"header.Content-Type","op":"contains","value":"json"},{"target":"body.@reverse","op":"type","value":"array"}]`), []byte(`not json`), 302)
	f.Add([]byte(`[{"target":"body.a|@join:{\"x\":1}","op":"in","value":[1,"2",null]}]`), []byte("{\"a\":\"\xff\"}"), 0)
	docs := map[string]assert.Documented{
		"200":     {ContentType: "application/json", Schema: schema200},
		"4XX":     {ContentType: "application/problem+json", Schema: json.RawMessage(`{"type":"object"}`)},
		"default": {ContentType: "text/plain"},
	}
	f.Fuzz(func(t *testing.T, asJSON, body []byte, status int) {
		var as []assert.Assertion
		if err := json.Unmarshal(asJSON, &as); err != nil {
			var one assert.Assertion
			if json.Unmarshal(asJSON, &one) != nil {
				one = assert.Assertion{Target: "body." + string(asJSON), Op: "exists"}
			}
			as = []assert.Assertion{one}
		}
		r := assert.Response{Status: status, LatencyMS: 1, Body: body,
			Headers: map[string][]string{"Content-Type": {string(asJSON[:min(len(asJSON), 20)])}}}
		evs, err := assert.Evaluate(as, r, assert.Options{Responses: docs, Checks: assert.Checks, Schemas: fuzzCache})
		if len(evs) != len(as)+len(assert.Checks) {
			t.Fatalf("%d evaluated for %d assertions", len(evs), len(as))
		}
		for _, ev := range evs {
			if strings.Contains(ev.Error, "panic") {
				t.Fatalf("recovered a panic: %s", ev.Error)
			}
			if ev.Message == "" {
				t.Fatalf("no message: %+v", ev)
			}
			if _, merr := json.Marshal(ev); merr != nil {
				t.Fatalf("evaluated does not marshal: %v", merr)
			}
		}
		switch o := assert.Outcome(evs, err); o {
		case "passed", "failed", "errored":
		default:
			t.Fatalf("Outcome = %q", o)
		}
	})
}

// BenchmarkEvaluate: 5 assertions + the 4 checks on a ~2 KB JSON body with a cached schema.
func BenchmarkEvaluate(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"id":"42","name":"Ada","age":36,"items":[`)
	for i := 0; sb.Len() < 2000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"id":` + strings.Repeat("1", 1+i%5) + `,"label":"item label here","ok":true}`)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	schema := json.RawMessage(`{"type":"object","required":["id","name","items"],"properties":{"id":{"type":"string"},"name":{"type":"string"},` +
		`"age":{"type":"integer","minimum":0},"items":{"type":"array","items":{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"label":{"type":"string"},"ok":{"type":"boolean"}}}}}}`)
	r := assert.Response{Status: 200, LatencyMS: 42, Body: body, Headers: map[string][]string{"Content-Type": {"application/json; charset=utf-8"}}}
	opt := assert.Options{
		Responses: map[string]assert.Documented{"200": {ContentType: "application/json", Schema: schema}},
		Checks:    assert.Checks,
		Schemas:   assert.NewSchemaCache(16),
	}
	as := []assert.Assertion{
		{Target: "status", Op: "eq", Value: 200.0},
		{Target: "latency_ms", Op: "lt", Value: 500.0},
		{Target: "header.Content-Type", Op: "contains", Value: "json"},
		{Target: "body.name", Op: "match", Value: "^[A-Z]"},
		{Target: "body.items", Op: "length", Value: 1.0},
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		evs, _ := assert.Evaluate(as, r, opt)
		if !evs[8].Passed {
			b.Fatal(evs[8].Message)
		}
	}
}
