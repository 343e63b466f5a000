package reactor_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
	"github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/handlers/reactor"
)

const appID = "app-1"

type env struct {
	t     *testing.T
	ctx   context.Context
	store *eventstore.Store
	cmd   *command.Handler
}

func setup(t *testing.T) *env {
	t.Helper()
	store := estest.Start(t, catalog.New())
	cmd, err := command.New(store, command.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, store: store, cmd: cmd}
}

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetLevel(logrus.ErrorLevel)
	return l
}

// run runs r until the test ends.
func (e *env) run(r *reactor.Reactor) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			e.t.Errorf("run: %v", err)
		}
	})
	e.t.Cleanup(func() { cancel(); wg.Wait() })
}

func (e *env) dispatcher() {
	e.t.Helper()
	r, err := reactor.NewDispatcher(e.store, reactor.DispatcherConfig{}).Reactor(reactor.Config{MaxWait: 100 * time.Millisecond}, quietLog(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.run(r)
}

func (e *env) completer() {
	e.t.Helper()
	r, err := reactor.NewCompleter(e.cmd, reactor.CompleterConfig{}).Reactor(reactor.Config{MaxWait: 100 * time.Millisecond}, quietLog(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.run(r)
}

func plainCase(i int) testcase.Case {
	return testcase.Case{ID: fmt.Sprintf("c-%05d", i), InterfaceID: "if-1", Name: "c", Class: testcase.Valid, Priority: "P2",
		Enabled: true, Source: "manual", Request: testcase.Request{Method: "GET", Path: "/pets"},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}}
}

func plainCases(n int) []testcase.Case {
	cs := make([]testcase.Case, n)
	for i := range cs {
		cs[i] = plainCase(i)
	}
	return cs
}

func submitted(batchID string, cases []testcase.Case) batch.Submitted {
	return batch.Submitted{AppID: appID, BatchID: batchID, OwnerID: "user-1",
		Environment: app.Environment{Name: "staging", BaseURL: "http://127.0.0.1:9/api", Variables: map[string]string{"tenant": "acme"}},
		Interfaces:  []batch.InterfaceRef{{ID: "if-1", Name: "pets", Method: "GET", Path: "/pets", Version: 1}},
		Cases:       cases, Settings: batch.Settings{Concurrency: 10, TimeoutMS: 1000}, At: time.Now().UTC()}
}

// submit appends a batch.submitted the way the command handler would.
func (e *env) submit(sub batch.Submitted) domain.Envelope {
	e.t.Helper()
	out, err := e.store.Append(e.ctx, eventstore.Expect{sub.Subject(): 0}, newEnv(sub))
	if err != nil {
		e.t.Fatal(err)
	}
	return out[0]
}

func newEnv(ev domain.Event) domain.Envelope {
	return domain.Envelope{ID: uuid.NewString(), Data: ev, Meta: domain.Metadata{UserID: "user-1", CorrelationID: "corr-1"}}
}

// result appends a case result as a runner would: first on its subject.
func (e *env) result(batchID, caseID, outcome string, extracted map[string]string) {
	e.t.Helper()
	r := batch.CaseExecuted{AppID: appID, BatchID: batchID, CaseID: caseID, InterfaceID: "if-1", Outcome: outcome,
		StatusCode: 200, DurationMS: 12, Extracted: extracted, Runner: "test", At: time.Now().UTC()}
	if _, err := e.store.Append(e.ctx, eventstore.Expect{r.Subject(): 0}, newEnv(r)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) load(filter string) []domain.Envelope {
	e.t.Helper()
	envs, _, err := e.store.Load(e.ctx, filter)
	if err != nil {
		e.t.Fatal(err)
	}
	return envs
}

func (e *env) execs(batchID string) []domain.Envelope {
	return e.load(domain.ExecSubject(appID, batchID, "*"))
}

func (e *env) results(batchID string) map[string]batch.CaseExecuted {
	out := map[string]batch.CaseExecuted{}
	for _, env := range e.load(domain.ResultSubject(appID, batchID, "*")) {
		r := env.Data.(batch.CaseExecuted)
		if _, dup := out[r.CaseID]; dup {
			e.t.Errorf("case %s has two results", r.CaseID)
		}
		out[r.CaseID] = r
	}
	return out
}

func (e *env) completions(batchID string) []batch.Completed {
	var out []batch.Completed
	for _, env := range e.load(domain.BatchSubject(appID, batchID)) {
		if c, ok := env.Data.(batch.Completed); ok {
			out = append(out, c)
		}
	}
	return out
}

// eventually waits until cond holds.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle lets the reactors work a little more, to see nothing extra happens.
func settle() { time.Sleep(500 * time.Millisecond) }

// execsByCase checks there is one request per case, each on its own subject.
func execsByCase(t *testing.T, envs []domain.Envelope) map[string]batch.CaseExecutionRequested {
	t.Helper()
	out := map[string]batch.CaseExecutionRequested{}
	for _, env := range envs {
		r := env.Data.(batch.CaseExecutionRequested)
		if _, dup := out[r.CaseID]; dup {
			t.Errorf("case %s requested twice", r.CaseID)
		}
		if env.Subject != domain.ExecSubject(r.AppID, r.BatchID, r.CaseID) {
			t.Errorf("request of %s on %s", r.CaseID, env.Subject)
		}
		out[r.CaseID] = r
	}
	return out
}
