package command_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore/estest"
	"github.com/assay-dev/assay/handlers/command"
)

const owner = "user-1"

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func newHandler(t *testing.T) *command.Handler {
	t.Helper()
	store := estest.Start(t, catalog.New())
	h, err := command.New(store, command.Config{Now: func() time.Time { return t0 }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func meta(cmdID string) domain.Metadata { return domain.Metadata{CommandID: cmdID, UserID: owner} }

func createApp(t *testing.T, h *command.Handler, id string) {
	t.Helper()
	def := app.Definition{Name: "shop", Environments: []app.Environment{{Name: "staging", BaseURL: "http://127.0.0.1:9"}}}
	if _, err := h.App(context.Background(), meta("c-"+id), id, app.Create{AppID: id, ActorID: owner, App: def, At: t0}); err != nil {
		t.Fatalf("create app: %v", err)
	}
}

func defineInterface(t *testing.T, h *command.Handler, appID, id string) {
	t.Helper()
	def := iface.Definition{Name: "get pet", Method: "GET", Path: "/pets"}
	cmd := iface.Define{InterfaceID: id, ActorID: owner, App: app.State{ID: appID}, Def: def, At: t0}
	if _, err := h.Interface(context.Background(), meta("d-"+id), id, cmd); err != nil {
		t.Fatalf("define interface: %v", err)
	}
}

func manualCase(id string) testcase.Case {
	return testcase.Case{ID: id, Name: "case " + id, Class: "valid", Enabled: true,
		Request:    testcase.Request{Method: "GET", Path: "/pets"},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}}
}

func lastSeq(t *testing.T, h *command.Handler) uint64 {
	t.Helper()
	seq, err := h.Store().LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// 50 goroutines add cases to one interface at once: every accepted command is in the log
// exactly once, the state is what a sequential run of the accepted ones gives, and every
// rejected one got the conflict error.
func TestConcurrentCommandsOnOneAggregate(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	createApp(t, h, "app-1")
	defineInterface(t, h, "app-1", "if-1")
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: manualCase(fmt.Sprintf("k-%02d", i)), At: t0}
			_, errs[i] = h.Interface(context.Background(), meta(fmt.Sprintf("add-%02d", i)), "if-1", cmd)
		})
	}
	wg.Wait()
	accepted := map[string]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			accepted[fmt.Sprintf("k-%02d", i)] = true
		case !errors.Is(err, domain.ErrConflict):
			t.Fatalf("command %d: %v, want success or conflict", i, err)
		}
	}
	if len(accepted) == 0 {
		t.Fatal("no command was accepted")
	}
	evs, _, err := h.Store().Load(context.Background(), domain.InterfaceSubject("app-1", "if-1"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range evs {
		if a, ok := e.Data.(iface.CaseAdded); ok {
			seen[a.Case.ID]++
		}
	}
	for id := range accepted {
		if seen[id] != 1 {
			t.Errorf("accepted case %s is in the log %d times", id, seen[id])
		}
	}
	if len(seen) != len(accepted) {
		t.Errorf("log has %d cases, %d commands were accepted", len(seen), len(accepted))
	}
	st, _, err := h.LoadInterface(context.Background(), "if-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Cases) != len(accepted) {
		t.Errorf("state has %d cases, want %d", len(st.Cases), len(accepted))
	}
	t.Logf("%d of %d accepted under contention", len(accepted), n)
}

func TestSameCommandIDTwiceAppendsOnce(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	createApp(t, h, "app-1")
	name := "renamed"
	cmd := app.Update{AppID: "app-1", ActorID: owner, Patch: app.Patch{Name: &name}, At: t0}
	first, err := h.App(context.Background(), meta("same"), "app-1", cmd)
	if err != nil {
		t.Fatal(err)
	}
	before := lastSeq(t, h)
	second, err := h.App(context.Background(), meta("same"), "app-1", cmd)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Replayed || second.Seq != first.Seq || lastSeq(t, h) != before {
		t.Errorf("second send: replayed=%v seq=%d (first %d), log %d→%d", second.Replayed, second.Seq, first.Seq, before, lastSeq(t, h))
	}
}

func TestSecondResultForACaseIsRefused(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	ctx := context.Background()
	createApp(t, h, "app-1")
	defineInterface(t, h, "app-1", "if-1")
	add := iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: manualCase("k-1"), At: t0}
	if _, err := h.Interface(ctx, meta("add"), "if-1", add); err != nil {
		t.Fatal(err)
	}
	sub := batch.Submit{BatchID: "b-1", ActorID: owner, App: app.State{ID: "app-1"}, At: t0}
	if _, err := h.Batch(ctx, meta("submit"), "b-1", sub); err != nil {
		t.Fatalf("submit: %v", err)
	}
	req := batch.CaseExecutionRequested{AppID: "app-1", BatchID: "b-1", CaseID: "k-1", InterfaceID: "if-1", At: t0}
	if _, err := h.Batch(ctx, meta("req"), "b-1", batch.RequestExecution{BatchID: "b-1", ActorID: domain.System, Request: req}); err != nil {
		t.Fatalf("request: %v", err)
	}
	res := batch.CaseExecuted{AppID: "app-1", BatchID: "b-1", CaseID: "k-1", InterfaceID: "if-1", Outcome: batch.Passed, At: t0}
	if _, err := h.Batch(ctx, meta("res-1"), "b-1", batch.RecordResult{BatchID: "b-1", ActorID: domain.System, Result: res}); err != nil {
		t.Fatalf("first result: %v", err)
	}
	res.Outcome = batch.Failed
	_, err := h.Batch(ctx, meta("res-2"), "b-1", batch.RecordResult{BatchID: "b-1", ActorID: domain.System, Result: res})
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second result: %v, want conflict", err)
	}
	evs, _, err := h.Store().Load(ctx, domain.ResultSubject("app-1", "b-1", "k-1"))
	if err != nil || len(evs) != 1 || evs[0].Data.(batch.CaseExecuted).Outcome != batch.Passed {
		t.Fatalf("result subject holds %d events (%v), want the first result only", len(evs), err)
	}
	if _, err := h.Batch(ctx, meta("done"), "b-1", batch.Complete{BatchID: "b-1", ActorID: domain.System, At: t0.Add(time.Second)}); err != nil {
		t.Fatalf("complete: %v", err)
	}
	st, _, _ := h.LoadBatch(ctx, "b-1")
	if st.Completed == nil || st.Completed.Totals.Passed != 1 || st.Completed.DurationMS != 1000 {
		t.Errorf("completed = %+v", st.Completed)
	}
}

// Bad input to every aggregate: a typed error and nothing appended.
func TestBadCommandsAppendNothing(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	ctx := context.Background()
	createApp(t, h, "app-1")
	defineInterface(t, h, "app-1", "if-1")
	bad := "http//nope"
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"app without environments", func() error {
			_, err := h.App(ctx, meta("x1"), "app-2", app.Create{AppID: "app-2", ActorID: owner, App: app.Definition{Name: "x"}, At: t0})
			return err
		}, domain.ErrInvalid},
		{"relative base url", func() error {
			envs := []app.Environment{{Name: "e", BaseURL: bad}}
			_, err := h.App(ctx, meta("x2"), "app-1", app.Update{AppID: "app-1", ActorID: owner, Patch: app.Patch{Environments: &envs}, At: t0})
			return err
		}, domain.ErrInvalid},
		{"another user's app", func() error {
			n := "mine now"
			_, err := h.App(ctx, meta("x3"), "app-1", app.Update{AppID: "app-1", ActorID: "user-2", Patch: app.Patch{Name: &n}, At: t0})
			return err
		}, domain.ErrNotFound},
		{"undeclared path param", func() error {
			def := iface.Definition{Name: "n", Method: "GET", Path: "/pets/{id}"}
			_, err := h.Interface(ctx, meta("x4"), "if-2", iface.Define{InterfaceID: "if-2", ActorID: owner, App: app.State{ID: "app-1"}, Def: def, At: t0})
			return err
		}, domain.ErrInvalid},
		{"interface on a missing app", func() error {
			def := iface.Definition{Name: "n", Method: "GET", Path: "/"}
			_, err := h.Interface(ctx, meta("x5"), "if-3", iface.Define{InterfaceID: "if-3", ActorID: owner, App: app.State{ID: "nope"}, Def: def, At: t0})
			return err
		}, domain.ErrNotFound},
		{"batch with no enabled case", func() error {
			_, err := h.Batch(ctx, meta("x6"), "b-9", batch.Submit{BatchID: "b-9", ActorID: owner, App: app.State{ID: "app-1"}, At: t0})
			return err
		}, domain.ErrInvalid},
		{"wildcard id", func() error {
			_, err := h.Batch(ctx, meta("x7"), "b.>", batch.Cancel{BatchID: "b.>", ActorID: owner, At: t0})
			return err
		}, domain.ErrNotFound},
	}
	for _, c := range cases {
		before := lastSeq(t, h)
		err := c.run()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if after := lastSeq(t, h); after != before {
			t.Errorf("%s: the log grew from %d to %d", c.name, before, after)
		}
	}
}

func TestArchivedAppTakesNoNewInterfaces(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	ctx := context.Background()
	createApp(t, h, "app-1")
	if _, err := h.App(ctx, meta("arch"), "app-1", app.Archive{AppID: "app-1", ActorID: owner, At: t0}); err != nil {
		t.Fatal(err)
	}
	def := iface.Definition{Name: "n", Method: "GET", Path: "/"}
	_, err := h.Interface(ctx, meta("late"), "if-1", iface.Define{InterfaceID: "if-1", ActorID: owner, App: app.State{ID: "app-1"}, Def: def, At: t0})
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("got %v, want conflict", err)
	}
}

func TestArchivedAppTakesNoNewWorkOnItsInterfaces(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	ctx := context.Background()
	createApp(t, h, "app-1")
	defineInterface(t, h, "app-1", "if-1")
	if _, err := h.App(ctx, meta("arch"), "app-1", app.Archive{AppID: "app-1", ActorID: owner, At: t0}); err != nil {
		t.Fatal(err)
	}
	before := lastSeq(t, h)
	_, err := h.Interface(ctx, meta("late-case"), "if-1", iface.AddCase{InterfaceID: "if-1", ActorID: owner, Case: manualCase("k-9"), At: t0})
	if !errors.Is(err, domain.ErrConflict) || lastSeq(t, h) != before {
		t.Fatalf("add case to an archived app's interface: %v (log %d→%d)", err, before, lastSeq(t, h))
	}
	if _, err := h.Interface(ctx, meta("del"), "if-1", iface.Delete{InterfaceID: "if-1", ActorID: owner, At: t0}); err != nil {
		t.Fatalf("deleting stays allowed: %v", err)
	}
}
