package reactor_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/reactor"
)

func TestDispatchOneRequestPerCase(t *testing.T) {
	e := setup(t)
	sub := submitted("b-300", plainCases(300))
	e.submit(sub)
	e.dispatcher()
	e.dispatcher() // a second replica of the same durable
	e.eventually("300 requests", func() bool { return len(e.execs("b-300")) >= 300 })
	settle()
	got := execsByCase(t, e.execs("b-300"))
	if len(got) != 300 {
		t.Fatalf("%d requests, want 300", len(got))
	}
	r := got["c-00042"]
	if r.Request.URL != "http://127.0.0.1:9/api/pets" || r.Request.Method != "GET" || r.TimeoutMS != 1000 ||
		r.Interface.ID != "if-1" || len(r.AllowHosts) != 1 || r.AllowHosts[0] != "127.0.0.1:9" {
		t.Errorf("request %+v", r)
	}
}

// Two dispatchers handling the same submitted event at once (a redelivery racing the
// first delivery) still append one request per case.
func TestDispatchConcurrentHandlersNoDuplicates(t *testing.T) {
	e := setup(t)
	env := e.submit(submitted("b-race", plainCases(300)))
	var wg sync.WaitGroup
	for range 2 {
		d := reactor.NewDispatcher(e.store, reactor.DispatcherConfig{})
		wg.Go(func() {
			if err := d.Handle(e.ctx, env); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := execsByCase(t, e.execs("b-race")); len(got) != 300 {
		t.Fatalf("%d requests, want 300", len(got))
	}
}

// A dispatcher that crashed half-way: the first chunk and part of the second are already
// in the log. The restarted dispatcher completes the rest without duplicates.
func TestDispatchResumesAfterACrash(t *testing.T) {
	e := setup(t)
	const n = 2300
	sub := submitted("b-crash", plainCases(n))
	e.submit(sub)
	var envs []domain.Envelope
	for _, c := range sub.Cases[:1500] {
		r, err := reactor.Resolve(sub, c, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, domain.Envelope{ID: uuid.NewString(), Data: r})
	}
	for _, part := range [][]domain.Envelope{envs[:1000], envs[1000:]} { // the first chunk, half the second
		expect := eventstore.Expect{}
		for _, env := range part {
			expect[env.Data.Subject()] = 0
		}
		if _, err := e.store.Append(e.ctx, expect, part...); err != nil {
			t.Fatal(err)
		}
	}
	e.dispatcher()
	e.eventually("every request", func() bool { return len(e.execs("b-crash")) >= n })
	settle()
	if got := execsByCase(t, e.execs("b-crash")); len(got) != n {
		t.Fatalf("%d requests, want %d", len(got), n)
	}
}

func chainCases() []testcase.Case {
	login := plainCase(0)
	login.ID, login.Extract = "login", map[string]string{"token": "body.token"}
	profile := plainCase(1)
	profile.ID = "profile"
	profile.Request.Headers = map[string]string{"Authorization": "Bearer ${token}"}
	profile.Request.Path = "/t/${tenant}/pets"
	profile.Extract = map[string]string{"name": "body.name"}
	settings := plainCase(2)
	settings.ID = "settings"
	settings.Request.Query = map[string]any{"name": "${name}"}
	free := plainCase(3)
	free.ID = "free"
	return []testcase.Case{login, profile, settings, free}
}

func TestDispatchChainAfterTheResult(t *testing.T) {
	e := setup(t)
	e.submit(submitted("b-chain", chainCases()))
	e.dispatcher()
	e.eventually("the independent requests", func() bool { return len(e.execs("b-chain")) >= 2 })
	settle()
	got := execsByCase(t, e.execs("b-chain"))
	if len(got) != 2 || got["login"].CaseID == "" || got["free"].CaseID == "" {
		t.Fatalf("requested %v, want login and free", keys(got))
	}
	e.result("b-chain", "login", batch.Passed, map[string]string{"token": "tok-1"})
	e.eventually("profile", func() bool { return len(e.execs("b-chain")) >= 3 })
	settle()
	got = execsByCase(t, e.execs("b-chain"))
	p := got["profile"]
	if len(got) != 3 || p.Request.Headers["Authorization"] != "Bearer tok-1" || p.Request.URL != "http://127.0.0.1:9/api/t/acme/pets" {
		t.Fatalf("requests %v; profile %+v", keys(got), p.Request)
	}
	e.result("b-chain", "profile", batch.Passed, map[string]string{"name": "rex z"})
	e.eventually("settings", func() bool { return len(e.execs("b-chain")) >= 4 })
	if s := execsByCase(t, e.execs("b-chain"))["settings"]; !strings.HasSuffix(s.Request.URL, "/pets?name=rex+z") {
		t.Errorf("settings url %s", s.Request.URL)
	}
}

func TestDispatchFailedDependencyCascades(t *testing.T) {
	e := setup(t)
	e.submit(submitted("b-fail", chainCases()))
	e.dispatcher()
	e.completer()
	e.eventually("the independent requests", func() bool { return len(e.execs("b-fail")) >= 2 })
	e.result("b-fail", "login", batch.Failed, nil)
	e.result("b-fail", "free", batch.Passed, nil)
	e.eventually("the cascade", func() bool { return len(e.results("b-fail")) == 4 })
	res := e.results("b-fail")
	if r := res["profile"]; r.Outcome != batch.Errored || r.Error != "dependency login failed" {
		t.Errorf("profile %s %q", r.Outcome, r.Error)
	}
	if r := res["settings"]; r.Outcome != batch.Errored || r.Error != "dependency profile failed" {
		t.Errorf("settings %s %q", r.Outcome, r.Error)
	}
	e.eventually("completion", func() bool { return len(e.completions("b-fail")) > 0 })
	settle()
	c := e.completions("b-fail")
	want := batch.Totals{Total: 4, Passed: 1, Failed: 1, Errored: 2}
	if len(c) != 1 || c[0].Totals != want {
		t.Fatalf("completions %+v, want one with %+v", c, want)
	}
	if got := execsByCase(t, e.execs("b-fail")); len(got) != 2 {
		t.Errorf("requested %v, want login and free only", keys(got))
	}
}

// A passed dependency that did not extract what the dependant needs: the dependant
// cannot be built and ends errored instead of waiting for ever.
func TestDispatchMissingExtractionErrors(t *testing.T) {
	e := setup(t)
	e.submit(submitted("b-noextract", chainCases()[:2]))
	e.dispatcher()
	e.eventually("login", func() bool { return len(e.execs("b-noextract")) >= 1 })
	e.result("b-noextract", "login", batch.Passed, nil)
	e.eventually("profile's result", func() bool { return len(e.results("b-noextract")) == 2 })
	if r := e.results("b-noextract")["profile"]; r.Outcome != batch.Errored || !strings.Contains(r.Error, "${token}") {
		t.Errorf("profile %s %q", r.Outcome, r.Error)
	}
}

func TestDispatchNothingAfterCancel(t *testing.T) {
	e := setup(t)
	e.submit(submitted("b-cancel", chainCases()))
	e.dispatcher()
	e.completer()
	e.eventually("the independent requests", func() bool { return len(e.execs("b-cancel")) >= 2 })
	e.result("b-cancel", "free", batch.Passed, nil)
	if _, err := e.cmd.Batch(e.ctx, domain.Metadata{UserID: "user-1"}, "b-cancel", batch.Cancel{BatchID: "b-cancel", ActorID: "user-1", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e.eventually("completion", func() bool { return len(e.completions("b-cancel")) > 0 })
	e.result("b-cancel", "login", batch.Passed, map[string]string{"token": "late"})
	settle()
	if got := execsByCase(t, e.execs("b-cancel")); len(got) != 2 {
		t.Errorf("requested %v after cancel, want login and free only", keys(got))
	}
	c := e.completions("b-cancel")
	want := batch.Totals{Total: 4, Passed: 1, Canceled: 3}
	if len(c) != 1 || !c[0].Canceled || c[0].Totals != want {
		t.Fatalf("completions %+v, want one canceled with %+v", c, want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
