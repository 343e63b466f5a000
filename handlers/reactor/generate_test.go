package reactor_test

import (
	"encoding/json"
	"testing"
	"time"

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
