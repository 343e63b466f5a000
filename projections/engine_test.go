package projections_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
	"github.com/assay-dev/assay/projections"
)

// memProjection is an in-memory read model: app names by id. It exists to test the engine's
// control flow; the real read models have their own suites against real servers.
type memProjection struct {
	mu       sync.Mutex
	cp       projections.Checkpoint
	names    map[string]string
	applied  int
	failures map[uint64]*projections.Failure
	poison   map[string]bool // app names that cannot be stored
}

func newMem() *memProjection {
	return &memProjection{names: map[string]string{}, failures: map[uint64]*projections.Failure{}, poison: map[string]bool{}}
}

func (m *memProjection) Name() string { return "mem" }

func (m *memProjection) Checkpoint(context.Context) (projections.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cp, nil
}

func (m *memProjection) Apply(_ context.Context, epoch int64, evs []domain.Envelope, through uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if epoch != m.cp.Epoch {
		return projections.ErrEpochChanged
	}
	next := map[string]string{}
	for k, v := range m.names {
		next[k] = v
	}
	for _, e := range evs {
		if c, ok := e.Data.(app.Created); ok {
			if m.poison[c.App.Name] {
				return projections.Poison(e, errors.New("name cannot be stored"))
			}
			next[c.AppID] = c.App.Name
		}
	}
	m.names, m.cp.Seq = next, through
	m.applied += len(evs)
	return nil
}

func (m *memProjection) RecordFailure(_ context.Context, f projections.Failure) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures[f.Seq] = &f
	return nil
}

func (m *memProjection) OpenFailure(context.Context, string) (*projections.Failure, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.failures {
		return f, nil
	}
	return nil, nil
}

func (m *memProjection) Skip(_ context.Context, _ string, seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failures[seq] == nil {
		return fmt.Errorf("no failure at %d", seq)
	}
	delete(m.failures, seq)
	m.cp.Seq = max(m.cp.Seq, seq)
	return nil
}

func (m *memProjection) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.names)
}

func appCreated(id, name string) domain.Envelope {
	ev := app.Created{AppID: id, OwnerID: "u", App: app.Definition{Name: name}, At: time.Unix(0, 0).UTC()}
	return domain.Envelope{ID: "ev-" + id, Type: ev.EventType(), Subject: ev.Subject(), Time: ev.At, Data: ev}
}

func appendApps(t *testing.T, s *eventstore.Store, from, n int, name func(i int) string) uint64 {
	t.Helper()
	var last uint64
	for i := from; i < from+n; i++ {
		out, err := s.Append(context.Background(), nil, appCreated(fmt.Sprintf("a%d", i), name(i)))
		if err != nil {
			t.Fatal(err)
		}
		last = out[0].Seq
	}
	return last
}

// runEngine starts an engine; the returned stop cancels it and waits for Run to return.
func runEngine(t *testing.T, s *eventstore.Store, m *memProjection) (*projections.Engine, func()) {
	t.Helper()
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	e, err := projections.NewEngine(s, m, m, projections.EngineConfig{BatchSize: 7, MaxWait: 20 * time.Millisecond, HaltPoll: 10 * time.Millisecond}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return e, stop
}

func wait(t *testing.T, e *projections.Engine, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitFor(ctx, seq); err != nil {
		t.Fatalf("wait for %d: %v (status %+v)", seq, err, e.Status())
	}
}

func TestEngineAppliesAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := estest.Start(t, catalog.New())
	m := newMem()
	last := appendApps(t, s, 0, 30, func(i int) string { return fmt.Sprint("app ", i) })
	e, stop := runEngine(t, s, m)
	wait(t, e, last)
	stop()
	last = appendApps(t, s, 30, 20, func(i int) string { return fmt.Sprint("app ", i) })
	e2, _ := runEngine(t, s, m)
	wait(t, e2, last)
	if m.count() != 50 || m.applied != 50 {
		t.Fatalf("names=%d applied=%d, want 50 and 50 (nothing applied twice)", m.count(), m.applied)
	}
}

func TestEngineHaltsAtPoisonUntilSkipped(t *testing.T) {
	t.Parallel()
	s := estest.Start(t, catalog.New())
	m := newMem()
	m.poison["bad"] = true
	appendApps(t, s, 0, 5, func(int) string { return "ok" })
	badSeq := appendApps(t, s, 5, 1, func(int) string { return "bad" })
	last := appendApps(t, s, 6, 5, func(int) string { return "ok" })
	e, _ := runEngine(t, s, m)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitFor(ctx, last); !errors.Is(err, projections.ErrHalted) {
		t.Fatalf("WaitFor past the poison: %v, want ErrHalted", err)
	}
	st := e.Status()
	if st.State != projections.StateHalted || st.Halt == nil || st.Halt.Seq != badSeq || st.Seq != badSeq-1 {
		t.Fatalf("status %+v, want halted at %d with checkpoint %d", st, badSeq, badSeq-1)
	}
	if m.count() != 5 {
		t.Fatalf("%d apps applied; nothing after the poison may be", m.count())
	}
	if err := m.Skip(ctx, "mem", badSeq); err != nil {
		t.Fatal(err)
	}
	for e.Status().State == projections.StateHalted && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond) // the engine polls for the skip every HaltPoll
	}
	wait(t, e, last)
	if m.count() != 10 {
		t.Fatalf("%d apps after skip, want 10", m.count())
	}
}

func TestEngineHaltsAtAnUndecodableEvent(t *testing.T) {
	t.Parallel()
	s := estest.Start(t, catalog.New())
	m := newMem()
	appendApps(t, s, 0, 3, func(int) string { return "ok" })
	h := nats.Header{}
	h.Set("ce-type", "app.exploded")
	h.Set("ce-schemaversion", "1")
	h.Set("ce-id", "x")
	ack, err := s.JetStream().PublishMsg(context.Background(), &nats.Msg{Subject: "events.app.zz", Header: h, Data: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := runEngine(t, s, m)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitFor(ctx, ack.Sequence); !errors.Is(err, projections.ErrHalted) {
		t.Fatalf("got %v, want ErrHalted", err)
	}
	if f := e.Status().Halt; f == nil || f.Seq != ack.Sequence || f.EventType != "app.exploded" {
		t.Fatalf("halt = %+v", f)
	}
}
