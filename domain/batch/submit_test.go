package batch_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/domaintest"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

// world is app-1 with two live interfaces, a deleted one, and one of another app.
func world(t *testing.T) []iface.State {
	t.Helper()
	return []iface.State{
		anInterface(t, "app-1", "if-1", kase("a"), disabled("b"), kase("c")),
		anInterface(t, "app-2", "if-x", kase("x")),
		anInterface(t, "app-1", "if-2", kase("d")),
		deleted(t, anInterface(t, "app-1", "if-3", kase("e"))),
		anInterface(t, "app-1", "if-4", disabled("f")),
	}
}

func TestSubmitEverythingEnabled(t *testing.T) {
	t.Parallel()
	ifs := world(t)
	c := submit(ifs...)
	c.App = theApp(t, false)
	c.Settings = batch.Settings{NotifyEmails: []string{"dev@shop.test", "lead@shop.test"}, RatePerSecond: 12.5}
	evs, err := batch.Decide(batch.State{}, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	e := evs[0].(batch.Submitted)
	if e.AppID != "app-1" || e.BatchID != "b-1" || e.OwnerID != owner || !e.At.Equal(t0) {
		t.Errorf("ids = %+v", e)
	}
	if e.Subject() != "events.app.app-1.batch.b-1" || e.EventType() != "batch.submitted" {
		t.Errorf("subject %q type %q", e.Subject(), e.EventType())
	}
	if !reflect.DeepEqual(e.Environment, appDef().Environments[0]) {
		t.Errorf("environment = %+v, want the default (staging)", e.Environment)
	}
	if got := ids(e.Cases); !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Errorf("cases = %v, want [a c d]: enabled, of live interfaces of the app, in order", got)
	}
	for _, k := range e.Cases {
		if !k.Enabled || k.Source != "manual" {
			t.Errorf("case %+v", k)
		}
	}
	wantRefs := []batch.InterfaceRef{
		{ID: "if-1", Name: "op if-1", Method: "GET", Path: "/pets", Version: 1, ContentType: "application/json", Responses: ifs[0].Def.Responses},
		{ID: "if-2", Name: "op if-2", Method: "GET", Path: "/pets", Version: 1, ContentType: "application/json", Responses: ifs[2].Def.Responses},
	}
	if !reflect.DeepEqual(e.Interfaces, wantRefs) {
		t.Errorf("interfaces = %+v\nwant %+v", e.Interfaces, wantRefs)
	}
	wantSet := batch.Settings{Concurrency: batch.DefaultConcurrent, TimeoutMS: batch.DefaultTimeoutMS, RatePerSecond: 12.5,
		NotifyEmails:   []string{"qa@shop.test", "dev@shop.test", "lead@shop.test"},
		DisabledChecks: []string{"not_a_server_error"}}
	if !reflect.DeepEqual(e.Settings, wantSet) {
		t.Errorf("settings = %+v\nwant %+v", e.Settings, wantSet)
	}

	s := batch.Decider.Fold(evs)
	if !s.Exists() || s.ID != "b-1" || s.AppID != "app-1" || s.OwnerID != owner || !slices.Equal(s.Order, []string{"a", "c", "d"}) ||
		len(s.Cases) != 3 || len(s.Interfaces) != 2 || !s.SubmittedAt.Equal(t0) || s.Status() != batch.StatusRunning ||
		len(s.Requested) != 0 || len(s.Results) != 0 || s.Completed != nil || !reflect.DeepEqual(s.Environment(), e.Environment) {
		t.Errorf("state = %+v", s)
	}
	checkInvariants(t, s)
}

func TestSubmitSelection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		sel   batch.Selection
		cases []string
		refs  []string
		env   string
	}{
		{"nothing named", batch.Selection{}, []string{"a", "c", "d"}, []string{"if-1", "if-2"}, "staging"},
		{"one interface", batch.Selection{InterfaceIDs: []string{"if-2"}}, []string{"d"}, []string{"if-2"}, "staging"},
		{"interfaces in app order", batch.Selection{InterfaceIDs: []string{"if-2", "if-1"}}, []string{"a", "c", "d"}, []string{"if-1", "if-2"}, "staging"},
		{"an interface with disabled cases only is left out", batch.Selection{InterfaceIDs: []string{"if-1", "if-4"}}, []string{"a", "c"}, []string{"if-1"}, "staging"},
		{"cases", batch.Selection{CaseIDs: []string{"d", "a"}}, []string{"a", "d"}, []string{"if-1", "if-2"}, "staging"},
		{"a disabled case named is not run", batch.Selection{CaseIDs: []string{"c", "b"}}, []string{"c"}, []string{"if-1"}, "staging"},
		{"cases within interfaces", batch.Selection{InterfaceIDs: []string{"if-1"}, CaseIDs: []string{"a", "d"}}, []string{"a"}, []string{"if-1"}, "staging"},
		{"another environment", batch.Selection{Environment: "prod", CaseIDs: []string{"a"}}, []string{"a"}, []string{"if-1"}, "prod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := submit(world(t)...)
			cmd.App, cmd.Selection = theApp(t, false), c.sel
			s, evs := step(t, batch.State{}, cmd)
			e := evs[0].(batch.Submitted)
			if got := ids(e.Cases); !slices.Equal(got, c.cases) {
				t.Errorf("cases = %v, want %v", got, c.cases)
			}
			var refs []string
			for _, r := range e.Interfaces {
				refs = append(refs, r.ID)
			}
			if !slices.Equal(refs, c.refs) {
				t.Errorf("interfaces = %v, want %v", refs, c.refs)
			}
			if e.Environment.Name != c.env || s.Env.Name != c.env {
				t.Errorf("environment = %q, want %q", e.Environment.Name, c.env)
			}
		})
	}
}

func TestSubmitUsesTheAppsDefaultEnvironment(t *testing.T) {
	t.Parallel()
	def := appDef()
	def.DefaultEnvironment = "prod"
	cmd := submit(anInterface(t, "app-1", "if-1", kase("a")))
	cmd.App = appWith(t, "app-1", def, false)
	_, evs := step(t, batch.State{}, cmd)
	if env := evs[0].(batch.Submitted).Environment; env.Name != "prod" || env.Headers["X-Env"] != "prod" {
		t.Errorf("environment = %+v", env)
	}
}

func TestSubmitNotifyEmailsWithoutDuplicates(t *testing.T) {
	t.Parallel()
	def := appDef()
	def.NotifyEmails = nil
	cmd := submit(anInterface(t, "app-1", "if-1", kase("a")))
	cmd.App = appWith(t, "app-1", def, false)
	_, evs := step(t, batch.State{}, cmd)
	if got := evs[0].(batch.Submitted).Settings.NotifyEmails; len(got) != 0 {
		t.Errorf("no emails anywhere: %v", got)
	}
	cmd.Settings.NotifyEmails = []string{"a@x.io", "a@x.io", "b@x.io"}
	_, evs = step(t, batch.State{}, cmd)
	if got := evs[0].(batch.Submitted).Settings.NotifyEmails; !slices.Equal(got, []string{"a@x.io", "b@x.io"}) {
		t.Errorf("emails = %v", got)
	}
}

func TestSubmitSystemMayActForTheOwner(t *testing.T) {
	t.Parallel()
	cmd := submit(world(t)...)
	cmd.App, cmd.ActorID = theApp(t, false), domain.System
	s, evs := step(t, batch.State{}, cmd)
	if evs[0].(batch.Submitted).OwnerID != owner || s.OwnerID != owner {
		t.Errorf("owner = %q, want the app's", s.OwnerID)
	}
}

func TestSubmitRefusals(t *testing.T) {
	t.Parallel()
	type tc struct {
		name   string
		edit   func(t *testing.T, c *batch.Submit)
		state  bool // the batch exists already
		want   error
		fields []string
	}
	sel := func(s batch.Selection) func(*testing.T, *batch.Submit) {
		return func(_ *testing.T, c *batch.Submit) { c.Selection = s }
	}
	set := func(s batch.Settings) func(*testing.T, *batch.Submit) {
		return func(_ *testing.T, c *batch.Submit) { c.Settings = s }
	}
	cases := []tc{
		{"missing app", func(_ *testing.T, c *batch.Submit) { c.App = app.State{} }, false, domain.ErrNotFound, nil},
		{"another user's app", func(_ *testing.T, c *batch.Submit) { c.ActorID = other }, false, domain.ErrNotFound, nil},
		{"another user's archived app", func(t *testing.T, c *batch.Submit) { c.ActorID, c.App = other, theApp(t, true) }, false, domain.ErrNotFound, nil},
		{"no actor", func(_ *testing.T, c *batch.Submit) { c.ActorID = "" }, false, domain.ErrNotFound, nil},
		{"archived app", func(t *testing.T, c *batch.Submit) { c.App = theApp(t, true) }, false, domain.ErrConflict, nil},
		{"archived app, even for the system", func(t *testing.T, c *batch.Submit) { c.App, c.ActorID = theApp(t, true), domain.System }, false, domain.ErrConflict, nil},
		{"submitted twice", func(*testing.T, *batch.Submit) {}, true, domain.ErrConflict, nil},
		{"empty batch id", func(_ *testing.T, c *batch.Submit) { c.BatchID = "" }, false, domain.ErrInvalid, []string{"batch_id"}},
		{"batch id with a wildcard", func(_ *testing.T, c *batch.Submit) { c.BatchID = "b.*" }, false, domain.ErrInvalid, []string{"batch_id"}},
		{"negative concurrency", set(batch.Settings{Concurrency: -1}), false, domain.ErrInvalid, []string{"concurrency"}},
		{"too much concurrency", set(batch.Settings{Concurrency: 1001}), false, domain.ErrInvalid, []string{"concurrency"}},
		{"negative rate", set(batch.Settings{RatePerSecond: -0.5}), false, domain.ErrInvalid, []string{"rate_per_second"}},
		{"rate too high", set(batch.Settings{RatePerSecond: 100_001}), false, domain.ErrInvalid, []string{"rate_per_second"}},
		{"negative timeout", set(batch.Settings{TimeoutMS: -1}), false, domain.ErrInvalid, []string{"timeout_ms"}},
		{"timeout too long", set(batch.Settings{TimeoutMS: 300_001}), false, domain.ErrInvalid, []string{"timeout_ms"}},
		{"bad email", set(batch.Settings{NotifyEmails: []string{"a@x.io", "Bob <b@x.io>"}}), false, domain.ErrInvalid, []string{"notify_emails[1]"}},
		{"101 emails", set(batch.Settings{NotifyEmails: slices.Repeat([]string{"a@x.io"}, 101)}), false, domain.ErrInvalid, []string{"notify_emails"}},
		{"unknown environment", sel(batch.Selection{Environment: "dev"}), false, domain.ErrInvalid, []string{"environment"}},
		{"unknown interface", sel(batch.Selection{InterfaceIDs: []string{"if-1", "if-9"}}), false, domain.ErrInvalid, []string{"interface_ids[1]"}},
		{"another app's interface", sel(batch.Selection{InterfaceIDs: []string{"if-x"}}), false, domain.ErrInvalid, []string{"interface_ids[0]"}},
		{"a deleted interface", sel(batch.Selection{InterfaceIDs: []string{"if-3"}}), false, domain.ErrInvalid, []string{"interface_ids[0]"}},
		{"unknown case", sel(batch.Selection{CaseIDs: []string{"zz"}}), false, domain.ErrInvalid, []string{"case_ids[0]"}},
		{"another app's case", sel(batch.Selection{CaseIDs: []string{"a", "x"}}), false, domain.ErrInvalid, []string{"case_ids[1]"}},
		{"a deleted interface's case", sel(batch.Selection{CaseIDs: []string{"e"}}), false, domain.ErrInvalid, []string{"case_ids[0]"}},
		{"only disabled cases", sel(batch.Selection{CaseIDs: []string{"b", "f"}}), false, domain.ErrInvalid, []string{"selection"}},
		{"an interface with no enabled case", sel(batch.Selection{InterfaceIDs: []string{"if-4"}}), false, domain.ErrInvalid, []string{"selection"}},
		{"no interfaces at all", func(_ *testing.T, c *batch.Submit) { c.Interfaces = nil }, false, domain.ErrInvalid, []string{"selection"}},
		{"only other apps' interfaces", func(t *testing.T, c *batch.Submit) { c.Interfaces = c.Interfaces[1:2] }, false, domain.ErrInvalid, []string{"selection"}},
		{"a case whose variable nobody provides", func(t *testing.T, c *batch.Submit) {
			c.Interfaces = []iface.State{anInterface(t, "app-1", "if-1", uses("a", "/pets/${pet}"))}
		}, false, domain.ErrInvalid, []string{"cases.a"}},
		{"everything at once", func(_ *testing.T, c *batch.Submit) {
			c.BatchID, c.Settings, c.Selection = "", batch.Settings{Concurrency: -1, TimeoutMS: -1}, batch.Selection{Environment: "x", CaseIDs: []string{"zz"}}
		}, false, domain.ErrInvalid, []string{"batch_id", "concurrency", "timeout_ms", "environment", "case_ids[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := submit(world(t)...)
			cmd.App = theApp(t, false)
			var st batch.State
			if c.state {
				st, _ = step(t, st, cmd)
			}
			c.edit(t, &cmd)
			evs, err := batch.Decide(st, cmd)
			domaintest.MustFail(t, evs, err, c.want, c.fields...)
		})
	}
}

func TestSubmitBounds(t *testing.T) {
	t.Parallel()
	for _, s := range []batch.Settings{
		{Concurrency: 1, TimeoutMS: 1},
		{Concurrency: 1000, TimeoutMS: 300_000, RatePerSecond: 100_000},
		{RatePerSecond: 0.1},
	} {
		cmd := submit(anInterface(t, "app-1", "if-1", kase("a")))
		cmd.App, cmd.Settings = theApp(t, false), s
		if _, err := batch.Decide(batch.State{}, cmd); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

func TestSubmitChecksChainedVariables(t *testing.T) {
	t.Parallel()
	login := extracts(kase("login"), "session")
	cases := []struct {
		name   string
		cases  []testcase.Case
		fields []string // nil: accepted
	}{
		{"a chain", []testcase.Case{login, uses("order", "/orders/${session}")}, nil},
		{"the environment provides it", []testcase.Case{uses("me", "/me/${token}")}, nil},
		{"the environment wins over a case", []testcase.Case{extracts(kase("a"), "token"), uses("b", "/${token}")}, nil},
		{"missing", []testcase.Case{login, uses("order", "/orders/${order_id}")}, []string{"cases.order"}},
		{"extracted twice", []testcase.Case{login, extracts(kase("again"), "session"), uses("order", "/orders/${session}")}, []string{"cases.again.extract.session"}},
		{"a cycle", []testcase.Case{extracts(uses("a", "/${y}"), "x"), extracts(uses("b", "/${x}"), "y")}, []string{"cases"}},
		{"only itself", []testcase.Case{extracts(uses("a", "/${x}"), "x")}, []string{"cases.a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := submit(anInterface(t, "app-1", "if-1", c.cases...))
			cmd.App = theApp(t, false)
			evs, err := batch.Decide(batch.State{}, cmd)
			if c.fields == nil {
				if err != nil || len(evs) != 1 {
					t.Fatalf("%+v, %v", evs, err)
				}
				return
			}
			domaintest.MustFail(t, evs, err, domain.ErrInvalid, c.fields...)
		})
	}
	// A disabled extractor does not provide: its dependant is refused.
	cmd := submit(anInterface(t, "app-1", "if-1", extracts(disabled("login"), "session"), uses("order", "/orders/${session}")))
	cmd.App = theApp(t, false)
	evs, err := batch.Decide(batch.State{}, cmd)
	domaintest.MustFail(t, evs, err, domain.ErrInvalid, "cases.order")
	// Nor does a case left out of the selection.
	cmd = submit(anInterface(t, "app-1", "if-1", login, uses("order", "/orders/${session}")))
	cmd.App, cmd.Selection.CaseIDs = theApp(t, false), []string{"order"}
	evs, err = batch.Decide(batch.State{}, cmd)
	domaintest.MustFail(t, evs, err, domain.ErrInvalid, "cases.order")
}

func TestDependencies(t *testing.T) {
	t.Parallel()
	env := map[string]string{"token": "t", "base": "b"}
	withQuery := kase("q")
	withQuery.Request.Query = map[string]any{"user": "${user}"}
	withHeader := kase("h")
	withHeader.Request.Headers = map[string]string{"Authorization": "Bearer ${session}"}
	withBody := kase("body")
	withBody.Request.Body = json.RawMessage(`{"pet":"${pet}","token":"${token}"}`)
	cases := []struct {
		name   string
		cases  []testcase.Case
		want   map[string][]string
		fields []string // set: invalid
	}{
		{"no variables", []testcase.Case{kase("a"), kase("b")}, map[string][]string{}, nil},
		{"the environment only", []testcase.Case{uses("a", "/${token}/${base}")}, map[string][]string{}, nil},
		{"the environment wins", []testcase.Case{extracts(kase("a"), "token"), uses("b", "/${token}")}, map[string][]string{}, nil},
		{"one dependency", []testcase.Case{extracts(kase("a"), "pet"), uses("b", "/pets/${pet}")}, map[string][]string{"b": {"a"}}, nil},
		{"dependant first", []testcase.Case{uses("b", "/pets/${pet}"), extracts(kase("a"), "pet")}, map[string][]string{"b": {"a"}}, nil},
		{"two sources, once each", []testcase.Case{extracts(kase("a"), "pet"), extracts(kase("u"), "user"), uses("c", "/${user}/${pet}/${pet}")},
			map[string][]string{"c": {"a", "u"}}, nil},
		{"two variables of one source", []testcase.Case{extracts(kase("a"), "pet", "owner"), uses("c", "/${owner}/${pet}")},
			map[string][]string{"c": {"a"}}, nil},
		{"a chain", []testcase.Case{extracts(kase("a"), "x"), extracts(uses("b", "/${x}"), "y"), uses("c", "/${y}")},
			map[string][]string{"b": {"a"}, "c": {"b"}}, nil},
		{"query, headers and body", []testcase.Case{extracts(kase("a"), "user", "session", "pet"), withQuery, withHeader, withBody},
			map[string][]string{"q": {"a"}, "h": {"a"}, "body": {"a"}}, nil},
		{"missing", []testcase.Case{uses("a", "/${nope}")}, nil, []string{"cases.a"}},
		{"missing in a header", []testcase.Case{withHeader}, nil, []string{"cases.h"}},
		{"extracted by two cases", []testcase.Case{extracts(kase("a"), "pet"), extracts(kase("b"), "pet")}, nil, []string{"cases.b.extract.pet"}},
		{"only its own", []testcase.Case{extracts(uses("a", "/${pet}"), "pet")}, nil, []string{"cases.a"}},
		{"a two-cycle", []testcase.Case{extracts(uses("a", "/${y}"), "x"), extracts(uses("b", "/${x}"), "y")}, nil, []string{"cases"}},
		{"a three-cycle behind a chain", []testcase.Case{
			extracts(kase("root"), "r"),
			extracts(uses("a", "/${r}/${z}"), "x"),
			extracts(uses("b", "/${x}"), "y"),
			extracts(uses("c", "/${y}"), "z"),
		}, nil, []string{"cases"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			deps, err := batch.Dependencies(c.cases, env)
			if c.fields != nil {
				if deps != nil {
					t.Errorf("deps = %v with an error", deps)
				}
				domaintest.MustFail(t, nil, err, domain.ErrInvalid, c.fields...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(deps, c.want) {
				t.Errorf("deps = %v, want %v", deps, c.want)
			}
		})
	}
}

func TestDependenciesNamesTheCycle(t *testing.T) {
	t.Parallel()
	_, err := batch.Dependencies([]testcase.Case{extracts(uses("a", "/${y}"), "x"), extracts(uses("b", "/${x}"), "y")}, nil)
	if err == nil || !strings.Contains(err.Error(), "[a b a]") {
		t.Errorf("err = %v, want the cycle [a b a]", err)
	}
}
