package iface_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/domaintest"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

func TestDefine(t *testing.T) {
	t.Parallel()
	evs, err := iface.Decide(iface.State{}, iface.Define{InterfaceID: "if-1", ActorID: owner, App: theApp(t, false), Def: petDef(), At: t0})
	if err != nil {
		t.Fatal(err)
	}
	want := petDef()
	want.Source = "manual"
	wantEvs := []domain.Event{iface.Defined{AppID: "app-1", InterfaceID: "if-1", OwnerID: owner, Interface: want, Version: 1, At: t0}}
	if !reflect.DeepEqual(evs, wantEvs) {
		t.Fatalf("events = %+v\nwant %+v", evs, wantEvs)
	}
	if evs[0].Subject() != "events.app.app-1.interface.if-1" {
		t.Errorf("subject = %q", evs[0].Subject())
	}
	s := iface.Decider.Fold(evs)
	if !s.Exists() || s.ID != "if-1" || s.AppID != "app-1" || s.OwnerID != owner || s.Version != 1 ||
		!reflect.DeepEqual(s.Def, want) || !s.DefinedAt.Equal(t0) || s.Cases == nil || s.Generations == nil || len(s.Order) != 0 {
		t.Errorf("state = %+v", s)
	}
}

func TestDefineKeepsAnImportSource(t *testing.T) {
	t.Parallel()
	d := petDef()
	d.Source, d.SourceKey = "openapi", "getPet"
	evs, err := iface.Decide(iface.State{}, iface.Define{InterfaceID: "if-1", ActorID: owner, App: theApp(t, false), Def: d, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got := evs[0].(iface.Defined).Interface; got.Source != "openapi" || got.SourceKey != "getPet" {
		t.Errorf("source = %q %q", got.Source, got.SourceKey)
	}
}

func TestSystemMayDefineOnAnyApp(t *testing.T) {
	t.Parallel()
	s, evs := step(t, iface.State{}, iface.Define{InterfaceID: "if-1", ActorID: domain.System, App: theApp(t, false), Def: petDef(), At: t0})
	if evs[0].(iface.Defined).OwnerID != owner || s.OwnerID != owner {
		t.Errorf("owner = %q, want the app's owner", s.OwnerID)
	}
	// …and act on the interface afterwards.
	if _, evs := step(t, s, iface.Update{InterfaceID: "if-1", ActorID: domain.System, Patch: iface.Patch{Name: ptr("x")}, At: t1}); len(evs) != 1 {
		t.Errorf("system update: %+v", evs)
	}
}

func TestDefineRefusals(t *testing.T) {
	t.Parallel()
	deleted := func(t *testing.T) iface.State {
		s, _ := step(t, defined(t), iface.Delete{InterfaceID: "if-1", ActorID: owner, At: t1})
		return s
	}
	fresh := func(*testing.T) iface.State { return iface.State{} }
	bad := petDef()
	bad.Method = "FETCH"
	cases := []struct {
		name   string
		state  func(*testing.T) iface.State
		id     string
		actor  string
		app    func(*testing.T) app.State
		def    iface.Definition
		want   error
		fields []string
	}{
		{"missing app", fresh, "if-1", owner, func(*testing.T) app.State { return app.State{ID: "app-1"} }, petDef(), domain.ErrNotFound, nil},
		{"another user's app", fresh, "if-1", other, func(t *testing.T) app.State { return theApp(t, false) }, petDef(), domain.ErrNotFound, nil},
		{"another user's archived app", fresh, "if-1", other, func(t *testing.T) app.State { return theApp(t, true) }, petDef(), domain.ErrNotFound, nil},
		{"no actor", fresh, "if-1", "", func(t *testing.T) app.State { return theApp(t, false) }, petDef(), domain.ErrNotFound, nil},
		{"archived app", fresh, "if-1", owner, func(t *testing.T) app.State { return theApp(t, true) }, petDef(), domain.ErrConflict, nil},
		{"archived app, even for the system", fresh, "if-1", domain.System, func(t *testing.T) app.State { return theApp(t, true) }, petDef(), domain.ErrConflict, nil},
		{"defined twice", defined, "if-1", owner, func(t *testing.T) app.State { return theApp(t, false) }, petDef(), domain.ErrConflict, nil},
		{"a deleted interface's id", deleted, "if-1", owner, func(t *testing.T) app.State { return theApp(t, false) }, petDef(), domain.ErrConflict, nil},
		{"bad id", fresh, "if.1", owner, func(t *testing.T) app.State { return theApp(t, false) }, petDef(), domain.ErrInvalid, []string{"interface_id"}},
		{"empty id", fresh, "", owner, func(t *testing.T) app.State { return theApp(t, false) }, petDef(), domain.ErrInvalid, []string{"interface_id"}},
		{"bad definition", fresh, "if-1", owner, func(t *testing.T) app.State { return theApp(t, false) }, bad, domain.ErrInvalid, []string{"method"}},
		{"empty definition", fresh, "if-1", owner, func(t *testing.T) app.State { return theApp(t, false) }, iface.Definition{}, domain.ErrInvalid, []string{"name", "method", "path"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := iface.Decide(c.state(t), iface.Define{InterfaceID: c.id, ActorID: c.actor, App: c.app(t), Def: c.def, At: t1})
			domaintest.MustFail(t, evs, err, c.want, c.fields...)
		})
	}
}

// Every command but Define on a missing, deleted or someone else's interface is not found.
func TestCommandsOnAnInterfaceNotTheActorsAreNotFound(t *testing.T) {
	t.Parallel()
	cmds := func(actor string) []iface.Command {
		return []iface.Command{
			iface.Update{InterfaceID: "if-1", ActorID: actor, Patch: iface.Patch{Name: ptr("x")}},
			iface.Redefine{InterfaceID: "if-1", ActorID: actor, Def: petDef()},
			iface.Delete{InterfaceID: "if-1", ActorID: actor},
			iface.RequestGeneration{InterfaceID: "if-1", ActorID: actor, GenerationID: "g-9"},
			iface.RecordGeneration{InterfaceID: "if-1", ActorID: actor, GenerationID: "g-1", Info: iface.GenerationInfo{Generator: "rules"}},
			iface.FailGeneration{InterfaceID: "if-1", ActorID: actor, GenerationID: "g-1"},
			iface.AddCase{InterfaceID: "if-1", ActorID: actor, Case: kase("k-9")},
			iface.UpdateCase{InterfaceID: "if-1", ActorID: actor, CaseID: "k-1", Patch: iface.CasePatch{Name: ptr("x")}},
			iface.DeleteCase{InterfaceID: "if-1", ActorID: actor, CaseID: "k-1"},
		}
	}
	rich := func(t *testing.T) iface.State {
		s := defined(t)
		s, _ = step(t, s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("k-1"), At: t1})
		s, _ = step(t, s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1", At: t1})
		return s
	}
	states := map[string]struct {
		state func(*testing.T) iface.State
		actor string
	}{
		"missing":         {func(*testing.T) iface.State { return iface.State{} }, owner},
		"missing, system": {func(*testing.T) iface.State { return iface.State{} }, domain.System},
		"another user's":  {rich, other},
		"no actor":        {rich, ""},
		"deleted": {func(t *testing.T) iface.State {
			s, _ := step(t, rich(t), iface.Delete{InterfaceID: "if-1", ActorID: owner, At: t1})
			return s
		}, owner},
	}
	for name, st := range states {
		for _, c := range cmds(st.actor) {
			t.Run(name+"/"+strings.TrimPrefix(reflect.TypeOf(c).String(), "iface."), func(t *testing.T) {
				t.Parallel()
				evs, err := iface.Decide(st.state(t), c)
				domaintest.MustFail(t, evs, err, domain.ErrNotFound)
			})
		}
	}
	// The owner and the system pass the same gate on the rich state.
	for _, actor := range []string{owner, domain.System} {
		for _, c := range cmds(actor) {
			if _, err := iface.Decide(rich(t), c); err != nil {
				t.Errorf("%s %T: %v", actor, c, err)
			}
		}
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	reformatted := json.RawMessage(`{ "properties": { "id": {"type":"integer"}, "store": {"type":"string"} }, "required": ["store","id"], "type": "object" }`)
	cases := []struct {
		name    string
		patch   iface.Patch
		changed []string // nil: no event
		check   func(t *testing.T, d iface.Definition)
	}{
		{"empty patch", iface.Patch{}, nil, nil},
		{"same values", iface.Patch{Name: ptr("get pet"), Method: ptr("GET"), ContentType: ptr("application/json")}, nil, nil},
		{"same schema written differently", iface.Patch{PathParams: &reformatted}, nil, nil},
		{"name", iface.Patch{Name: ptr("fetch pet")}, []string{"name"}, func(t *testing.T, d iface.Definition) {
			want := petDef()
			want.Name, want.Source = "fetch pet", "manual"
			if !reflect.DeepEqual(d, want) {
				t.Errorf("definition = %+v", d)
			}
		}},
		{"path and its parameters together", iface.Patch{Path: ptr("/pets/{pet}"), PathParams: ptr(json.RawMessage(`{"properties":{"pet":{}}}`))},
			[]string{"path", "path_params"}, func(t *testing.T, d iface.Definition) {
				if d.Path != "/pets/{pet}" {
					t.Errorf("path = %q", d.Path)
				}
			}},
		{"responses", iface.Patch{Responses: &map[string]iface.Response{"204": {}}}, []string{"responses"}, nil},
		{"body and description", iface.Patch{Body: ptr(json.RawMessage(`{"type":"object"}`)), Description: ptr("d")}, []string{"description", "body"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := defined(t)
			evs, err := iface.Decide(s, iface.Update{InterfaceID: "if-1", ActorID: owner, Patch: c.patch, At: t1})
			if err != nil {
				t.Fatal(err)
			}
			if c.changed == nil {
				if len(evs) != 0 {
					t.Fatalf("events = %+v, want none", evs)
				}
				return
			}
			u := evs[0].(iface.Updated)
			if len(evs) != 1 || u.AppID != "app-1" || u.InterfaceID != "if-1" || u.Version != 2 || !u.At.Equal(t1) || !slices.Equal(u.Changed, c.changed) {
				t.Fatalf("events = %+v, want changed %v version 2", evs, c.changed)
			}
			if c.check != nil {
				c.check(t, u.Interface)
			}
			s = iface.Evolve(s, u)
			if s.Version != 2 || !reflect.DeepEqual(s.Def, u.Interface) || !s.UpdatedAt.Equal(t1) {
				t.Errorf("state = %+v", s)
			}
			checkInvariants(t, s)
		})
	}
}

func TestUpdateRefusesBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		patch  iface.Patch
		fields []string
	}{
		{"bad method", iface.Patch{Method: ptr("get")}, []string{"method"}},
		{"path without a slash", iface.Patch{Path: ptr("pets/{id}")}, []string{"path"}},
		{"new parameter not declared", iface.Patch{Path: ptr("/stores/{store}/pets/{id}/toys/{toy}")}, []string{"path_params"}},
		{"parameter dropped from the path only", iface.Patch{Path: ptr("/stores/{store}/pets")}, []string{"path_params.id"}},
		{"schema not an object", iface.Patch{Query: ptr(json.RawMessage(`[]`))}, []string{"query"}},
		{"bad status", iface.Patch{Responses: &map[string]iface.Response{"20": {}}}, []string{"responses.20"}},
		{"empty name", iface.Patch{Name: ptr("")}, []string{"name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := iface.Decide(defined(t), iface.Update{InterfaceID: "if-1", ActorID: owner, Patch: c.patch, At: t1})
			domaintest.MustFail(t, evs, err, domain.ErrInvalid, c.fields...)
		})
	}
}

func TestRedefine(t *testing.T) {
	t.Parallel()
	s := defined(t)

	// The same operation, its JSON written differently (key order, spacing): nothing.
	same := petDef()
	same.Source = "manual"
	same.PathParams = json.RawMessage(`{"required":["store","id"],"properties":{"id":{"type":"integer"},"store":{"type":"string"}},"type":"object"}`)
	same.Query = json.RawMessage("{\n  \"type\": \"object\",\n  \"properties\": {\"fields\": {\"type\": \"string\"}}\n}")
	same.Responses = map[string]iface.Response{
		"404": {Description: "no such pet"},
		"200": {Description: "the pet", ContentType: "application/json", Schema: json.RawMessage(`{ "properties": {"id": {"type": "integer"}}, "type": "object" }`)},
	}
	evs, err := iface.Decide(s, iface.Redefine{InterfaceID: "if-1", ActorID: owner, Def: same, At: t1})
	if err != nil || len(evs) != 0 {
		t.Fatalf("equal redefinition: %+v, %v; want nothing", evs, err)
	}

	changed := petDef()
	changed.Method = "PUT"
	changed.Body = json.RawMessage(`{"type":"object"}`)
	changed.Responses = map[string]iface.Response{"200": petDef().Responses["200"]}
	evs, err = iface.Decide(s, iface.Redefine{InterfaceID: "if-1", ActorID: owner, Def: changed, At: t1})
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Event{iface.Updated{AppID: "app-1", InterfaceID: "if-1", Interface: changed,
		Changed: []string{"method", "body", "responses"}, Version: 2, At: t1}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events = %+v\nwant %+v", evs, want)
	}
	s = iface.Evolve(s, evs[0])
	if s.Version != 2 || s.Def.Method != "PUT" {
		t.Errorf("state = %+v", s)
	}

	bad := petDef()
	bad.Path = "/pets/{id}/{other}"
	evs, err = iface.Decide(s, iface.Redefine{InterfaceID: "if-1", ActorID: owner, Def: bad, At: t2})
	domaintest.MustFail(t, evs, err, domain.ErrInvalid, "path_params", "path_params.store")
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s := defined(t)
	s, _ = step(t, s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("k-1"), At: t1})
	evs, err := iface.Decide(s, iface.Delete{InterfaceID: "if-1", ActorID: owner, At: t2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evs, []domain.Event{iface.Deleted{AppID: "app-1", InterfaceID: "if-1", At: t2}}) {
		t.Fatalf("events = %+v", evs)
	}
	s = iface.Evolve(s, evs[0])
	if s.Exists() || !s.Deleted || !s.UpdatedAt.Equal(t2) {
		t.Errorf("state = %+v", s)
	}
	evs, err = iface.Decide(s, iface.Delete{InterfaceID: "if-1", ActorID: owner, At: t2})
	domaintest.MustFail(t, evs, err, domain.ErrNotFound)
}

func TestRequestGeneration(t *testing.T) {
	t.Parallel()
	s := defined(t)
	evs, err := iface.Decide(s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1", At: t1})
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Event{iface.CasesGenerationRequested{AppID: "app-1", InterfaceID: "if-1", GenerationID: "g-1",
		InterfaceVersion: 1, Options: iface.GenerationOptions{Generator: "auto", MaxCases: 50}, At: t1}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events = %+v\nwant %+v", evs, want)
	}
	s = iface.Evolve(s, evs[0])
	g := s.Generations["g-1"]
	if g == nil || g.Status != iface.Pending || g.Options.Generator != "auto" || g.InterfaceVersion != 1 || !g.RequestedAt.Equal(t1) {
		t.Errorf("generation = %+v", g)
	}

	opts := iface.GenerationOptions{Generator: "llm", MaxCases: 500, Hints: "focus on ids"}
	evs, err = iface.Decide(s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-2", Options: opts, At: t1})
	if err != nil || evs[0].(iface.CasesGenerationRequested).Options != opts {
		t.Errorf("explicit options: %+v, %v", evs, err)
	}
}

func TestRequestGenerationRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		id     string
		opts   iface.GenerationOptions
		want   error
		fields []string
	}{
		{"bad id", "g 1", iface.GenerationOptions{}, domain.ErrInvalid, []string{"generation_id"}},
		{"empty id", "", iface.GenerationOptions{}, domain.ErrInvalid, []string{"generation_id"}},
		{"unknown generator", "g-2", iface.GenerationOptions{Generator: "gpt"}, domain.ErrInvalid, []string{"generator"}},
		{"negative max", "g-2", iface.GenerationOptions{MaxCases: -1}, domain.ErrInvalid, []string{"max_cases"}},
		{"too many", "g-2", iface.GenerationOptions{MaxCases: iface.MaxGeneratedCase + 1}, domain.ErrInvalid, []string{"max_cases"}},
		{"hints too long", "g-2", iface.GenerationOptions{Hints: strings.Repeat("h", 4001)}, domain.ErrInvalid, []string{"hints"}},
		{"the same id again", "g-1", iface.GenerationOptions{}, domain.ErrConflict, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, _ := step(t, defined(t), iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1", At: t1})
			evs, err := iface.Decide(s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: c.id, Options: c.opts, At: t1})
			domaintest.MustFail(t, evs, err, c.want, c.fields...)
		})
	}
}

func generated(id string) testcase.Case {
	k := kase(id)
	k.Enabled = true
	return k
}

// Generated cases replace earlier generated ones, but keep manual and edited ones.
func TestGenerationsReplaceOnlyUntouchedGeneratedCases(t *testing.T) {
	t.Parallel()
	s := defined(t)
	s, _ = step(t, s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("m-1"), At: t0})
	s, _ = step(t, s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1", At: t0})

	info := iface.GenerationInfo{Generator: "llm", Model: "deepseek-chat", PromptVersion: "v1", TokensIn: 10, TokensOut: 20, DurationMS: 1500}
	a, b, c := generated("a"), generated("b"), generated("c")
	b.Source, b.Priority, b.Class = "rules", "P0", testcase.Boundary // a rule-completed case within an LLM generation
	c.Extract = map[string]string{"pet": "body.id"}
	evs, err := iface.Decide(s, iface.RecordGeneration{InterfaceID: "if-1", ActorID: domain.System, GenerationID: "g-1", Info: info, Cases: []testcase.Case{a, b, c}, At: t1})
	if err != nil {
		t.Fatal(err)
	}
	g1 := evs[0].(iface.CasesGenerated)
	if len(evs) != 1 || g1.AppID != "app-1" || g1.InterfaceID != "if-1" || g1.GenerationID != "g-1" || !reflect.DeepEqual(g1.Info, info) || len(g1.Replaced) != 0 || !g1.At.Equal(t1) {
		t.Fatalf("event = %+v", g1)
	}
	for i, k := range g1.Cases {
		if k.InterfaceID != "if-1" || k.GenerationID != "g-1" {
			t.Errorf("case %d: interface %q generation %q", i, k.InterfaceID, k.GenerationID)
		}
	}
	if k := g1.Cases[0]; k.Source != "llm" || k.Priority != "P2" || k.Class != testcase.Valid {
		t.Errorf("defaults: %+v", k)
	}
	if k := g1.Cases[1]; k.Source != "rules" || k.Priority != "P0" || k.Class != testcase.Boundary {
		t.Errorf("set fields lost: %+v", k)
	}
	s = iface.Evolve(s, g1)
	if gen := s.Generations["g-1"]; gen.Status != iface.Done || !slices.Equal(gen.CaseIDs, []string{"a", "b", "c"}) || !reflect.DeepEqual(gen.Info, info) || !gen.FinishedAt.Equal(t1) {
		t.Errorf("generation = %+v", gen)
	}
	if !slices.Equal(s.Order, []string{"m-1", "a", "b", "c"}) {
		t.Errorf("order = %v", s.Order)
	}

	// The user edits a (it is theirs now) and only disables b (still the generator's).
	s, evs = step(t, s, iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "a", Patch: iface.CasePatch{Name: ptr("mine")}, At: t1})
	if u := evs[0].(iface.CaseUpdated); u.Case.GenerationID != "" || u.Case.Source != "llm" || !slices.Equal(u.Changed, []string{"name"}) {
		t.Errorf("edited generated case = %+v", u)
	}
	s, evs = step(t, s, iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "b", Patch: iface.CasePatch{Enabled: ptr(false)}, At: t1})
	if u := evs[0].(iface.CaseUpdated); u.Case.GenerationID != "g-1" || !slices.Equal(u.Changed, []string{"enabled"}) {
		t.Errorf("disabled generated case = %+v", u)
	}

	s, _ = step(t, s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-2", Options: iface.GenerationOptions{Generator: "rules"}, At: t1})
	evs, err = iface.Decide(s, iface.RecordGeneration{InterfaceID: "if-1", ActorID: domain.System, GenerationID: "g-2",
		Info: iface.GenerationInfo{Generator: "rules", FallbackReason: "no key"}, Cases: []testcase.Case{generated("d")}, At: t2})
	if err != nil {
		t.Fatal(err)
	}
	g2 := evs[0].(iface.CasesGenerated)
	if !slices.Equal(g2.Replaced, []string{"b", "c"}) {
		t.Errorf("replaced = %v, want [b c]", g2.Replaced)
	}
	s = iface.Evolve(s, g2)
	if !slices.Equal(s.Order, []string{"m-1", "a", "d"}) {
		t.Errorf("order = %v, want [m-1 a d]", s.Order)
	}
	if _, ok := s.Cases["b"]; ok {
		t.Error("b survived")
	}
	if s.Cases["d"].Source != "rules" || s.Cases["a"].Name != "mine" || s.Cases["m-1"].Source != "manual" {
		t.Errorf("cases = %+v", s.Cases)
	}
	if got := s.Generations["g-1"]; got.Status != iface.Done || !slices.Equal(got.CaseIDs, []string{"a", "b", "c"}) {
		t.Errorf("earlier generation rewritten: %+v", got)
	}
	enabled := s.EnabledCases()
	if len(enabled) != 3 || enabled[0].ID != "m-1" || enabled[1].ID != "a" || enabled[2].ID != "d" {
		t.Errorf("enabled cases = %v", enabled)
	}
	checkInvariants(t, s)
}

func TestRecordGenerationRefusals(t *testing.T) {
	t.Parallel()
	base := func(t *testing.T) iface.State {
		s := defined(t)
		s, _ = step(t, s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("m-1"), At: t0})
		s, _ = step(t, s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1", At: t0})
		s, _ = step(t, s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-done", At: t0})
		s, _ = step(t, s, iface.RecordGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-done", Info: iface.GenerationInfo{Generator: "rules"}, At: t0})
		s, _ = step(t, s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-failed", At: t0})
		s, _ = step(t, s, iface.FailGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-failed", At: t0})
		return s
	}
	rules := iface.GenerationInfo{Generator: "rules"}
	bad := kase("x")
	bad.Name, bad.Request.Method = "", "get"
	manual := kase("x")
	manual.Source = "manual"
	cases := []struct {
		name   string
		gen    string
		info   iface.GenerationInfo
		cases  []testcase.Case
		want   error
		fields []string
	}{
		{"unknown generation", "g-9", rules, nil, domain.ErrNotFound, nil},
		{"a finished generation", "g-done", rules, nil, domain.ErrConflict, nil},
		{"a failed generation", "g-failed", rules, nil, domain.ErrConflict, nil},
		{"generator auto", "g-1", iface.GenerationInfo{Generator: "auto"}, nil, domain.ErrInvalid, []string{"info.generator"}},
		{"no generator", "g-1", iface.GenerationInfo{}, nil, domain.ErrInvalid, []string{"info.generator"}},
		{"an id twice", "g-1", rules, []testcase.Case{kase("x"), kase("x")}, domain.ErrInvalid, []string{"cases[1].id"}},
		{"an id of an existing case", "g-1", rules, []testcase.Case{kase("m-1")}, domain.ErrInvalid, []string{"cases[0].id"}},
		{"a bad case", "g-1", rules, []testcase.Case{kase("ok"), bad}, domain.ErrInvalid, []string{"cases[1].name", "cases[1].request.method"}},
		{"a case claiming to be manual", "g-1", rules, []testcase.Case{manual}, domain.ErrInvalid, []string{"cases[0].source"}},
		{"too many cases", "g-1", rules, func() []testcase.Case {
			var out []testcase.Case
			for i := range iface.MaxGeneratedCase + 1 {
				out = append(out, kase("k-"+domain.Itoa(i)))
			}
			return out
		}(), domain.ErrInvalid, []string{"cases"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := iface.Decide(base(t), iface.RecordGeneration{InterfaceID: "if-1", ActorID: domain.System, GenerationID: c.gen, Info: c.info, Cases: c.cases, At: t1})
			domaintest.MustFail(t, evs, err, c.want, c.fields...)
		})
	}
}

func TestFailGeneration(t *testing.T) {
	t.Parallel()
	s, _ := step(t, defined(t), iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1", At: t0})
	evs, err := iface.Decide(s, iface.FailGeneration{InterfaceID: "if-1", ActorID: domain.System, GenerationID: "g-1", At: t1})
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Event{iface.CasesGenerationFailed{AppID: "app-1", InterfaceID: "if-1", GenerationID: "g-1", Reason: "unknown", At: t1}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events = %+v", evs)
	}
	evs, _ = iface.Decide(s, iface.FailGeneration{InterfaceID: "if-1", ActorID: domain.System, GenerationID: "g-1", Reason: "model timed out", At: t1})
	if evs[0].(iface.CasesGenerationFailed).Reason != "model timed out" {
		t.Errorf("reason = %+v", evs[0])
	}
	s = iface.Evolve(s, evs[0])
	if g := s.Generations["g-1"]; g.Status != iface.Failed || g.Reason != "model timed out" || !g.FinishedAt.Equal(t1) {
		t.Errorf("generation = %+v", g)
	}
	evs, err = iface.Decide(s, iface.FailGeneration{InterfaceID: "if-1", ActorID: domain.System, GenerationID: "g-1", At: t2})
	domaintest.MustFail(t, evs, err, domain.ErrConflict)
	evs, err = iface.Decide(s, iface.FailGeneration{InterfaceID: "if-1", ActorID: domain.System, GenerationID: "g-2", At: t2})
	domaintest.MustFail(t, evs, err, domain.ErrNotFound)
}

func TestAddCase(t *testing.T) {
	t.Parallel()
	s := defined(t)
	k := kase("k-1")
	k.Source, k.GenerationID, k.InterfaceID, k.Priority, k.Class = "llm", "g-x", "if-other", "", ""
	evs, err := iface.Decide(s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: k, At: t1})
	if err != nil {
		t.Fatal(err)
	}
	want := kase("k-1")
	want.InterfaceID, want.Source, want.Priority, want.Class = "if-1", "manual", "P2", testcase.Custom
	if !reflect.DeepEqual(evs, []domain.Event{iface.CaseAdded{AppID: "app-1", InterfaceID: "if-1", Case: want, At: t1}}) {
		t.Fatalf("events = %+v\nwant case %+v", evs, want)
	}
	s = iface.Evolve(s, evs[0])
	if !reflect.DeepEqual(s.Cases["k-1"], want) || !slices.Equal(s.Order, []string{"k-1"}) {
		t.Errorf("state = %+v", s)
	}
	evs, err = iface.Decide(s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("k-1"), At: t1})
	domaintest.MustFail(t, evs, err, domain.ErrConflict)
}

func TestAddCaseRefusesBadCases(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		edit   func(*testcase.Case)
		fields []string
	}{
		{"no id", func(k *testcase.Case) { k.ID = "" }, []string{"id"}},
		{"id with a dot", func(k *testcase.Case) { k.ID = "a.b" }, []string{"id"}},
		{"no name", func(k *testcase.Case) { k.Name = "" }, []string{"name"}},
		{"unknown class", func(k *testcase.Case) { k.Class = "smoke" }, []string{"class"}},
		{"unknown priority", func(k *testcase.Case) { k.Priority = "high" }, []string{"priority"}},
		{"bad method", func(k *testcase.Case) { k.Request.Method = "" }, []string{"request.method"}},
		{"bad path", func(k *testcase.Case) { k.Request.Path = "x" }, []string{"request.path"}},
		{"bad body", func(k *testcase.Case) { k.Request.Body = json.RawMessage("{") }, []string{"request.body"}},
		{"bad assertion", func(k *testcase.Case) { k.Assertions = []assert.Assertion{{Target: "status", Op: "eq"}} }, []string{"assertions[0].value"}},
		{"bad extract", func(k *testcase.Case) { k.Extract = map[string]string{"x": "cookie.a"} }, []string{"extract.x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			k := kase("k-1")
			c.edit(&k)
			evs, err := iface.Decide(defined(t), iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: k, At: t1})
			domaintest.MustFail(t, evs, err, domain.ErrInvalid, c.fields...)
		})
	}
}

func TestCaseLimits(t *testing.T) {
	t.Parallel()
	s := defined(t)
	for i := range iface.MaxCases - 1 {
		s = iface.Evolve(s, iface.CaseAdded{AppID: "app-1", InterfaceID: "if-1", Case: kase("k-" + domain.Itoa(i)), At: t0})
	}
	s, _ = step(t, s, iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1", At: t0})
	evs, err := iface.Decide(s, iface.RecordGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1",
		Info: iface.GenerationInfo{Generator: "rules"}, Cases: []testcase.Case{kase("g-a"), kase("g-b")}, At: t1})
	domaintest.MustFail(t, evs, err, domain.ErrConflict)

	s, _ = step(t, s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("last"), At: t1})
	if len(s.Cases) != iface.MaxCases {
		t.Fatalf("%d cases", len(s.Cases))
	}
	evs, err = iface.Decide(s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("one-too-many"), At: t1})
	domaintest.MustFail(t, evs, err, domain.ErrConflict)
}

func TestUpdateCase(t *testing.T) {
	t.Parallel()
	req := testcase.Request{Method: "GET", Path: "/stores/s2/pets/2"}
	cases := []struct {
		name    string
		patch   iface.CasePatch
		changed []string
		check   func(t *testing.T, k testcase.Case)
	}{
		{"empty patch", iface.CasePatch{}, nil, nil},
		{"same values", iface.CasePatch{Name: ptr("case k-1"), Enabled: ptr(true), Class: ptr("valid"), Priority: ptr("P2"),
			Assertions: &[]assert.Assertion{{Target: "status", Op: "eq", Value: 200}}, Extract: &map[string]string{}}, nil, nil},
		{"name", iface.CasePatch{Name: ptr("renamed")}, []string{"name"}, func(t *testing.T, k testcase.Case) {
			if k.Name != "renamed" || k.Source != "manual" || k.Priority != "P2" {
				t.Errorf("case = %+v", k)
			}
		}},
		{"several", iface.CasePatch{Request: &req, Priority: ptr("P0"), Enabled: ptr(false), Extract: &map[string]string{"v": "header.Location"}},
			[]string{"priority", "request", "extract", "enabled"}, func(t *testing.T, k testcase.Case) {
				if !reflect.DeepEqual(k.Request, req) || k.Priority != "P0" || k.Enabled || k.Extract["v"] != "header.Location" {
					t.Errorf("case = %+v", k)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, _ := step(t, defined(t), iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("k-1"), At: t0})
			evs, err := iface.Decide(s, iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-1", Patch: c.patch, At: t1})
			if err != nil {
				t.Fatal(err)
			}
			if c.changed == nil {
				if len(evs) != 0 {
					t.Fatalf("events = %+v, want none", evs)
				}
				return
			}
			u := evs[0].(iface.CaseUpdated)
			if len(evs) != 1 || u.AppID != "app-1" || u.InterfaceID != "if-1" || u.Case.ID != "k-1" || !slices.Equal(u.Changed, c.changed) || !u.At.Equal(t1) {
				t.Fatalf("events = %+v, want changed %v", evs, c.changed)
			}
			c.check(t, u.Case)
			s = iface.Evolve(s, u)
			if !reflect.DeepEqual(s.Cases["k-1"], u.Case) || !slices.Equal(s.Order, []string{"k-1"}) {
				t.Errorf("state = %+v", s)
			}
		})
	}
}

// A generated case patched with the values it already has stays the generator's.
func TestNoOpPatchKeepsAGeneratedCaseReplaceable(t *testing.T) {
	t.Parallel()
	s, _ := step(t, defined(t), iface.RequestGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1", At: t0})
	s, _ = step(t, s, iface.RecordGeneration{InterfaceID: "if-1", ActorID: owner, GenerationID: "g-1",
		Info: iface.GenerationInfo{Generator: "llm"}, Cases: []testcase.Case{kase("a")}, At: t0})
	evs, err := iface.Decide(s, iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "a", Patch: iface.CasePatch{Name: ptr("case a")}, At: t1})
	if err != nil || len(evs) != 0 {
		t.Fatalf("no-op patch: %+v, %v", evs, err)
	}
	if s.Cases["a"].GenerationID != "g-1" {
		t.Errorf("generation = %q", s.Cases["a"].GenerationID)
	}
}

func TestUpdateAndDeleteCaseRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		cmd    iface.Command
		want   error
		fields []string
	}{
		{"update a missing case", iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-9", Patch: iface.CasePatch{Name: ptr("x")}}, domain.ErrNotFound, nil},
		{"empty name", iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-1", Patch: iface.CasePatch{Name: ptr("")}}, domain.ErrInvalid, []string{"name"}},
		{"bad priority", iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-1", Patch: iface.CasePatch{Priority: ptr("P9")}}, domain.ErrInvalid, []string{"priority"}},
		{"bad request", iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-1", Patch: iface.CasePatch{Request: &testcase.Request{}}}, domain.ErrInvalid, []string{"request.method", "request.path"}},
		{"bad assertions", iface.UpdateCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-1", Patch: iface.CasePatch{Assertions: &[]assert.Assertion{{}}}}, domain.ErrInvalid, []string{"assertions[0].target", "assertions[0].op"}},
		{"delete a missing case", iface.DeleteCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-9"}, domain.ErrNotFound, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, _ := step(t, defined(t), iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("k-1"), At: t0})
			evs, err := iface.Decide(s, c.cmd)
			domaintest.MustFail(t, evs, err, c.want, c.fields...)
		})
	}
}

func TestDeleteCase(t *testing.T) {
	t.Parallel()
	s := defined(t)
	for _, id := range []string{"k-1", "k-2", "k-3"} {
		s, _ = step(t, s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase(id), At: t0})
	}
	evs, err := iface.Decide(s, iface.DeleteCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-2", At: t1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evs, []domain.Event{iface.CaseDeleted{AppID: "app-1", InterfaceID: "if-1", CaseID: "k-2", At: t1}}) {
		t.Fatalf("events = %+v", evs)
	}
	s = iface.Evolve(s, evs[0])
	if !slices.Equal(s.Order, []string{"k-1", "k-3"}) || len(s.Cases) != 2 {
		t.Errorf("state = %v %v", s.Order, s.Cases)
	}
	evs, err = iface.Decide(s, iface.DeleteCase{InterfaceID: "if-1", ActorID: owner, CaseID: "k-2", At: t1})
	domaintest.MustFail(t, evs, err, domain.ErrNotFound)
	// The id is free again, and comes back at the end.
	s, _ = step(t, s, iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: kase("k-2"), At: t2})
	if !slices.Equal(s.Order, []string{"k-1", "k-3", "k-2"}) {
		t.Errorf("order = %v", s.Order)
	}
	checkInvariants(t, s)
}

type otherCommand struct{ iface.Command }

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	// Unknown commands name no interface and so find none.
	for _, c := range []iface.Command{nil, otherCommand{}} {
		evs, err := iface.Decide(defined(t), c)
		domaintest.MustFail(t, evs, err, domain.ErrNotFound)
	}
}
