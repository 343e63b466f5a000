package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
	"github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
	"github.com/assay-dev/assay/projections/views"
)

// testServer is a whole API over a real embedded log, SQLite tables and a running
// projection, served by httptest.
type testServer struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	store *eventstore.Store
	once  sync.Once
}

// shutdown closes the server's stop channel, as Serve does at shutdown: streams end.
func (ts *testServer) shutdown() { ts.once.Do(func() { close(ts.srv.stop) }) }

var testEmails atomic.Int64

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// newTestServer builds the server; change adjusts the Config before New.
func newTestServer(t *testing.T, change ...func(*Config)) *testServer {
	t.Helper()
	return newTestServerWith(t, nil, change...)
}

// newTestServerWith is newTestServer with before, when not nil, run on the Server after
// New and before it serves (so tests set internal settings without racing a request).
func newTestServerWith(t *testing.T, before func(*Server), change ...func(*Config)) *testServer {
	t.Helper()
	return newTestServerOn(t, onSQLite, before, change...)
}

// backend opens the read side a test server queries: the tables' database and, when it
// has one, the Redis views.
type backend func(t *testing.T) (*bun.DB, redis.UniversalClient)

// onSQLite is the embedded mode's read side, without views.
func onSQLite(t *testing.T) (*bun.DB, redis.UniversalClient) {
	db, err := migrations.OpenSQLite(t.Context(), t.TempDir()+"/a.db")
	if err != nil {
		t.Fatal(err)
	}
	return db, nil
}

// onMariaDBAndRedis is a deployment's read side: a fresh MariaDB database and Redis views.
func onMariaDBAndRedis(t *testing.T) (*bun.DB, redis.UniversalClient) {
	db, err := migrations.OpenMySQL(t.Context(), testenv.NewMySQLDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return db, rdb
}

// newTestServerOn builds the server over a real embedded log and the backend's read side,
// with its projections running.
func newTestServerOn(t *testing.T, open backend, before func(*Server), change ...func(*Config)) *testServer {
	t.Helper()
	ctx := t.Context()
	store := estest.Start(t, catalog.New())
	cmds, err := command.New(store, command.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, rdb := open(t)
	t.Cleanup(func() { db.Close() })
	if err := migrations.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	tbl := tables.New(db)
	projs := []projections.Projection{tbl}
	var viewReader *views.Reader
	if rdb != nil {
		vcfg := views.Config{KeyPrefix: fmt.Sprintf("api%d", time.Now().UnixNano())}
		projs = append(projs, views.New(rdb, vcfg))
		viewReader = views.NewReader(rdb, vcfg)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var waiter projections.All
	for _, p := range projs {
		eng, err := projections.NewEngine(store, p, tbl, projections.EngineConfig{MaxWait: 20 * time.Millisecond}, nil, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		waiter = append(waiter, eng)
		wg.Go(func() { _ = eng.Run(runCtx) })
	}
	cfg := Config{Embedded: true, BcryptCost: bcrypt.MinCost} // the default cost is ~1 s a hash under -race
	for _, fn := range change {
		fn(&cfg)
	}
	srv, err := New(cfg, Deps{Commands: cmds, DB: db, Tables: tables.NewReader(db), Views: viewReader, Waiter: waiter, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(srv)
	}
	hs := httptest.NewServer(srv.Handler())
	// Cleanups run last-in first-out: the HTTP server, then the engines, then the database.
	t.Cleanup(func() { cancel(); wg.Wait() })
	ts := &testServer{t: t, srv: srv, http: hs, store: store}
	t.Cleanup(func() { ts.shutdown(); hs.Close() })
	return ts
}

// do sends a request (body marshalled as JSON unless nil) and reads the whole answer.
func (ts *testServer) do(method, path, token string, body any) (*http.Response, []byte) {
	ts.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ts.t.Context(), method, ts.http.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return resp, out
}

// expect is do that fails the test unless the answer has the status; it decodes into v.
func (ts *testServer) expect(status int, v any, method, path, token string, body any) {
	ts.t.Helper()
	resp, out := ts.do(method, path, token, body)
	if resp.StatusCode != status {
		ts.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			ts.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
}

// signUp registers a new user and logs in: their id and token.
func (ts *testServer) signUp() (id, token string) {
	ts.t.Helper()
	email := fmt.Sprintf("user%d@example.com", testEmails.Add(1))
	var u struct{ ID string }
	ts.expect(http.StatusCreated, &u, "POST", "/api/v1/auth/register", "",
		map[string]string{"email": email, "password": "password1", "name": "U"})
	var l struct{ Token string }
	ts.expect(http.StatusOK, &l, "POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": "password1"})
	return u.ID, l.Token
}

// accepted is a command's answer.
type acceptedBody struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
}

// createApp creates an app with one environment.
func (ts *testServer) createApp(token, name string) acceptedBody {
	ts.t.Helper()
	var a acceptedBody
	ts.expect(http.StatusAccepted, &a, "POST", "/api/v1/apps", token, map[string]any{"name": name,
		"environments": []map[string]string{{"name": "e", "base_url": "http://127.0.0.1:1"}}})
	return a
}

// updateApp changes an app's description.
func (ts *testServer) updateApp(token, id, description string) acceptedBody {
	ts.t.Helper()
	var a acceptedBody
	ts.expect(http.StatusAccepted, &a, "PATCH", "/api/v1/apps/"+id, token, map[string]any{"description": description})
	return a
}
