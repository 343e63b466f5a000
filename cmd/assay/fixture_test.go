package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/domain/user"
	"github.com/assay-dev/assay/eventstore"
	cmdhandler "github.com/assay-dev/assay/handlers/command"
)

func newID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// testLog logs errors into a buffer the test prints only if it fails: the failures a test
// causes (a server shut down) are expected noise otherwise.
func testLog(t testing.TB) *logrus.Logger {
	l := logrus.New()
	l.SetLevel(logrus.ErrorLevel)
	out := &procOutput{}
	l.SetOutput(out)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- in-process log (last 5000 bytes):\n%s", out.tail(5000))
		}
	})
	return l
}

// startNATS starts an embedded JetStream server that listens on a loopback port (the
// processes connect to it) and returns its URL.
func startNATS(t testing.TB) string {
	t.Helper()
	return startNATSSync(t, false) // the tests check the pipeline, not the disk
}

// startNATSSync is startNATS with fsync before every acknowledgement (sync) or not.
func startNATSSync(t testing.TB, sync bool) string {
	t.Helper()
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir(), Listen: "127.0.0.1:0", SyncAlways: &sync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

// openLog connects to url (one or several, comma-separated) and opens the log.
func openLog(t testing.TB, url string, replicas int) *eventstore.Store {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	// A cluster that has just elected its meta leader may not know every peer yet ("no
	// suitable peers for placement"): try again until the stream can be placed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		store, err := eventstore.Open(ctx, nc, catalog.New(), eventstore.Config{Replicas: replicas})
		cancel()
		if err == nil {
			return store
		}
		if replicas == 1 || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// target is the API under test: every path answers 200 {"ok":true} after delay, and it
// counts the requests.
type target struct {
	*httptest.Server
	requests atomic.Int64
}

func newTarget(t testing.TB, delay time.Duration) *target {
	t.Helper()
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.requests.Add(1)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(tg.Close)
	return tg
}

// world is an app with interfaces and cases, made through the command handler as the API
// would make it.
type world struct {
	cmd    *cmdhandler.Handler
	userID string
	appID  string
	cases  []string
}

// seed creates a user, an app whose environment is baseURL, and ifaces interfaces of
// perIface cases each (GET /ok/<i>, expecting 200). Interfaces are filled in parallel: each
// AddCase loads its interface, so few cases per interface keep the seeding quick.
func seed(t testing.TB, store *eventstore.Store, baseURL string, ifaces, perIface int) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := cmdhandler.New(store, cmdhandler.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{cmd: h, userID: newID("user"), appID: newID("app")}
	meta := domain.Metadata{UserID: w.userID}
	now := time.Now().UTC()
	must(t, "sign up", func() error {
		_, err := h.User(ctx, meta, w.userID, user.SignUp{UserID: w.userID, Email: w.userID + "@example.com", Name: "Scale", At: now})
		return err
	})
	must(t, "create app", func() error {
		_, err := h.App(ctx, meta, w.appID, app.Create{AppID: w.appID, ActorID: w.userID, At: now, App: app.Definition{Name: "scale",
			Environments: []app.Environment{{Name: "local", BaseURL: baseURL}}, DefaultEnvironment: "local"}})
		return err
	})
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, ifaces)
	for i := range ifaces {
		wg.Go(func() {
			ids, err := addInterface(ctx, h, meta, w, i, perIface)
			errs[i] = err
			mu.Lock()
			w.cases = append(w.cases, ids...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return w
}

// addInterface defines interface i with n cases in one atomic append, decided by the
// domain as the handler would (n commands through the handler would load the interface n
// times, which on a cluster costs a consumer each).
func addInterface(ctx context.Context, h *cmdhandler.Handler, meta domain.Metadata, w *world, i, n int) ([]string, error) {
	a, _, err := h.LoadApp(ctx, w.appID)
	if err != nil {
		return nil, err
	}
	id, path, now := newID("if"), fmt.Sprintf("/ok/%d", i), time.Now().UTC()
	def := iface.Definition{Name: "ok " + path, Method: "GET", Path: path,
		Responses: map[string]iface.Response{"200": {ContentType: "application/json"}}}
	cmds := []iface.Command{iface.Define{InterfaceID: id, ActorID: w.userID, App: a, Def: def, At: now}}
	var ids []string
	for k := range n {
		c := testcase.Case{ID: fmt.Sprintf("c-%d-%04d", i, k), Name: fmt.Sprint("ok ", k), Class: testcase.Valid, Priority: "P2", Enabled: true,
			Request:    testcase.Request{Method: "GET", Path: path},
			Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}}
		cmds = append(cmds, iface.AddCase{InterfaceID: id, ActorID: w.userID, Case: c, At: now})
		ids = append(ids, c.ID)
	}
	var s iface.State
	var envs []domain.Envelope
	for _, cmd := range cmds {
		evs, err := iface.Decide(s, cmd)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", id, err)
		}
		for _, e := range evs {
			s = iface.Evolve(s, e)
			envs = append(envs, domain.Envelope{ID: newID("ev"), Data: e, Meta: meta})
		}
	}
	if _, err := h.Store().Append(ctx, eventstore.Expect{domain.InterfaceSubject(w.appID, id): 0}, envs...); err != nil {
		return nil, fmt.Errorf("append interface %s: %w", id, err)
	}
	return ids, nil
}

// submit starts a batch of every case with the given concurrency and returns its id.
func (w *world) submit(t testing.TB, concurrency int) string {
	t.Helper()
	id := newID("batch")
	w.submitAs(t, id, concurrency)
	return id
}

// submitAs submits the batch with the given id.
func (w *world) submitAs(t testing.TB, id string, concurrency int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := w.cmd.Batch(ctx, domain.Metadata{UserID: w.userID}, id, batch.Submit{BatchID: id, ActorID: w.userID, App: app.State{ID: w.appID},
		Settings: batch.Settings{Concurrency: concurrency, TimeoutMS: 10_000}, At: time.Now().UTC()})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
}

func must(t testing.TB, what string, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// batchLog is what the log holds about one batch: its own events by type, and the requests
// and results by case.
type batchLog struct {
	types    map[string]int
	requests map[string]int
	results  map[string]int
	outcomes map[string]int
}

func readBatch(t testing.TB, store *eventstore.Store, appID, batchID string) batchLog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	envs, _, err := store.Load(ctx, domain.BatchSubject(appID, batchID), domain.BatchTree(appID, batchID))
	if err != nil {
		t.Fatalf("load batch: %v", err)
	}
	l := batchLog{types: map[string]int{}, requests: map[string]int{}, results: map[string]int{}, outcomes: map[string]int{}}
	for _, env := range envs {
		l.types[env.Type]++
		switch d := env.Data.(type) {
		case batch.CaseExecutionRequested:
			l.requests[d.CaseID]++
		case batch.CaseExecuted:
			l.results[d.CaseID]++
			l.outcomes[d.Outcome]++
		}
	}
	return l
}

// check fails the test unless every case has exactly one request and one result, all
// passed, and the batch's lifecycle events each appear once (through wantLast).
func (l batchLog) check(t testing.TB, cases []string, lifecycle ...string) {
	t.Helper()
	for _, c := range cases {
		if l.requests[c] != 1 || l.results[c] != 1 {
			t.Errorf("case %s: %d requests and %d results in the log, want 1 and 1", c, l.requests[c], l.results[c])
		}
	}
	if len(l.requests) != len(cases) || len(l.results) != len(cases) {
		t.Errorf("%d cases requested and %d with results, want %d", len(l.requests), len(l.results), len(cases))
	}
	if l.outcomes[batch.Passed] != len(cases) {
		t.Errorf("outcomes %v, want %d passed", l.outcomes, len(cases))
	}
	for _, typ := range lifecycle {
		if l.types[typ] != 1 {
			t.Errorf("%d %s events, want 1 (all: %v)", l.types[typ], typ, l.types)
		}
	}
}

// lastType is the type of the batch's latest event on its own subject (cheap to poll).
func lastType(ctx context.Context, store *eventstore.Store, appID, batchID string) string {
	stream, err := store.JetStream().Stream(ctx, store.StreamName())
	if err != nil {
		return ""
	}
	msg, err := stream.GetLastMsgForSubject(ctx, domain.BatchSubject(appID, batchID))
	if err != nil {
		return ""
	}
	return msg.Header.Get(eventstore.HeaderType)
}

// waitBatchEvent waits until the batch's last event is of type want.
func waitBatchEvent(t testing.TB, store *eventstore.Store, appID, batchID, want string, within time.Duration) {
	t.Helper()
	waitFor(t, within, "the batch's "+want, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return lastType(ctx, store, appID, batchID) == want
	})
}

// countResults counts the batch's results in the stream (the server's subject counts).
func countResults(ctx context.Context, store *eventstore.Store, appID, batchID string) int {
	stream, err := store.JetStream().Stream(ctx, store.StreamName())
	if err != nil {
		return -1
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(domain.ResultSubject(appID, batchID, "*")))
	if err != nil {
		return -1
	}
	return len(info.State.Subjects)
}
