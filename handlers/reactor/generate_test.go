package reactor_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-dev/assay/ai"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/handlers/reactor"
)

const genOwner = "user-1"

func (e *env) defineInterface(ifaceID string) {
	e.t.Helper()
	m := func(id string) domain.Metadata { return domain.Metadata{CommandID: id, UserID: genOwner} }
	if _, err := e.cmd.App(e.ctx, m("create-"+appID), appID, app.Create{AppID: appID, ActorID: genOwner,
		App: app.Definition{Name: "shop", Environments: []app.Environment{{Name: "staging", BaseURL: "http://127.0.0.1:9"}}}, At: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
	def := iface.Definition{Name: "create pet", Method: "POST", Path: "/pets", ContentType: "application/json",
		Body: json.RawMessage(`{"type":"object","required":["name","kind"],"properties":{
			"name":{"type":"string","minLength":1,"maxLength":20},
			"kind":{"type":"string","enum":["cat","dog"]},
			"age":{"type":"integer","minimum":0,"maximum":30},
			"email":{"type":"string","format":"email"}}}`),
		Responses: map[string]iface.Response{"201": {Schema: json.RawMessage(`{"type":"object"}`)}, "400": {}}}
	if _, err := e.cmd.Interface(e.ctx, m("define-"+ifaceID), ifaceID, iface.Define{InterfaceID: ifaceID, ActorID: genOwner,
		App: app.State{ID: appID}, Def: def, At: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) requestGeneration(ifaceID, genID, generator string) {
	e.t.Helper()
	if _, err := e.cmd.Interface(e.ctx, domain.Metadata{CommandID: "req-" + genID, UserID: genOwner}, ifaceID,
		iface.RequestGeneration{InterfaceID: ifaceID, ActorID: genOwner, GenerationID: genID,
			Options: iface.GenerationOptions{Generator: generator, MaxCases: 40}, At: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) generated(ifaceID string) (ok []iface.CasesGenerated, failed []iface.CasesGenerationFailed) {
	for _, env := range e.load(domain.InterfaceSubject(appID, ifaceID)) {
		switch d := env.Data.(type) {
		case iface.CasesGenerated:
			ok = append(ok, d)
		case iface.CasesGenerationFailed:
			failed = append(failed, d)
		}
	}
	return ok, failed
}

func (e *env) generator() {
	e.t.Helper()
	r, err := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{}).Reactor(reactor.Config{MaxWait: 100 * time.Millisecond}, quietLog(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.run(r)
}

func TestGeneratorRecordsOneGeneration(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.defineInterface("if-gen")
	e.requestGeneration("if-gen", "g-1", "auto")
	e.generator()
	e.generator() // a second replica of the same durable
	e.eventually("cases generated", func() bool { ok, _ := e.generated("if-gen"); return len(ok) > 0 })
	settle()
	ok, failed := e.generated("if-gen")
	if len(ok) != 1 || len(failed) != 0 {
		t.Fatalf("%d generated, %d failed", len(ok), len(failed))
	}
	g := ok[0]
	if g.GenerationID != "g-1" || g.Info.Generator != "rules" || g.Info.FallbackReason != reactor.NoLLMReason {
		t.Errorf("info %+v", g.Info)
	}
	classes := map[string]int{}
	for i, c := range g.Cases {
		classes[c.Class]++
		if c.ID != reactor.GeneratedCaseID("g-1", i) || c.Source != "rules" || c.GenerationID != "g-1" {
			t.Errorf("case %d: %+v", i, c)
		}
	}
	for _, c := range []string{testcase.Valid, testcase.Boundary, testcase.OutOfRange, testcase.MissingRequired,
		testcase.WrongType, testcase.Null, testcase.Enum, testcase.Format} {
		if classes[c] == 0 {
			t.Errorf("no %s case: %v", c, classes)
		}
	}
	if len(g.Cases) > 40 {
		t.Errorf("%d cases, more than MaxCases 40", len(g.Cases))
	}
}

func TestGeneratorIsIdempotentAndDeterministic(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.defineInterface("if-gen")
	e.requestGeneration("if-gen", "g-1", "rules")
	req := e.load(domain.InterfaceSubject(appID, "if-gen"))
	var reqEnv domain.Envelope
	for _, env := range req {
		if _, ok := env.Data.(iface.CasesGenerationRequested); ok {
			reqEnv = env
		}
	}
	gen := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{})
	for range 2 {
		if err := gen.Handle(e.ctx, reqEnv); err != nil {
			t.Fatal(err)
		}
	}
	ok, _ := e.generated("if-gen")
	if len(ok) != 1 || ok[0].Info.FallbackReason != "" {
		t.Fatalf("generated %+v", ok)
	}
	// Another store, the same generation id: the same cases.
	e2 := setup(t)
	e2.defineInterface("if-gen")
	e2.requestGeneration("if-gen", "g-1", "rules")
	var env2 domain.Envelope
	for _, env := range e2.load(domain.InterfaceSubject(appID, "if-gen")) {
		if _, ok := env.Data.(iface.CasesGenerationRequested); ok {
			env2 = env
		}
	}
	if err := reactor.NewGenerator(e2.cmd, reactor.GeneratorConfig{}).Handle(e2.ctx, env2); err != nil {
		t.Fatal(err)
	}
	ok2, _ := e2.generated("if-gen")
	a, _ := json.Marshal(ok[0].Cases)
	b, _ := json.Marshal(ok2[0].Cases)
	if string(a) != string(b) {
		t.Error("the same generation id gave different cases")
	}
}

func TestGeneratorOnADeletedInterface(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.defineInterface("if-gen")
	e.requestGeneration("if-gen", "g-1", "llm")
	if _, err := e.cmd.Interface(e.ctx, domain.Metadata{CommandID: "del", UserID: genOwner}, "if-gen",
		iface.Delete{InterfaceID: "if-gen", ActorID: genOwner, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	var reqEnv domain.Envelope
	for _, env := range e.load(domain.InterfaceSubject(appID, "if-gen")) {
		if _, ok := env.Data.(iface.CasesGenerationRequested); ok {
			reqEnv = env
		}
	}
	// Acked (nil): the generation cannot produce cases for a deleted interface.
	if err := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{}).Handle(e.ctx, reqEnv); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.generated("if-gen"); len(ok) != 0 {
		t.Errorf("cases generated for a deleted interface: %+v", ok)
	}
	failed := 0
	for _, env := range e.load(domain.InterfaceSubject(appID, "if-gen")) {
		if f, ok := env.Data.(iface.CasesGenerationFailed); ok && f.Reason != "" {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d cases_generation_failed events, want 1: the generation must not stay pending", failed)
	}
}

// fakeLLM is an OpenAI-compatible /chat/completions answering content (or HTTP status
// when not 200), counting its calls.
type fakeLLM struct {
	url   string
	calls atomic.Int64
}

func newFakeLLM(t *testing.T, status int, content string) *fakeLLM {
	f := &fakeLLM{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if status != http.StatusOK {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":{"message":"down"}}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "c1", "object": "chat.completion",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 900, "completion_tokens": 210, "total_tokens": 1110}})
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fakeLLM) generator(t *testing.T) *ai.Generator {
	t.Helper()
	c, err := ai.NewClient(ai.Config{BaseURL: f.url, APIKey: "k", Model: "fake-model", Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ai.NewGenerator(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const llmAnswer = "```json\n" + `{"cases":[
{"name":"valid pet","class":"valid","reason":"all valid","request":{"method":"POST","path":"/pets","body":{"name":"Rex","kind":"dog"}},"expected_status":201},
{"name":"name too long","class":"out_of_range","reason":"body.name over maxLength 20","request":{"method":"POST","path":"/pets","body":{"name":"abcdefghijabcdefghijk","kind":"dog"}},"expected_status":400},
{"name":"bad valid","class":"valid","reason":"not valid at all","request":{"method":"POST","path":"/pets","body":{"kind":"fish"}},"expected_status":201}
]}` + "\n```"

// requestFor records a generation request and returns its envelope.
func (e *env) requestFor(ifaceID, genID string, o iface.GenerationOptions) domain.Envelope {
	e.t.Helper()
	if _, err := e.cmd.Interface(e.ctx, domain.Metadata{CommandID: "req-" + genID, UserID: genOwner}, ifaceID,
		iface.RequestGeneration{InterfaceID: ifaceID, ActorID: genOwner, GenerationID: genID, Options: o, At: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
	for _, env := range e.load(domain.InterfaceSubject(appID, ifaceID)) {
		if r, ok := env.Data.(iface.CasesGenerationRequested); ok && r.GenerationID == genID {
			return env
		}
	}
	e.t.Fatalf("no request %s", genID)
	return domain.Envelope{}
}

func (e *env) generation(ifaceID, genID string) iface.CasesGenerated {
	e.t.Helper()
	ok, _ := e.generated(ifaceID)
	for _, g := range ok {
		if g.GenerationID == genID {
			return g
		}
	}
	e.t.Fatalf("generation %s not recorded", genID)
	return iface.CasesGenerated{}
}

func TestGeneratorRecordsTheLLMGeneration(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.defineInterface("if-llm")
	f := newFakeLLM(t, http.StatusOK, llmAnswer)
	e.requestGeneration("if-llm", "g-1", "auto")
	r, err := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{LLM: f.generator(t)}).Reactor(reactor.Config{MaxWait: 100 * time.Millisecond}, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.run(r)
	e.eventually("cases generated", func() bool { ok, _ := e.generated("if-llm"); return len(ok) > 0 })
	g := e.generation("if-llm", "g-1")
	in := g.Info
	if in.Generator != "llm" || in.Model != "fake-model" || in.PromptVersion != ai.PromptVersion || in.TokensIn != 900 ||
		in.TokensOut != 210 || in.FallbackReason != "" || len(in.Dropped) != 1 || !strings.Contains(in.Dropped[0], "bad valid") {
		t.Fatalf("info %+v", in)
	}
	sources := map[string]int{}
	for i, c := range g.Cases {
		sources[c.Source]++
		if c.ID != reactor.GeneratedCaseID("g-1", i) || c.GenerationID != "g-1" {
			t.Errorf("case %d: id %s generation %s", i, c.ID, c.GenerationID)
		}
	}
	// The model's two good cases; the classes it skipped come from the rules.
	if sources["llm"] != 2 || sources["rules"] == 0 || len(g.Cases) > 40 {
		t.Errorf("sources %v, %d cases", sources, len(g.Cases))
	}
}

func TestGeneratorFallsBackAndRecordsWhy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.defineInterface("if-llm")
	f := newFakeLLM(t, http.StatusInternalServerError, "")
	env := e.requestFor("if-llm", "g-1", iface.GenerationOptions{Generator: "llm", MaxCases: 30})
	if err := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{LLM: f.generator(t)}).Handle(e.ctx, env); err != nil {
		t.Fatal(err)
	}
	in := e.generation("if-llm", "g-1").Info
	if in.Generator != "rules" || !strings.HasPrefix(in.FallbackReason, "error: ") || !strings.Contains(in.FallbackReason, "500") ||
		in.Model != "fake-model" || in.PromptVersion != ai.PromptVersion {
		t.Errorf("info %+v", in)
	}
}

func TestGeneratorReusesAnIdenticalGeneration(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.defineInterface("if-llm")
	f := newFakeLLM(t, http.StatusOK, llmAnswer)
	gen := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{LLM: f.generator(t)})
	opts := iface.GenerationOptions{Generator: "auto", MaxCases: 40}
	for _, id := range []string{"g-1", "g-2", "g-3"} {
		if err := gen.Handle(e.ctx, e.requestFor("if-llm", id, opts)); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d LLM calls for three identical requests, want 1", n)
	}
	first, third := e.generation("if-llm", "g-1"), e.generation("if-llm", "g-3")
	if third.Info.Generator != "llm" || third.Info.Model != "fake-model (reused generation g-1)" || third.Info.TokensIn != 0 ||
		third.Info.FallbackReason != "" {
		t.Errorf("reused info %+v", third.Info)
	}
	if len(third.Cases) != len(first.Cases) {
		t.Fatalf("%d cases reused of %d", len(third.Cases), len(first.Cases))
	}
	for i := range first.Cases {
		a, b := first.Cases[i], third.Cases[i]
		if b.ID != reactor.GeneratedCaseID("g-3", i) || b.GenerationID != "g-3" || a.Name != b.Name || string(a.Request.Body) != string(b.Request.Body) {
			t.Errorf("case %d: %+v reused as %+v", i, a, b)
		}
	}
	// Other options, or the rules asked for: no reuse of the LLM's answer.
	if err := gen.Handle(e.ctx, e.requestFor("if-llm", "g-4", iface.GenerationOptions{Generator: "auto", MaxCases: 20})); err != nil {
		t.Fatal(err)
	}
	if err := gen.Handle(e.ctx, e.requestFor("if-llm", "g-5", iface.GenerationOptions{Generator: "rules", MaxCases: 40})); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d LLM calls, want 2 (other options call again; rules never call)", n)
	}
	if in := e.generation("if-llm", "g-5").Info; in.Generator != "rules" || in.FallbackReason != "" {
		t.Errorf("rules info %+v", in)
	}
}

func TestGeneratorDoesNotOverwriteALaterGeneration(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.defineInterface("if-llm")
	f := newFakeLLM(t, http.StatusOK, llmAnswer)
	gen := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{LLM: f.generator(t)})
	first := e.requestFor("if-llm", "g-1", iface.GenerationOptions{Generator: "auto", MaxCases: 40})
	second := e.requestFor("if-llm", "g-2", iface.GenerationOptions{Generator: "auto", MaxCases: 30})
	// Another replica handled the later request first.
	for _, env := range []domain.Envelope{second, first} {
		if err := gen.Handle(e.ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	ok, failed := e.generated("if-llm")
	if len(ok) != 1 || ok[0].GenerationID != "g-2" || len(failed) != 1 || failed[0].GenerationID != "g-1" ||
		!strings.Contains(failed[0].Reason, "superseded by generation g-2") {
		t.Errorf("generated %d (%v), failed %+v", len(ok), ok, failed)
	}
}

func TestGeneratorWithoutAKeyRecordsNoLLM(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.defineInterface("if-llm")
	noKey, err := ai.NewGenerator(nil, nil) // what assay react runs without ASSAY_LLM_API_KEY
	if err != nil {
		t.Fatal(err)
	}
	env := e.requestFor("if-llm", "g-1", iface.GenerationOptions{Generator: "llm", MaxCases: 30})
	if err := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{LLM: noKey}).Handle(e.ctx, env); err != nil {
		t.Fatal(err)
	}
	g := e.generation("if-llm", "g-1")
	if g.Info.Generator != "rules" || g.Info.FallbackReason != reactor.NoLLMReason || g.Info.Model != "" || len(g.Cases) == 0 {
		t.Errorf("info %+v, %d cases", g.Info, len(g.Cases))
	}
}

// slowLLM answers llmAnswer after latency.
func slowLLM(t *testing.T, latency time.Duration) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(latency):
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "c1", "object": "chat.completion",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": llmAnswer}}},
			"usage":   map[string]any{"prompt_tokens": 900, "completion_tokens": 210, "total_tokens": 1110}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLLM50InterfacesThroughTheReactor(t *testing.T) {
	e := setup(t)
	const n, conc, latency = 50, 8, 200 * time.Millisecond
	for i := range n {
		e.defineInterface(fmt.Sprintf("if-%d", i))
		e.requestGeneration(fmt.Sprintf("if-%d", i), fmt.Sprintf("g-%d", i), "llm")
	}
	c, err := ai.NewClient(ai.Config{BaseURL: slowLLM(t, latency), APIKey: "k", Model: "m", MaxConcurrency: conc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := ai.NewGenerator(c, nil)
	start := time.Now()
	r, err := reactor.NewGenerator(e.cmd, reactor.GeneratorConfig{LLM: g}).Reactor(reactor.Config{MaxWait: 50 * time.Millisecond, Parallel: conc}, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.run(r)
	e.eventually("all generated", func() bool {
		for i := range n {
			if ok, _ := e.generated(fmt.Sprintf("if-%d", i)); len(ok) == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("%d interfaces through the reactor in %s (ceiling %s)", n, time.Since(start), time.Duration((n+conc-1)/conc)*latency)
}
