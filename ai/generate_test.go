package ai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/assay-dev/assay/ai"
	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

var petDef = iface.Definition{Name: "create pet", Method: "POST", Path: "/owners/{owner}/pets", ContentType: "application/json",
	PathParams: json.RawMessage(`{"type":"object","required":["owner"],"properties":{"owner":{"type":"integer","minimum":1}}}`),
	Query:      json.RawMessage(`{"type":"object","properties":{"dry":{"type":"boolean"}}}`),
	Body: json.RawMessage(`{"type":"object","required":["name","kind"],"properties":{
		"name":{"type":"string","minLength":1,"maxLength":20},
		"kind":{"type":"string","enum":["cat","dog"]},
		"age":{"type":"integer","minimum":0,"maximum":30},
		"email":{"type":"string","format":"email"}}}`),
	Responses: map[string]iface.Response{"201": {Schema: json.RawMessage(`{"type":"object"}`)}, "400": {}, "422": {}}}

// goodCases: one of each class, one valid case the schemas reject (dropped), one
// duplicate (dropped silently), one in another method (dropped).
const goodCases = `{"cases":[
{"name":"valid","class":"valid","reason":"all valid","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"Rex","kind":"dog","age":3}},"expected_status":201},
{"name":"name at max","class":"boundary","reason":"body.name at maxLength 20","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"abcdefghijabcdefghij","kind":"dog"}},"expected_status":201},
{"name":"age over max","class":"out_of_range","reason":"body.age 31 over maximum 30","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"Rex","kind":"dog","age":31}},"expected_status":400},
{"name":"name missing","class":"missing_required","reason":"body.name left out","request":{"method":"POST","path":"/owners/7/pets","body":{"kind":"dog"}},"expected_status":400},
{"name":"age as text","class":"wrong_type","reason":"body.age is a string","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":"7"},"body":{"name":"Rex","kind":"dog","age":"three"}},"expected_status":400},
{"name":"name null","class":"null","reason":"body.name is null","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":null,"kind":"dog"}},"expected_status":400},
{"name":"kind cat","class":"enum","reason":"body.kind cat","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"Rex","kind":"cat"}},"expected_status":201},
{"name":"kind bird","class":"enum","reason":"body.kind outside the enum","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"Rex","kind":"bird"}},"expected_status":400},
{"name":"bad email","class":"format","reason":"body.email invalid","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"Rex","kind":"dog","email":"not-an-email"}},"expected_status":400},
{"name":"valid but too long","class":"valid","reason":"oops","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":7},"body":{"name":"abcdefghijabcdefghijk","kind":"dog"}},"expected_status":201},
{"name":"valid again","class":"valid","reason":"same as the first","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":"7"},"body":{"kind":"dog","name":"Rex","age":3}},"expected_status":201},
{"name":"wrong method","class":"valid","reason":"x","request":{"method":"GET","path":"/owners/{owner}/pets","path_params":{"owner":7}},"expected_status":200}
]}`

func generate(t *testing.T, g *ai.Generator, max int) ([]testcase.Case, iface.GenerationInfo) {
	t.Helper()
	cases, info, err := g.Generate(context.Background(), petDef, casegen.Options{Seed: 42, MaxCases: max,
		IDs: func(i int) string { return "g-1-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) }}, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		c.InterfaceID = "if-1"
		if err := c.WithDefaults(info.Generator).Validate(); err != nil {
			t.Errorf("case %d invalid: %v\n%+v", i, err, c)
		}
	}
	return cases, info
}

func newGen(t testing.TB, c *ai.Client) *ai.Generator {
	t.Helper()
	g, err := ai.NewGenerator(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// checkLLM checks a generation the LLM answered: info, the kept and dropped cases.
func checkLLM(t *testing.T, cases []testcase.Case, info iface.GenerationInfo, wantLLM, wantDropped int) {
	t.Helper()
	if info.Generator != "llm" || info.FallbackReason != "" || info.Model != "fake-model" || info.PromptVersion != ai.PromptVersion ||
		info.TokensIn == 0 || info.TokensOut == 0 {
		t.Fatalf("info %+v", info)
	}
	if len(info.Dropped) != wantDropped {
		t.Errorf("dropped %d, want %d: %q", len(info.Dropped), wantDropped, info.Dropped)
	}
	llm, seen := 0, map[string]bool{}
	for _, c := range cases {
		if c.Source == "llm" {
			llm++
		}
		b, _ := json.Marshal([]any{c.Request.PathParams, c.Request.Query, c.Request.Body})
		if seen[string(b)] {
			t.Errorf("duplicate request %s", b)
		}
		seen[string(b)] = true
	}
	if llm != wantLLM {
		t.Errorf("%d llm cases, want %d", llm, wantLLM)
	}
}

func TestGenerateGoodJSON(t *testing.T) {
	t.Parallel()
	f := newFakeLLM(t, answer{content: goodCases})
	cases, info := generate(t, newGen(t, f.client(t, time.Second, 2)), 50)
	checkLLM(t, cases, info, 9, 2)
	if info.TokensIn != 1200 || info.TokensOut != 345 {
		t.Errorf("tokens %d/%d", info.TokensIn, info.TokensOut)
	}
	byName := map[string]testcase.Case{}
	for _, c := range cases {
		byName[c.Name] = c
	}
	valid := byName["valid"]
	if valid.Class != testcase.Valid || valid.Priority != "P0" || len(valid.Assertions) != 2 ||
		valid.Assertions[0].Op != "in" || valid.Assertions[1].Target != "schema" {
		t.Errorf("valid case %+v", valid)
	}
	miss := byName["name missing"]
	if miss.Request.PathParams["owner"] != "7" || len(miss.Assertions) != 1 || miss.Assertions[0].Target != "status" {
		t.Errorf("path parameters from the concrete path, or assertions: %+v", miss)
	}
	if c := byName["kind cat"]; c.Assertions[0].Value.([]any)[0] != 201.0 {
		t.Errorf("an enum value in the enum expects 2xx: %+v", c.Assertions)
	}
	if c := byName["kind bird"]; c.Assertions[0].Value.([]any)[0] != 400.0 {
		t.Errorf("an enum value outside expects 4xx: %+v", c.Assertions)
	}
	if cases[0].ID != "g-1-a" {
		t.Errorf("ids from opt.IDs: %s", cases[0].ID)
	}
	req := f.lastReq.Load().(map[string]any)
	if req["model"] != "fake-model" || req["max_tokens"] != 4096.0 || req["temperature"] != 0.2 {
		t.Errorf("request %v", req)
	}
}

func TestGenerateFencedAndProse(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"fenced": "```json\n" + goodCases + "\n```",
		"prose":  "Sure! Here are the cases you asked for:\n\n" + goodCases + "\n\nLet me know if you need more.",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLLM(t, answer{content: content})
			cases, info := generate(t, newGen(t, f.client(t, time.Second, 2)), 50)
			checkLLM(t, cases, info, 9, 2)
			if f.calls.Load() != 1 {
				t.Errorf("%d calls: a readable answer needs no repair call", f.calls.Load())
			}
		})
	}
}

func TestGenerateTruncatedJSON(t *testing.T) {
	t.Parallel()
	// Cut in the middle of the 9th case: the first 8 remain, the partial one goes.
	cut := strings.Index(goodCases, `"bad email"`) + 5
	f := newFakeLLM(t, answer{content: goodCases[:cut]})
	cases, info := generate(t, newGen(t, f.client(t, time.Second, 2)), 50)
	checkLLM(t, cases, info, 8, 0)
	for _, c := range cases {
		if c.Class == testcase.Format && c.Source != "rules" {
			t.Errorf("the format class comes from the rules once the model's was cut: %+v", c)
		}
	}
	if f.calls.Load() != 1 {
		t.Errorf("%d calls: a truncated answer is repaired locally", f.calls.Load())
	}
}

func TestGenerateWrongFieldNames(t *testing.T) {
	t.Parallel()
	content := `{"test_cases":[
{"title":"valid","category":"Valid","description":"all valid","req":{"httpMethod":"post","url":"/owners/3/pets","payload":{"name":"Rex","kind":"dog"}},"status_code":"201"},
{"title":"age under","type":"out-of-range","rationale":"age -1","method":"POST","path":"/owners/{owner}/pets","pathParams":{"owner":3},"body":{"name":"Rex","kind":"dog","age":-1},"expectedStatus":400},
{"title":"dry as text","kind":"wrong type","why":"query.dry is not a boolean","request":{"method":"POST","path":"/owners/{owner}/pets","path_params":{"owner":3},"queryParams":{"dry":"maybe"},"body":"{\"name\":\"Rex\",\"kind\":\"cat\"}"},"expected":"400 Bad Request"}
]}`
	f := newFakeLLM(t, answer{content: content})
	cases, info := generate(t, newGen(t, f.client(t, time.Second, 2)), 50)
	checkLLM(t, cases, info, 3, 0)
	got := map[string]testcase.Case{}
	for _, c := range cases {
		if c.Source == "llm" {
			got[c.Class] = c
		}
	}
	if c := got[testcase.WrongType]; c.Request.Query["dry"] != "maybe" || string(c.Request.Body) != `{"name":"Rex","kind":"cat"}` || c.Reason == "" {
		t.Errorf("wrong_type case %+v", c)
	}
	if c := got[testcase.Valid]; c.Request.PathParams["owner"] != "3" || c.Name != "valid" {
		t.Errorf("valid case %+v", c)
	}
	if _, ok := got[testcase.OutOfRange]; !ok {
		t.Errorf("no out_of_range case: %+v", got)
	}
}

func TestGenerateFallbacks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		answers []answer
		timeout time.Duration
		prefix  string
		label   string
		calls   int64
	}{
		{"http 500", []answer{{status: 500}}, time.Second, "error: ", ai.LabelError, 1},
		{"stall", []answer{{stall: true}}, 300 * time.Millisecond, "timeout: ", ai.LabelTimeout, 1},
		{"garbage twice", []answer{{content: "I cannot help with that."}, {content: "Sorry, no JSON today."}}, time.Second, "garbage", ai.LabelGarbage, 2},
		{"all invalid", []answer{{content: `{"cases":[{"name":"x","class":"valid","request":{"body":{"kind":"fish"}}}]}`}}, time.Second, "garbage: all 1 cases", ai.LabelGarbage, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLLM(t, tc.answers...)
			reg := prometheus.NewRegistry()
			c, err := ai.NewClient(ai.Config{BaseURL: f.srv.URL, APIKey: "test-key", Model: "fake-model", Timeout: tc.timeout}, reg)
			if err != nil {
				t.Fatal(err)
			}
			g, err := ai.NewGenerator(c, reg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			cases, info := generate(t, g, 30)
			if info.Generator != "rules" || !strings.HasPrefix(info.FallbackReason, tc.prefix) || info.Model != "fake-model" ||
				info.PromptVersion != ai.PromptVersion {
				t.Fatalf("info %+v", info)
			}
			if tc.name == "stall" && time.Since(start) > 5*time.Second {
				t.Errorf("the stall took %s: the timeout did not cut it", time.Since(start))
			}
			if len(cases) == 0 || len(cases) > 30 || cases[0].Source != "rules" {
				t.Errorf("%d fallback cases", len(cases))
			}
			if f.calls.Load() != tc.calls {
				t.Errorf("%d calls, want %d", f.calls.Load(), tc.calls)
			}
			if n := testutil.ToFloat64(fallbacks(t, reg, tc.label)); n != 1 {
				t.Errorf("fallback metric %s = %v", tc.label, n)
			}
		})
	}
}

func TestGenerateWithoutKey(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	g, err := ai.NewGenerator(nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	cases, info := generate(t, g, 20)
	if info.Generator != "rules" || info.FallbackReason != ai.NoKeyReason || info.Model != "" || len(cases) == 0 {
		t.Errorf("info %+v, %d cases", info, len(cases))
	}
	if n := testutil.ToFloat64(fallbacks(t, reg, ai.LabelNoKey)); n != 1 {
		t.Errorf("no_key fallbacks %v", n)
	}
}

func TestGenerateStopsWithItsCaller(t *testing.T) {
	t.Parallel()
	f := newFakeLLM(t, answer{stall: true})
	g := newGen(t, f.client(t, time.Minute, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := g.Generate(ctx, petDef, casegen.Options{Seed: 1}, ""); err == nil {
		t.Fatal("a generation whose caller stopped must return the error, not fall back")
	}
}

// fallbacks is the assay_llm_fallbacks_total{purpose="generate",reason} counter.
func fallbacks(t *testing.T, reg *prometheus.Registry, reason string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "assay_llm_fallbacks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["purpose"] == "generate" && labels["reason"] == reason {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
			}
		}
	}
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return 0 })
}

func TestGenerateChecksParameters(t *testing.T) {
	t.Parallel()
	def := iface.Definition{Name: "list pets", Method: "GET", Path: "/pets",
		Query: json.RawMessage(`{"type":"object","required":["limit"],"properties":{"limit":{"type":"integer","minimum":1,"maximum":100},
			"tag":{"type":"string","nullable":true}}}`),
		Headers:   json.RawMessage(`{"type":"object","properties":{"X-Tenant":{"type":"string","format":"uuid"}}}`),
		Responses: map[string]iface.Response{"200": {}}}
	content := `{"cases":[
{"name":"limit as text","class":"valid","reason":"parameters travel as text","request":{"method":"GET","path":"/pets","query":{"limit":"10"}},"expected_status":200},
{"name":"limit 100","class":"boundary","reason":"query.limit at maximum","request":{"method":"GET","path":"/pets","query":{"limit":100}},"expected_status":200},
{"name":"limit 101","class":"out_of_range","reason":"query.limit over maximum","request":{"method":"GET","path":"/pets","query":{"limit":"101"}},"expected_status":400},
{"name":"limit abc","class":"wrong_type","reason":"query.limit not a number","request":{"method":"GET","path":"/pets","query":{"limit":"abc"}},"expected_status":400},
{"name":"no limit","class":"missing_required","reason":"query.limit left out","request":{"method":"GET","path":"/pets"},"expected_status":400},
{"name":"bad tenant","class":"format","reason":"header X-Tenant not a uuid","request":{"method":"GET","path":"/pets","query":{"limit":5},"headers":{"x-tenant":"nope"}},"expected_status":400},
{"name":"limit 0 called boundary","class":"boundary","reason":"wrong: 0 is under minimum","request":{"method":"GET","path":"/pets","query":{"limit":0}},"expected_status":200},
{"name":"missing but wrong type too","class":"missing_required","reason":"two problems","request":{"method":"GET","path":"/pets","query":{"tag":5},"headers":{"X-Tenant":"nope"}},"expected_status":400}
]}`
	f := newFakeLLM(t, answer{content: content})
	cases, info, err := newGen(t, f.client(t, time.Second, 1)).Generate(context.Background(), def, casegen.Options{Seed: 3, MaxCases: 50}, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Generator != "llm" || len(info.Dropped) != 2 {
		t.Fatalf("info %+v", info)
	}
	llm := map[string]bool{}
	for _, c := range cases {
		if c.Source == "llm" {
			llm[c.Name] = true
		}
	}
	for _, n := range []string{"limit as text", "limit 100", "limit 101", "limit abc", "no limit", "bad tenant"} {
		if !llm[n] {
			t.Errorf("case %q dropped: %q", n, info.Dropped)
		}
	}
}

func TestGenerateRepairCall(t *testing.T) {
	t.Parallel()
	f := newFakeLLM(t, answer{content: "Here you go: cases are valid, boundary, and so on."}, answer{content: goodCases})
	cases, info := generate(t, newGen(t, f.client(t, time.Second, 1)), 50)
	checkLLM(t, cases, info, 9, 2)
	if f.calls.Load() != 2 || info.TokensIn != 2400 || info.TokensOut != 690 {
		t.Errorf("%d calls, tokens %d/%d: the repair call's tokens count too", f.calls.Load(), info.TokensIn, info.TokensOut)
	}
	msgs, _ := f.lastReq.Load().(map[string]any)["messages"].([]any)
	if len(msgs) != 4 || !strings.Contains(fmt.Sprint(msgs[3]), "could not be read") {
		t.Errorf("the repair call's messages: %v", msgs)
	}
}
