// Package projtest builds realistic histories for projection tests: random but valid
// sequences of commands across every aggregate, decided by the real domain and appended to
// a real event store.
package projtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/domain/user"
	"github.com/assay-dev/assay/eventstore"
)

// History generates and appends events. Not safe for concurrent use.
type History struct {
	store *eventstore.Store
	rnd   *rand.Rand
	now   time.Time
	n     int // ids and event ids

	seed    uint64
	users   []string
	apps    map[string]app.State
	appIDs  []string
	ifaces  map[string]iface.State
	ifaceOf map[string][]string // app → interfaces
	batches map[string]batch.State
	running []string
	Events  int
}

// New starts an empty history with a fixed seed.
func New(store *eventstore.Store, seed uint64) *History {
	return &History{seed: seed, store: store, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		apps: map[string]app.State{}, ifaces: map[string]iface.State{}, ifaceOf: map[string][]string{},
		batches: map[string]batch.State{}}
}

func (h *History) id(prefix string) string {
	h.n++
	return fmt.Sprintf("%s-%d-%05d", prefix, h.seed, h.n) // unique across histories in one log
}

func (h *History) tick() time.Time {
	h.now = h.now.Add(time.Duration(1+h.rnd.IntN(900)) * time.Millisecond)
	return h.now
}

// Generate appends at least n events.
func (h *History) Generate(ctx context.Context, n int) error {
	for h.Events < n {
		if err := h.step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (h *History) step(ctx context.Context) error {
	switch r := h.rnd.IntN(100); {
	case len(h.users) == 0 || r < 3:
		return h.signUp(ctx)
	case len(h.appIDs) == 0 || r < 8:
		return h.createApp(ctx)
	case r < 11:
		return h.updateApp(ctx)
	case r < 12:
		return h.archiveApp(ctx)
	case len(h.ifaces) == 0 || r < 20:
		return h.defineInterface(ctx)
	case r < 24:
		return h.updateInterface(ctx)
	case r < 34:
		return h.addCase(ctx)
	case r < 37:
		return h.editCase(ctx)
	case r < 42:
		return h.generate(ctx)
	case len(h.running) == 0 || r < 50:
		return h.submit(ctx)
	default:
		return h.advanceBatch(ctx)
	}
}

// commit appends a command's events as the command handler would: one atomic append.
func (h *History) commit(ctx context.Context, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	envs := make([]domain.Envelope, len(events))
	for i, e := range events {
		envs[i] = domain.Envelope{ID: h.id("ev"), Type: e.EventType(), Subject: e.Subject(), Time: h.now,
			Meta: domain.Metadata{CommandID: h.id("cmd"), UserID: "someone"}, Data: e}
	}
	if _, err := h.store.Append(ctx, nil, envs...); err != nil {
		return fmt.Errorf("projtest: append %s: %w", events[0].EventType(), err)
	}
	h.Events += len(events)
	return nil
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (h *History) signUp(ctx context.Context) error {
	id := h.id("user")
	names := []string{"Zoë O'Brien", "李雷", "Robert'); DROP TABLE users;--", "ana"}
	evs, err := user.Decide(user.State{}, user.SignUp{UserID: id, Email: id + "@example.com", Name: pick(h.rnd, names), At: h.tick()})
	if err != nil {
		return err
	}
	h.users = append(h.users, id)
	return h.commit(ctx, evs)
}

func (h *History) createApp(ctx context.Context) error {
	id := h.id("app")
	def := app.Definition{Name: pick(h.rnd, []string{"shop", "Café ☕ API", "billing"}),
		Environments: []app.Environment{{Name: "staging", BaseURL: "http://127.0.0.1:18080", Variables: map[string]string{"token": "t"}},
			{Name: "prod", BaseURL: "https://api.example.com/v1"}},
		NotifyEmails: []string{"qa@example.com"}}
	return h.decideApp(ctx, app.Create{AppID: id, ActorID: pick(h.rnd, h.users), App: def, At: h.tick()}, id)
}

func (h *History) decideApp(ctx context.Context, cmd app.Command, id string) error {
	s := h.apps[id]
	evs, err := app.Decide(s, cmd)
	if err != nil {
		return nil // a refused command appends nothing; the history goes on
	}
	for _, e := range evs {
		s = app.Evolve(s, e)
	}
	if _, known := h.apps[id]; !known {
		h.appIDs = append(h.appIDs, id)
	}
	h.apps[id] = s
	return h.commit(ctx, evs)
}

func (h *History) updateApp(ctx context.Context) error {
	id := pick(h.rnd, h.appIDs)
	name := fmt.Sprintf("renamed %d", h.rnd.IntN(1000))
	return h.decideApp(ctx, app.Update{AppID: id, ActorID: h.apps[id].OwnerID, Patch: app.Patch{Name: &name}, At: h.tick()}, id)
}

func (h *History) archiveApp(ctx context.Context) error {
	id := pick(h.rnd, h.appIDs)
	return h.decideApp(ctx, app.Archive{AppID: id, ActorID: h.apps[id].OwnerID, At: h.tick()}, id)
}

func (h *History) defineInterface(ctx context.Context) error {
	appID := pick(h.rnd, h.appIDs)
	a := h.apps[appID]
	id := h.id("if")
	def := iface.Definition{Name: "get pet " + id, Method: pick(h.rnd, []string{"GET", "POST", "DELETE"}), Path: "/pets/{id}",
		PathParams: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer","minimum":1}},"required":["id"]}`),
		Responses:  map[string]iface.Response{"200": {Description: "ok", ContentType: "application/json", Schema: json.RawMessage(`{"type":"object"}`)}, "404": {}}}
	return h.decideIface(ctx, iface.Define{InterfaceID: id, ActorID: a.OwnerID, App: a, Def: def, At: h.tick()}, id, appID)
}

func (h *History) decideIface(ctx context.Context, cmd iface.Command, id, appID string) error {
	s := h.ifaces[id]
	evs, err := iface.Decide(s, cmd)
	if err != nil {
		return nil
	}
	for _, e := range evs {
		s = iface.Evolve(s, e)
	}
	if _, known := h.ifaces[id]; !known {
		h.ifaceOf[appID] = append(h.ifaceOf[appID], id)
	}
	h.ifaces[id] = s
	return h.commit(ctx, evs)
}

func (h *History) anyInterface() (iface.State, bool) {
	appID := pick(h.rnd, h.appIDs)
	ids := h.ifaceOf[appID]
	if len(ids) == 0 {
		return iface.State{}, false
	}
	return h.ifaces[pick(h.rnd, ids)], true
}

func (h *History) updateInterface(ctx context.Context) error {
	s, ok := h.anyInterface()
	if !ok {
		return nil
	}
	d := fmt.Sprintf("v%d — ünïcode", h.rnd.IntN(100))
	return h.decideIface(ctx, iface.Update{InterfaceID: s.ID, ActorID: s.OwnerID, Patch: iface.Patch{Description: &d}, At: h.tick()}, s.ID, s.AppID)
}

func (h *History) newCase(id string) testcase.Case {
	return testcase.Case{ID: id, Name: "case " + id, Class: pick(h.rnd, testcase.Classes), Priority: pick(h.rnd, testcase.Priorities),
		Enabled: h.rnd.IntN(10) > 0, Request: testcase.Request{Method: "GET", Path: "/pets/{id}", PathParams: map[string]any{"id": float64(h.rnd.IntN(50))}},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}}
}

func (h *History) addCase(ctx context.Context) error {
	s, ok := h.anyInterface()
	if !ok {
		return nil
	}
	return h.decideIface(ctx, iface.AddCase{InterfaceID: s.ID, ActorID: s.OwnerID, Case: h.newCase(h.id("case")), At: h.tick()}, s.ID, s.AppID)
}

func (h *History) editCase(ctx context.Context) error {
	s, ok := h.anyInterface()
	if !ok || len(s.Order) == 0 {
		return nil
	}
	on := h.rnd.IntN(2) == 0
	cmd := iface.UpdateCase{InterfaceID: s.ID, ActorID: s.OwnerID, CaseID: pick(h.rnd, s.Order), Patch: iface.CasePatch{Enabled: &on}, At: h.tick()}
	if h.rnd.IntN(5) == 0 {
		return h.decideIface(ctx, iface.DeleteCase{InterfaceID: s.ID, ActorID: s.OwnerID, CaseID: cmd.CaseID, At: h.tick()}, s.ID, s.AppID)
	}
	return h.decideIface(ctx, cmd, s.ID, s.AppID)
}

func (h *History) generate(ctx context.Context) error {
	s, ok := h.anyInterface()
	if !ok {
		return nil
	}
	gen := h.id("gen")
	if err := h.decideIface(ctx, iface.RequestGeneration{InterfaceID: s.ID, ActorID: s.OwnerID, GenerationID: gen, At: h.tick()}, s.ID, s.AppID); err != nil {
		return err
	}
	if h.rnd.IntN(6) == 0 {
		return h.decideIface(ctx, iface.FailGeneration{InterfaceID: s.ID, ActorID: domain.System, GenerationID: gen, Reason: "LLM timeout", At: h.tick()}, s.ID, s.AppID)
	}
	cases := make([]testcase.Case, 1+h.rnd.IntN(4))
	for i := range cases {
		cases[i] = h.newCase(h.id("case"))
		cases[i].Enabled = true
	}
	info := iface.GenerationInfo{Generator: "rules", DurationMS: int64(h.rnd.IntN(50))}
	return h.decideIface(ctx, iface.RecordGeneration{InterfaceID: s.ID, ActorID: domain.System, GenerationID: gen, Info: info, Cases: cases, At: h.tick()}, s.ID, s.AppID)
}
