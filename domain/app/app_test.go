package app_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/domaintest"
)

var (
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

const (
	owner = "user-1"
	other = "user-2"
)

func def() app.Definition {
	return app.Definition{
		Name:        "shop",
		Description: "the shop",
		Environments: []app.Environment{
			{Name: "staging", BaseURL: "https://staging.shop.test/api", Headers: map[string]string{"X-Env": "staging"}, Variables: map[string]string{"token": "s3cret"}},
			{Name: "prod", BaseURL: "https://shop.test"},
		},
		NotifyEmails: []string{"qa@shop.test"},
	}
}

// created is an app as its Created event left it.
func created(t *testing.T) app.State {
	t.Helper()
	evs, err := app.Decide(app.State{}, app.Create{AppID: "app-1", ActorID: owner, App: def(), At: t0})
	if err != nil {
		t.Fatal(err)
	}
	return app.Decider.Fold(evs)
}

func archived(t *testing.T) app.State {
	t.Helper()
	return app.Evolve(created(t), app.Archived{AppID: "app-1", OwnerID: owner, At: t0})
}

func TestCreate(t *testing.T) {
	t.Parallel()
	d := def()
	evs, err := app.Decide(app.State{}, app.Create{AppID: "app-1", ActorID: owner, App: d, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	wantDef := d
	wantDef.DefaultEnvironment = "staging" // the first environment is the default
	want := []domain.Event{app.Created{AppID: "app-1", OwnerID: owner, App: wantDef, At: t0}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events = %+v\nwant %+v", evs, want)
	}
	if evs[0].Subject() != "events.app.app-1" || evs[0].EventType() != "app.created" {
		t.Errorf("subject %q type %q", evs[0].Subject(), evs[0].EventType())
	}
	st := app.Decider.Fold(evs)
	wantSt := app.State{ID: "app-1", OwnerID: owner, Def: wantDef, CreatedAt: t0, UpdatedAt: t0}
	if !reflect.DeepEqual(st, wantSt) {
		t.Errorf("state = %+v\nwant %+v", st, wantSt)
	}
	if !st.Exists() || !st.OwnedBy(owner) || st.OwnedBy(other) || st.OwnedBy(domain.System) {
		t.Errorf("Exists/OwnedBy wrong for %+v", st)
	}
	if e, ok := st.Def.Environment("prod"); !ok || e.BaseURL != "https://shop.test" {
		t.Errorf("Environment(prod) = %+v %v", e, ok)
	}
	if _, ok := st.Def.Environment("dev"); ok {
		t.Error("Environment(dev) found")
	}
}

func TestCreateKeepsANamedDefault(t *testing.T) {
	t.Parallel()
	d := def()
	d.DefaultEnvironment = "prod"
	evs, err := app.Decide(app.State{}, app.Create{AppID: "app-1", ActorID: owner, App: d, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got := evs[0].(app.Created).App.DefaultEnvironment; got != "prod" {
		t.Errorf("default = %q, want prod", got)
	}
}

func TestBaseURLs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:9", true},
		{"https://api.example.com", true},
		{"https://api.example.com/v1/", true},
		{"http://localhost:8080/base", true},
		{"http://[::1]:8080", true},
		{"", false},
		{"api.example.com", false},
		{"/relative/path", false},
		{"//api.example.com", false},
		{"ftp://files.example.com", false},
		{"ws://api.example.com", false},
		{"mailto:a@b.io", false},
		{"http://", false},
		{"https:///path", false},
		{"http//nope", false},
		{"http://exa mple.com", false},
		{"http://example.com/?q=1", false},
		{"http://example.com/#frag", false},
		{"http://example.com:port", false},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			t.Parallel()
			d := def()
			d.Environments[1].BaseURL = c.url
			evs, err := app.Decide(app.State{}, app.Create{AppID: "app-1", ActorID: owner, App: d, At: t0})
			if c.ok {
				if err != nil || len(evs) != 1 {
					t.Fatalf("%q: %v", c.url, err)
				}
				return
			}
			domaintest.MustFail(t, evs, err, domain.ErrInvalid, "environments[1].base_url")
		})
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	env := func(name, url string) app.Environment { return app.Environment{Name: name, BaseURL: url} }
	cases := []struct {
		name   string
		edit   func(*app.Create)
		fields []string
	}{
		{"empty app id", func(c *app.Create) { c.AppID = "" }, []string{"app_id"}},
		{"app id with a wildcard", func(c *app.Create) { c.AppID = "app.>" }, []string{"app_id"}},
		{"app id too long", func(c *app.Create) { c.AppID = strings.Repeat("a", 65) }, []string{"app_id"}},
		{"no actor", func(c *app.Create) { c.ActorID = "" }, []string{"owner_id"}},
		{"empty name", func(c *app.Create) { c.App.Name = "" }, []string{"name"}},
		{"name too long", func(c *app.Create) { c.App.Name = strings.Repeat("n", 201) }, []string{"name"}},
		{"description too long", func(c *app.Create) { c.App.Description = strings.Repeat("d", 5001) }, []string{"description"}},
		{"no environment", func(c *app.Create) { c.App.Environments = nil }, []string{"environments"}},
		{"51 environments", func(c *app.Create) {
			c.App.Environments = nil
			for i := range 51 {
				c.App.Environments = append(c.App.Environments, env("e"+domain.Itoa(i), "http://h.test"))
			}
		}, []string{"environments"}},
		{"environment without a name", func(c *app.Create) { c.App.Environments[0].Name = "" }, []string{"environments[0].name"}},
		{"environment named twice", func(c *app.Create) { c.App.Environments[1].Name = "staging" }, []string{"environments[1].name"}},
		{"bad header name", func(c *app.Create) { c.App.Environments[0].Headers = map[string]string{"X Y": "1"} }, []string{"environments[0].headers.X Y"}},
		{"header value with a line break", func(c *app.Create) { c.App.Environments[0].Headers = map[string]string{"X-Y": "1\n2"} }, []string{"environments[0].headers.X-Y"}},
		{"bad variable name", func(c *app.Create) { c.App.Environments[0].Variables = map[string]string{"9lives": "x"} }, []string{"environments[0].variables.9lives"}},
		{"unknown default environment", func(c *app.Create) { c.App.DefaultEnvironment = "dev" }, []string{"default_environment"}},
		{"bad notify email", func(c *app.Create) { c.App.NotifyEmails = []string{"qa@shop.test", "nope"} }, []string{"notify_emails[1]"}},
		{"101 notify emails", func(c *app.Create) { c.App.NotifyEmails = slices.Repeat([]string{"qa@shop.test"}, 101) }, []string{"notify_emails"}},
		{"unknown disabled check", func(c *app.Create) { c.App.DisabledChecks = []string{"not_a_server_error", "be_fast"} }, []string{"disabled_checks[1]"}},
		{"every bad field at once", func(c *app.Create) { c.AppID, c.App = "", app.Definition{} }, []string{"app_id", "name", "environments"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := app.Create{AppID: "app-1", ActorID: owner, App: def(), At: t0}
			c.edit(&cmd)
			evs, err := app.Decide(app.State{}, cmd)
			domaintest.MustFail(t, evs, err, domain.ErrInvalid, c.fields...)
		})
	}
}

func TestCreateWhatExistsConflicts(t *testing.T) {
	t.Parallel()
	for _, actor := range []string{owner, other} {
		evs, err := app.Decide(created(t), app.Create{AppID: "app-1", ActorID: actor, App: def(), At: t1})
		domaintest.MustFail(t, evs, err, domain.ErrConflict)
	}
}

func ptr[T any](v T) *T { return &v }

func TestUpdatePatchSemantics(t *testing.T) {
	t.Parallel()
	newEnvs := []app.Environment{{Name: "qa", BaseURL: "http://qa.shop.test"}, {Name: "prod", BaseURL: "https://shop.test"}}
	cases := []struct {
		name    string
		patch   app.Patch
		changed []string // nil: no event
		check   func(t *testing.T, d app.Definition)
	}{
		{"empty patch", app.Patch{}, nil, nil},
		{"same name", app.Patch{Name: ptr("shop")}, nil, nil},
		{"same everything", app.Patch{Name: ptr("shop"), Description: ptr("the shop"), Environments: ptr(def().Environments),
			DefaultEnvironment: ptr("staging"), NotifyEmails: ptr([]string{"qa@shop.test"}), DisabledChecks: ptr([]string{})}, nil, nil},
		{"default set to empty means the first", app.Patch{DefaultEnvironment: ptr("")}, nil, nil},
		{"name", app.Patch{Name: ptr("store")}, []string{"name"}, func(t *testing.T, d app.Definition) {
			want := def()
			want.Name, want.DefaultEnvironment = "store", "staging"
			if !reflect.DeepEqual(d, want) {
				t.Errorf("definition = %+v, want %+v", d, want)
			}
		}},
		{"description cleared", app.Patch{Description: ptr("")}, []string{"description"}, func(t *testing.T, d app.Definition) {
			if d.Description != "" || d.Name != "shop" {
				t.Errorf("definition = %+v", d)
			}
		}},
		{"default environment", app.Patch{DefaultEnvironment: ptr("prod")}, []string{"default_environment"}, func(t *testing.T, d app.Definition) {
			if d.DefaultEnvironment != "prod" {
				t.Errorf("default = %q", d.DefaultEnvironment)
			}
		}},
		{"environments without the old default", app.Patch{Environments: &newEnvs}, []string{"environments", "default_environment"}, func(t *testing.T, d app.Definition) {
			if d.DefaultEnvironment != "qa" || !reflect.DeepEqual(d.Environments, newEnvs) {
				t.Errorf("definition = %+v, want default qa", d)
			}
		}},
		{"environments and a new default", app.Patch{Environments: &newEnvs, DefaultEnvironment: ptr("prod")}, []string{"environments", "default_environment"}, func(t *testing.T, d app.Definition) {
			if d.DefaultEnvironment != "prod" {
				t.Errorf("default = %q", d.DefaultEnvironment)
			}
		}},
		{"environments keeping the default", app.Patch{Environments: ptr(append(def().Environments, app.Environment{Name: "dev", BaseURL: "http://localhost:3000"}))},
			[]string{"environments"}, func(t *testing.T, d app.Definition) {
				if d.DefaultEnvironment != "staging" || len(d.Environments) != 3 {
					t.Errorf("definition = %+v", d)
				}
			}},
		{"notify emails cleared", app.Patch{NotifyEmails: ptr([]string(nil))}, []string{"notify_emails"}, func(t *testing.T, d app.Definition) {
			if len(d.NotifyEmails) != 0 {
				t.Errorf("emails = %v", d.NotifyEmails)
			}
		}},
		{"disabled checks", app.Patch{DisabledChecks: ptr([]string{"not_a_server_error"})}, []string{"disabled_checks"}, nil},
		{"several, in field order", app.Patch{DisabledChecks: ptr([]string{"response_schema_conformance"}), Name: ptr("store"), Description: ptr("x")},
			[]string{"name", "description", "disabled_checks"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := created(t)
			evs, err := app.Decide(st, app.Update{AppID: "app-1", ActorID: owner, Patch: c.patch, At: t1})
			if err != nil {
				t.Fatal(err)
			}
			if c.changed == nil {
				if len(evs) != 0 {
					t.Fatalf("events = %+v, want none", evs)
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("events = %+v, want one", evs)
			}
			u, ok := evs[0].(app.Updated)
			if !ok {
				t.Fatalf("event %T, want app.Updated", evs[0])
			}
			if u.AppID != "app-1" || u.OwnerID != owner || !u.At.Equal(t1) || !slices.Equal(u.Changed, c.changed) {
				t.Errorf("updated = %+v, want changed %v", u, c.changed)
			}
			if err := u.App.Validate(); err != nil {
				t.Errorf("event's definition is invalid: %v", err)
			}
			if c.check != nil {
				c.check(t, u.App)
			}
			next := app.Evolve(st, u)
			if !reflect.DeepEqual(next.Def, u.App) || !next.UpdatedAt.Equal(t1) || !next.CreatedAt.Equal(t0) || next.Archived {
				t.Errorf("state = %+v", next)
			}
			// The same PATCH again changes nothing.
			again, err := app.Decide(next, app.Update{AppID: "app-1", ActorID: owner, Patch: c.patch, At: t1})
			if err != nil || len(again) != 0 {
				t.Errorf("second identical patch: %+v, %v", again, err)
			}
		})
	}
}

func TestUpdateRefusesBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		patch  app.Patch
		fields []string
	}{
		{"empty name", app.Patch{Name: ptr("")}, []string{"name"}},
		{"relative base url", app.Patch{Environments: &[]app.Environment{{Name: "e", BaseURL: "http//nope"}}}, []string{"environments[0].base_url"}},
		{"no environments", app.Patch{Environments: &[]app.Environment{}}, []string{"environments"}},
		{"unknown default", app.Patch{DefaultEnvironment: ptr("dev")}, []string{"default_environment"}},
		{"bad email", app.Patch{NotifyEmails: &[]string{"x@"}}, []string{"notify_emails[0]"}},
		{"unknown check", app.Patch{DisabledChecks: &[]string{"all"}}, []string{"disabled_checks[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := app.Decide(created(t), app.Update{AppID: "app-1", ActorID: owner, Patch: c.patch, At: t1})
			domaintest.MustFail(t, evs, err, domain.ErrInvalid, c.fields...)
		})
	}
}

func TestOwnershipAndArchive(t *testing.T) {
	t.Parallel()
	name := app.Patch{Name: ptr("mine now")}
	cases := []struct {
		name  string
		state func(t *testing.T) app.State
		cmd   app.Command
		want  error
	}{
		{"update a missing app", func(*testing.T) app.State { return app.State{} }, app.Update{AppID: "app-1", ActorID: owner, Patch: name}, domain.ErrNotFound},
		{"update another user's app", created, app.Update{AppID: "app-1", ActorID: other, Patch: name}, domain.ErrNotFound},
		{"update with no actor", created, app.Update{AppID: "app-1", Patch: name}, domain.ErrNotFound},
		{"update an archived app", archived, app.Update{AppID: "app-1", ActorID: owner, Patch: name}, domain.ErrConflict},
		{"another user's archived app is not found", archived, app.Update{AppID: "app-1", ActorID: other, Patch: name}, domain.ErrNotFound},
		{"archive a missing app", func(*testing.T) app.State { return app.State{} }, app.Archive{AppID: "app-1", ActorID: owner}, domain.ErrNotFound},
		{"archive another user's app", created, app.Archive{AppID: "app-1", ActorID: other}, domain.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := app.Decide(c.state(t), c.cmd)
			domaintest.MustFail(t, evs, err, c.want)
		})
	}
}

func TestArchive(t *testing.T) {
	t.Parallel()
	st := created(t)
	evs, err := app.Decide(st, app.Archive{AppID: "app-1", ActorID: owner, At: t1})
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Event{app.Archived{AppID: "app-1", OwnerID: owner, At: t1}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events = %+v", evs)
	}
	st = app.Evolve(st, evs[0])
	if !st.Archived || !st.UpdatedAt.Equal(t1) || !st.Exists() {
		t.Errorf("state = %+v", st)
	}
	again, err := app.Decide(st, app.Archive{AppID: "app-1", ActorID: owner, At: t1.Add(time.Hour)})
	if err != nil || len(again) != 0 {
		t.Errorf("archive twice: %+v, %v; want nothing", again, err)
	}
}

func TestSystemMayActOnAnyApp(t *testing.T) {
	t.Parallel()
	evs, err := app.Decide(created(t), app.Update{AppID: "app-1", ActorID: domain.System, Patch: app.Patch{Name: ptr("sys")}, At: t1})
	if err != nil || len(evs) != 1 || evs[0].(app.Updated).OwnerID != owner {
		t.Errorf("system update: %+v, %v", evs, err)
	}
	evs, err = app.Decide(created(t), app.Archive{AppID: "app-1", ActorID: domain.System, At: t1})
	if err != nil || len(evs) != 1 || evs[0].(app.Archived).OwnerID != owner {
		t.Errorf("system archive: %+v, %v", evs, err)
	}
	// The system cannot conjure an app that does not exist.
	evs, err = app.Decide(app.State{}, app.Archive{AppID: "app-1", ActorID: domain.System, At: t1})
	domaintest.MustFail(t, evs, err, domain.ErrNotFound)
}

type otherCommand struct{ app.Command }

func TestUnknownCommandIsInvalid(t *testing.T) {
	t.Parallel()
	for _, c := range []app.Command{nil, otherCommand{}} {
		evs, err := app.Decide(created(t), c)
		domaintest.MustFail(t, evs, err, domain.ErrInvalid, "command")
	}
}

func TestValidationErrorIsSortedAndReadable(t *testing.T) {
	t.Parallel()
	_, err := app.Decide(app.State{}, app.Create{AppID: "", ActorID: "", App: app.Definition{}})
	got := domaintest.FieldsOf(err)
	if !slices.IsSorted(got) {
		t.Errorf("fields %v not sorted", got)
	}
	if !strings.HasPrefix(err.Error(), "invalid: ") || !strings.Contains(err.Error(), "app_id: ") {
		t.Errorf("message %q", err.Error())
	}
}

// TestDecideNeverPanics folds the events of random commands, valid and garbage, and checks
// that Decide never panics, refuses with a typed error and no events, and that every event
// it emits survives the catalog's JSON round trip.
func TestDecideNeverPanics(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	r := rand.New(rand.NewPCG(7, 11))
	// Most values are valid so that the fold reaches deep states; some are garbage.
	var garbage bool
	pick := func(valid []string, bad ...string) string {
		if garbage && len(bad) > 0 && r.IntN(3) == 0 {
			return bad[r.IntN(len(bad))]
		}
		return valid[r.IntN(len(valid))]
	}
	envs := func() []app.Environment {
		n := 1 + r.IntN(3)
		if garbage && r.IntN(4) == 0 {
			n = 0
		}
		var out []app.Environment
		for i := range n {
			e := app.Environment{Name: pick([]string{"e" + domain.Itoa(i+1)}, "", "e1"),
				BaseURL: pick([]string{"http://a.test", "https://b.test/x"}, "", "ftp://x", "http://", "nope", "http://h/?q", "\x00")}
			if r.IntN(3) == 0 {
				e.Headers = map[string]string{pick([]string{"X-A"}, "bad name", ""): pick([]string{"v"}, "a\nb")}
			}
			if r.IntN(3) == 0 {
				e.Variables = map[string]string{pick([]string{"v"}, "1v", ""): "x"}
			}
			out = append(out, e)
		}
		return out
	}
	strs := func(valid ...string) []string {
		var out []string
		for range r.IntN(3) {
			out = append(out, pick(valid, "x", "", "a@b"))
		}
		return out
	}
	emails := func() []string { return strs("a@b.io", "c@d.io") }
	checks := func() []string { return strs("not_a_server_error", "status_code_conformance") }
	maybe := func(s string) *string {
		if r.IntN(2) == 0 {
			return nil
		}
		return &s
	}
	randomDef := func() app.Definition {
		return app.Definition{Name: pick([]string{"shop"}, "", strings.Repeat("n", 201)), Description: pick([]string{"", "d"}, "\xff"),
			Environments: envs(), DefaultEnvironment: pick([]string{"", "e1"}, "zz"), NotifyEmails: emails(), DisabledChecks: checks()}
	}
	randomCommand := func() app.Command {
		garbage = r.IntN(4) == 0
		id := pick([]string{"app-1"}, "", "a.b", strings.Repeat("a", 65))
		actor := pick([]string{owner, owner, domain.System}, other, "")
		at := t0.Add(time.Duration(r.IntN(1e6)) * time.Second)
		switch r.IntN(6) {
		case 0, 1:
			return app.Create{AppID: id, ActorID: actor, App: randomDef(), At: at}
		case 2, 3:
			p := app.Patch{Name: maybe(pick([]string{"shop", "store"}, "")), Description: maybe(pick([]string{"", "d"})),
				DefaultEnvironment: maybe(pick([]string{"", "e1", "e2"}, "zz"))}
			if r.IntN(3) == 0 {
				e := envs()
				p.Environments = &e
			}
			if r.IntN(3) == 0 {
				s := emails()
				p.NotifyEmails = &s
			}
			if r.IntN(3) == 0 {
				s := checks()
				p.DisabledChecks = &s
			}
			return app.Update{AppID: id, ActorID: actor, Patch: p, At: at}
		case 4:
			return app.Archive{AppID: id, ActorID: actor, At: at}
		}
		return nil
	}
	st := app.Decider.Initial()
	accepted := 0
	for i := range 2000 {
		if r.IntN(100) == 0 {
			st = app.Decider.Initial()
		}
		cmd := randomCommand()
		before, _ := json.Marshal(st)
		var evs []domain.Event
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("step %d: Decide(%+v, %#v) panicked: %v", i, st, cmd, p)
				}
			}()
			evs, err = app.Decide(st, cmd)
		}()
		if after, _ := json.Marshal(st); string(before) != string(after) {
			t.Fatalf("step %d: Decide changed its state", i)
		}
		if err != nil {
			if len(evs) != 0 {
				t.Fatalf("step %d: %v with events %+v", i, err, evs)
			}
			if !errors.Is(err, domain.ErrInvalid) && !errors.Is(err, domain.ErrNotFound) && !errors.Is(err, domain.ErrConflict) {
				t.Fatalf("step %d: untyped error %v", i, err)
			}
			continue
		}
		for _, e := range evs {
			data, v, err := cat.Encode(e)
			if err != nil {
				t.Fatalf("step %d: encode %T: %v", i, e, err)
			}
			back, err := cat.Decode(e.EventType(), v, data)
			if err != nil {
				t.Fatalf("step %d: decode %T: %v", i, e, err)
			}
			st = app.Evolve(st, back)
			accepted++
		}
		if st.Exists() {
			if err := st.Def.Validate(); err != nil {
				t.Fatalf("step %d: state's definition is invalid: %v", i, err)
			}
			if _, ok := st.Def.Environment(st.Def.DefaultEnvironment); !ok {
				t.Fatalf("step %d: default %q names no environment", i, st.Def.DefaultEnvironment)
			}
		}
	}
	t.Logf("%d events accepted", accepted)
	if accepted < 50 {
		t.Errorf("only %d events accepted: the generator is too hostile to reach deep states", accepted)
	}
}
