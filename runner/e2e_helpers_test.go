package runner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/handlers/reactor"
)

// e2e is a log served by an embedded NATS server, with the reactors that turn a
// submitted batch into requests (dispatcher) and results into its completion (completer).
type e2e struct {
	t     *testing.T
	srv   *server.Server
	store *eventstore.Store
	cmd   *command.Handler
}

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetLevel(logrus.ErrorLevel)
	return l
}

// silent is a logger for a process whose failures the test causes.
func silent() logrus.FieldLogger {
	l := logrus.New()
	l.SetLevel(logrus.PanicLevel)
	return l
}

// newE2E starts an in-process server (as eventstore.StartEmbedded does, without fsync);
// maxPayload 0 is NATS's default of 1 MB.
func newE2E(t *testing.T, maxPayload int32) *e2e {
	t.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: t.TempDir(), DontListen: true,
		NoSigs: true, NoLog: true, MaxPayload: maxPayload})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	e := &e2e{t: t, srv: srv}
	e.store, _ = e.connect()
	cmd, err := command.New(e.store, command.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.cmd = cmd
	return e
}

// connect opens another client of the same log; closing its connection is how a test
// kills the process using it (nothing it still has to send reaches the server).
func (e *e2e) connect() (*eventstore.Store, *nats.Conn) {
	e.t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(e.srv))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := eventstore.Open(ctx, nc, catalog.New(), eventstore.Config{})
	if err != nil {
		e.t.Fatal(err)
	}
	return store, nc
}

// goRun runs f until the test ends (or until the returned stop is called) and checks
// that it returned nil.
func goRun(t *testing.T, what string, f func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f(ctx); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("%s did not stop", what)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// reactors starts a dispatcher and a completer.
func (e *e2e) reactors() {
	e.t.Helper()
	d, err := reactor.NewDispatcher(e.store, reactor.DispatcherConfig{}).Reactor(reactor.Config{MaxWait: 100 * time.Millisecond}, quiet(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	goRun(e.t, "dispatcher", d.Run)
	c, err := reactor.NewCompleter(e.cmd, reactor.CompleterConfig{}).Reactor(reactor.Config{MaxWait: 100 * time.Millisecond}, quiet(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	goRun(e.t, "completer", c.Run)
}

// runner starts a runner on src writing to store.
func (e *e2e) runner(store *eventstore.Store, name string, cfg Config, src Source) (r *Runner, stop func()) {
	e.t.Helper()
	ex := NewExecutor(ExecutorConfig{})
	e.t.Cleanup(ex.Close)
	cfg.Name = name
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	r, err := New(store, ex, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return r, goRun(e.t, name, func(ctx context.Context) error { return r.Run(ctx, src) })
}

// jsSource is a JetStream source on the durable name.
func (e *e2e) jsSource(store *eventstore.Store, cfg JetStreamConfig) *JetStreamSource {
	e.t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	src, err := NewJetStreamSource(store, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return src
}

// submit appends a batch.submitted as the command handler would.
func (e *e2e) submit(sub batch.Submitted) {
	e.t.Helper()
	env := domain.Envelope{ID: uuid.NewString(), Data: sub, Meta: domain.Metadata{UserID: "user-1", CorrelationID: "corr-" + sub.BatchID}}
	if _, err := e.store.Append(context.Background(), eventstore.Expect{sub.Subject(): 0}, env); err != nil {
		e.t.Fatalf("submit %s: %v", sub.BatchID, err)
	}
}

// completions are the batch.completed events of a batch.
func (e *e2e) completions(appID, batchID string) []batch.Completed {
	e.t.Helper()
	envs, _, err := e.store.Load(context.Background(), domain.BatchSubject(appID, batchID))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []batch.Completed
	for _, env := range envs {
		if c, ok := env.Data.(batch.Completed); ok {
			out = append(out, c)
		}
	}
	return out
}

// completed says whether the batch's latest event is its batch.completed: a cheap poll
// (Load would decode the batch.submitted, which is large, each time).
func (e *e2e) completed(appID, batchID string) bool {
	e.t.Helper()
	ctx := context.Background()
	stream, err := e.store.JetStream().Stream(ctx, e.store.StreamName())
	if err != nil {
		e.t.Fatal(err)
	}
	msg, err := stream.GetLastMsgForSubject(ctx, domain.BatchSubject(appID, batchID))
	if err != nil {
		e.t.Fatal(err)
	}
	return msg.Header.Get(eventstore.HeaderType) == (batch.Completed{}).EventType()
}

// results are the results of a batch by case; a case with two results fails the test.
func (e *e2e) results(appID, batchID string) map[string]batch.CaseExecuted {
	e.t.Helper()
	envs, _, err := e.store.Load(context.Background(), domain.ResultSubject(appID, batchID, "*"))
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(map[string]batch.CaseExecuted, len(envs))
	for _, env := range envs {
		r := env.Data.(batch.CaseExecuted)
		if _, dup := out[r.CaseID]; dup {
			e.t.Errorf("case %s has two results", r.CaseID)
		}
		out[r.CaseID] = r
	}
	return out
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	eventuallyEvery(t, within, 25*time.Millisecond, what, cond)
}

func eventuallyEvery(t *testing.T, within, every time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(every)
	}
}

// recorder is a target that records each request's arrival and the most requests it
// ever had in flight at once.
type recorder struct {
	srv  *httptest.Server
	host string

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	arrivals    []time.Time
	byPath      map[string]int
}

// newRecorder serves /ok ({"ok":true} after delay), /login ({"token":...}) and
// /profile (200 only with "Authorization: Bearer <token>", else 401).
func newRecorder(t *testing.T, delay time.Duration, token string) *recorder {
	t.Helper()
	rec := &recorder{byPath: map[string]int{}}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.inFlight++
		rec.maxInFlight = max(rec.maxInFlight, rec.inFlight)
		rec.arrivals = append(rec.arrivals, time.Now())
		rec.byPath[r.URL.Path]++
		rec.mu.Unlock()
		defer func() {
			rec.mu.Lock()
			rec.inFlight--
			rec.mu.Unlock()
		}()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/login":
			_, _ = io.WriteString(w, fmt.Sprintf(`{"token":%q}`, token))
		case "/profile":
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"bad token"}`)
				return
			}
			_, _ = io.WriteString(w, `{"name":"rex"}`)
		default:
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	}))
	t.Cleanup(rec.srv.Close)
	rec.host = rec.srv.Listener.Addr().String()
	return rec
}

func (rec *recorder) stats() (maxInFlight int, arrivals []time.Time, byPath map[string]int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	arrivals = append([]time.Time(nil), rec.arrivals...)
	sort.Slice(arrivals, func(i, j int) bool { return arrivals[i].Before(arrivals[j]) })
	byPath = make(map[string]int, len(rec.byPath))
	for k, v := range rec.byPath {
		byPath[k] = v
	}
	return rec.maxInFlight, arrivals, byPath
}

// okCase is a GET /ok expecting 200.
func okCase(i int) testcase.Case {
	return testcase.Case{ID: fmt.Sprintf("c-%05d", i), InterfaceID: "if-1", Name: "ok", Class: testcase.Valid, Priority: "P2",
		Enabled: true, Source: "manual", Request: testcase.Request{Method: "GET", Path: "/ok"},
		Assertions: []assert.Assertion{{Target: "status", Op: "eq", Value: 200.0}}}
}

func okCases(n int) []testcase.Case {
	cs := make([]testcase.Case, n)
	for i := range cs {
		cs[i] = okCase(i)
	}
	return cs
}

// submittedTo is a batch of cases against the target, with settings.
func submittedTo(rec *recorder, appID, batchID string, cases []testcase.Case, s batch.Settings) batch.Submitted {
	if s.TimeoutMS == 0 {
		s.TimeoutMS = 5000
	}
	return batch.Submitted{AppID: appID, BatchID: batchID, OwnerID: "user-1",
		Environment: app.Environment{Name: "test", BaseURL: rec.srv.URL},
		Interfaces:  []batch.InterfaceRef{{ID: "if-1", Name: "ok", Method: "GET", Path: "/ok", Version: 1}},
		Cases:       cases, Settings: s, At: time.Now().UTC()}
}
