package runner

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
)

// target is a local HTTP server the cases run against.
type target struct {
	srv  *httptest.Server
	host string // host:port
	hits atomic.Int64
}

func newTarget(t testing.TB) *target {
	t.Helper()
	tg := &target{}
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Token", "tok-1")
		w.Header().Add("X-Multi", "first")
		w.Header().Add("X-Multi", "second")
		_, _ = io.WriteString(w, `{"id":"abc","n":5,"ok":true,"obj":{"a":1},"list":[1,2]}`)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 100<<10))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/json", http.StatusFound)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Got-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Got-Agent", r.Header.Get("User-Agent"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	})
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(tg.srv.Close)
	u, _ := url.Parse(tg.srv.URL)
	tg.host = u.Host
	return tg
}

func (tg *target) request(path string) batch.CaseExecutionRequested {
	return batch.CaseExecutionRequested{
		AppID: "app-1", BatchID: "b-1", CaseID: "c-1", InterfaceID: "if-1",
		Request:    batch.HTTPRequest{Method: "GET", URL: tg.srv.URL + path},
		AllowHosts: []string{tg.host},
		TimeoutMS:  2000,
	}
}

func TestExecute(t *testing.T) {
	tg := newTarget(t)
	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	small := NewExecutor(ExecutorConfig{MaxBodyBytes: 1024})
	t.Cleanup(small.Close)

	refused := func() string { // a port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		return addr
	}()

	type tc struct {
		name    string
		ex      *Executor
		edit    func(*batch.CaseExecutionRequested)
		outcome string
		errHas  string
		noHit   bool // the target must not have been asked
		check   func(t *testing.T, res batch.CaseExecuted)
	}
	cases := []tc{
		{name: "status, headers and body captured", outcome: batch.Passed,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request.URL = tg.srv.URL + "/json"
				r.Assertions = []assert.Assertion{{Target: "status", Op: "eq", Value: 200}}
			},
			check: func(t *testing.T, res batch.CaseExecuted) {
				if res.StatusCode != 200 || res.Response.Status != 200 {
					t.Errorf("status %d / %d, want 200", res.StatusCode, res.Response.Status)
				}
				if got := res.Response.Headers["X-Multi"]; got != "first" {
					t.Errorf("X-Multi = %q, want the first value", got)
				}
				if got := res.Response.Headers["Content-Type"]; got != "application/json" {
					t.Errorf("Content-Type = %q", got)
				}
				if !strings.Contains(res.Response.Body, `"id":"abc"`) || res.Response.BodyTruncated {
					t.Errorf("body %q truncated=%v", res.Response.Body, res.Response.BodyTruncated)
				}
				if len(res.Assertions) != 1 || !res.Assertions[0].Passed {
					t.Errorf("assertions %+v", res.Assertions)
				}
				if res.DurationMS <= 0 || res.At.IsZero() {
					t.Errorf("duration %v at %v", res.DurationMS, res.At)
				}
			}},
		{name: "failed assertion", outcome: batch.Failed,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request.URL = tg.srv.URL + "/json"
				r.Assertions = []assert.Assertion{{Target: "status", Op: "eq", Value: 201}}
			}},
		{name: "body capped", ex: small, outcome: batch.Passed,
			edit: func(r *batch.CaseExecutionRequested) { r.Request.URL = tg.srv.URL + "/big" },
			check: func(t *testing.T, res batch.CaseExecuted) {
				if len(res.Response.Body) != 1024 || !res.Response.BodyTruncated {
					t.Errorf("body %d bytes truncated=%v, want 1024 and true", len(res.Response.Body), res.Response.BodyTruncated)
				}
			}},
		{name: "default cap 64 KiB", outcome: batch.Passed,
			edit: func(r *batch.CaseExecutionRequested) { r.Request.URL = tg.srv.URL + "/big" },
			check: func(t *testing.T, res batch.CaseExecuted) {
				if len(res.Response.Body) != 64<<10 || !res.Response.BodyTruncated {
					t.Errorf("body %d bytes truncated=%v", len(res.Response.Body), res.Response.BodyTruncated)
				}
			}},
		{name: "method, body and headers sent", outcome: batch.Passed,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request = batch.HTTPRequest{Method: "post", URL: tg.srv.URL + "/echo", Body: `{"a":1}`,
					Headers: map[string]string{"Authorization": "Bearer x"}}
			},
			check: func(t *testing.T, res batch.CaseExecuted) {
				h := res.Response.Headers
				if res.StatusCode != 201 || h["X-Method"] != "POST" || h["X-Got-Auth"] != "Bearer x" ||
					h["X-Got-Agent"] != DefaultUserAgent || res.Response.Body != `{"a":1}` {
					t.Errorf("echo: %d %v %q", res.StatusCode, h, res.Response.Body)
				}
			}},
		{name: "timeout", outcome: batch.Errored, errHas: "timed out",
			edit: func(r *batch.CaseExecutionRequested) { r.Request.URL = tg.srv.URL + "/slow"; r.TimeoutMS = 100 },
			check: func(t *testing.T, res batch.CaseExecuted) {
				if res.DurationMS < 90 || res.DurationMS > 2000 {
					t.Errorf("duration %vms, want about 100", res.DurationMS)
				}
			}},
		{name: "connection refused", outcome: batch.Errored, errHas: "connection refused", noHit: true,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request.URL = "http://" + refused + "/x"
				r.AllowHosts = []string{refused}
			}},
		{name: "DNS failure", outcome: batch.Errored, errHas: "DNS lookup", noHit: true,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request.URL = "http://no-such-host.invalid/x"
				r.AllowHosts = []string{"no-such-host.invalid"}
			}},
		{name: "host not allowed", outcome: batch.Errored, errHas: "not allowed", noHit: true,
			edit: func(r *batch.CaseExecutionRequested) { r.AllowHosts = []string{"api.example.com"} }},
		{name: "same host, other port not allowed", outcome: batch.Errored, errHas: "not allowed", noHit: true,
			edit: func(r *batch.CaseExecutionRequested) { r.AllowHosts = []string{"127.0.0.1:1"} }},
		{name: "no allowed hosts", outcome: batch.Errored, errHas: "not allowed", noHit: true,
			edit: func(r *batch.CaseExecutionRequested) { r.AllowHosts = nil }},
		{name: "crafted userinfo", outcome: batch.Errored, errHas: "credentials", noHit: true,
			edit: func(r *batch.CaseExecutionRequested) { r.Request.URL = "http://" + tg.host + "@evil.invalid/json" }},
		{name: "crafted host suffix", outcome: batch.Errored, noHit: true,
			edit: func(r *batch.CaseExecutionRequested) { r.Request.URL = "http://" + tg.host + ".evil.invalid/json" }},
		{name: "not http", outcome: batch.Errored, errHas: "scheme", noHit: true,
			edit: func(r *batch.CaseExecutionRequested) { r.Request.URL = "file:///etc/passwd" }},
		{name: "cloud metadata refused by the dialer", outcome: batch.Errored, errHas: "169.254.169.254", noHit: true,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request.URL = "http://169.254.169.254/latest/meta-data/"
				r.AllowHosts = []string{"169.254.169.254"}
			},
			check: func(t *testing.T, res batch.CaseExecuted) {
				if !strings.Contains(res.Error, "refused to connect") || !strings.Contains(res.Error, "link-local") {
					t.Errorf("error %q should say the dialer refused a link-local address", res.Error)
				}
			}},
		{name: "redirect not followed", outcome: batch.Passed,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request.URL = tg.srv.URL + "/redirect"
				r.Assertions = []assert.Assertion{{Target: "status", Op: "eq", Value: 302}}
			},
			check: func(t *testing.T, res batch.CaseExecuted) {
				if res.StatusCode != 302 || res.Response.Headers["Location"] != "/json" {
					t.Errorf("got %d %v", res.StatusCode, res.Response.Headers)
				}
			}},
		{name: "extraction from body and header", outcome: batch.Passed,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request.URL = tg.srv.URL + "/json"
				r.Extract = map[string]string{"id": "body.id", "n": "body.n", "obj": "body.obj", "second": "body.list.1", "tok": "header.x-token"}
			},
			check: func(t *testing.T, res batch.CaseExecuted) {
				want := map[string]string{"id": "abc", "n": "5", "obj": `{"a":1}`, "second": "2", "tok": "tok-1"}
				if fmt.Sprint(res.Extracted) != fmt.Sprint(want) {
					t.Errorf("extracted %v, want %v", res.Extracted, want)
				}
			}},
		{name: "missing extraction fails the case", outcome: batch.Failed,
			edit: func(r *batch.CaseExecutionRequested) {
				r.Request.URL = tg.srv.URL + "/json"
				r.Extract = map[string]string{"id": "body.id", "gone": "body.nope", "h": "header.X-Absent"}
			},
			check: func(t *testing.T, res batch.CaseExecuted) {
				if res.Extracted["id"] != "abc" {
					t.Errorf("extracted %v", res.Extracted)
				}
				var msgs []string
				for _, ev := range res.Assertions {
					if ev.Op == "extract" && !ev.Passed {
						msgs = append(msgs, ev.Message)
					}
				}
				if len(msgs) != 2 || !strings.Contains(strings.Join(msgs, "|"), "gone") || !strings.Contains(strings.Join(msgs, "|"), "X-Absent") {
					t.Errorf("extract failures %q", msgs)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := tg.request("/json")
			if c.edit != nil {
				c.edit(&req)
			}
			ex := c.ex
			if ex == nil {
				ex = NewExecutor(ExecutorConfig{})
				defer ex.Close()
			}
			before := tg.hits.Load()
			res := ex.Execute(context.Background(), req)
			if res.Outcome != c.outcome {
				t.Fatalf("outcome %q (error %q), want %q", res.Outcome, res.Error, c.outcome)
			}
			if c.errHas != "" && !strings.Contains(res.Error, c.errHas) {
				t.Errorf("error %q, want it to mention %q", res.Error, c.errHas)
			}
			if c.outcome == batch.Errored && res.Error == "" {
				t.Error("an errored result needs its reason")
			}
			if c.noHit && tg.hits.Load() != before {
				t.Error("the target was asked, it must not be")
			}
			if res.AppID != req.AppID || res.CaseID != req.CaseID || res.Request.URL != req.Request.URL {
				t.Errorf("identity not carried: %+v", res)
			}
			if c.check != nil {
				c.check(t, res)
			}
		})
	}
}

func TestBlockedAddresses(t *testing.T) {
	for addr, want := range map[string]bool{
		"169.254.169.254":        true,
		"169.254.0.1":            true,
		"fd00:ec2::254":          true,
		"fe80::1":                true,
		"::ffff:169.254.169.254": true,
		"64:ff9b::a9fe:a9fe":     true,
		"127.0.0.1":              false,
		"10.0.0.1":               false,
		"::1":                    false,
		"fd00:ec2::253":          false,
		"93.184.216.34":          false,
	} {
		if got := blocked(netip.MustParseAddr(addr)) != ""; got != want {
			t.Errorf("blocked(%s) = %v, want %v", addr, got, want)
		}
	}
	ex := NewExecutor(ExecutorConfig{AllowPrivateMetadata: true})
	if err := ex.control("tcp", "169.254.169.254:80", nil); err != nil {
		t.Errorf("AllowPrivateMetadata: %v", err)
	}
	if err := NewExecutor(ExecutorConfig{}).control("tcp6", "[fe80::1%eth0]:80", nil); err == nil {
		t.Error("a zoned link-local address must be refused")
	}
}

func TestHostAllowed(t *testing.T) {
	for _, c := range []struct {
		url   string
		allow []string
		want  bool
	}{
		{"http://api.example.com/x", []string{"api.example.com"}, true},
		{"http://API.example.com./x", []string{"api.example.com"}, true},
		{"http://api.example.com:8080/x", []string{"api.example.com"}, false},
		{"http://api.example.com:8080/x", []string{"api.example.com:8080"}, true},
		{"https://api.example.com/x", []string{"api.example.com:443"}, true},
		{"https://api.example.com/x", []string{"https://api.example.com/"}, true},
		{"http://[::1]:9000/x", []string{"[::1]:9000"}, true},
		{"http://evil.com/x", []string{"api.example.com"}, false},
		{"http://api.example.com.evil.com/x", []string{"api.example.com"}, false},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostAllowed(u, c.allow); got != c.want {
			t.Errorf("hostAllowed(%s, %v) = %v, want %v", c.url, c.allow, got, c.want)
		}
	}
}
