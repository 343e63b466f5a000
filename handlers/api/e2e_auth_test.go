package api

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/assay-dev/assay/handlers/command"
)

func signToken(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestE2EBadTokens: a request without a valid token is 401, and a command appends nothing.
func TestE2EBadTokens(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	user, token := ts.signUp()
	app := ts.createApp(token, "mine")
	secret := []byte(ts.srv.cfg.JWTSecret)
	now := time.Now()
	claims := func(sub, iss string, exp time.Time) jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Subject: sub, Issuer: iss, IssuedAt: jwt.NewNumericDate(now.Add(-time.Hour)), ExpiresAt: jwt.NewNumericDate(exp)}
	}
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(user, "assay", now.Add(time.Hour))).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tokens := []struct{ name, header, detail string }{
		{"no token", "", "Bearer"},
		{"not bearer", "Basic dXNlcjpwYXNz", "Bearer"},
		{"empty bearer", "Bearer ", "Bearer"},
		{"garbage", "Bearer not.a.token", "not valid"},
		{"wrong signature", "Bearer " + signToken(t, jwt.SigningMethodHS256, []byte("another secret of 32 characters!"), claims(user, "assay", now.Add(time.Hour))), "not valid"},
		{"tampered subject", "Bearer " + tamper(t, token), "not valid"},
		{"alg none", "Bearer " + unsigned, "not valid"},
		{"expired", "Bearer " + signToken(t, jwt.SigningMethodHS256, secret, claims(user, "assay", now.Add(-time.Minute))), "expired"},
		{"wrong issuer", "Bearer " + signToken(t, jwt.SigningMethodHS256, secret, claims(user, "someone", now.Add(time.Hour))), "not valid"},
		{"no expiry", "Bearer " + signToken(t, jwt.SigningMethodHS256, secret, jwt.RegisteredClaims{Subject: user, Issuer: "assay"}), "not valid"},
		{"not an id", "Bearer " + signToken(t, jwt.SigningMethodHS256, secret, claims("../admin", "assay", now.Add(time.Hour))), "not valid"},
	}
	requests := []e2eReq{
		{method: "GET", path: "/api/v1/me"},
		{method: "GET", path: "/api/v1/apps"},
		{method: "GET", path: "/api/v1/apps/" + app.ID},
		{method: "POST", path: "/api/v1/apps", json: map[string]any{"name": "x", "environments": testEnvs}},
		{method: "PATCH", path: "/api/v1/apps/" + app.ID, json: map[string]any{"name": "stolen"}},
		{method: "DELETE", path: "/api/v1/apps/" + app.ID},
		{method: "POST", path: "/api/v1/apps/" + app.ID + "/imports", raw: []byte(`{}`), ctype: "application/json"},
		{method: "GET", path: "/api/v1/events"},
	}
	before := ts.lastSeq()
	for _, tok := range tokens {
		for _, r := range requests {
			if tok.header != "" {
				r.header = map[string]string{"Authorization": tok.header}
			}
			a := ts.send(r)
			if a.status != http.StatusUnauthorized {
				t.Errorf("%s: %s %s: %d, want 401: %s", tok.name, r.method, r.path, a.status, a.body)
				continue
			}
			if p := a.problem(t); !strings.Contains(p.Detail, tok.detail) {
				t.Errorf("%s: %s %s: detail %q does not say %q", tok.name, r.method, r.path, p.Detail, tok.detail)
			}
		}
	}
	// A valid token of a user that does not exist (or no longer does) is not a session.
	ghost := signToken(t, jwt.SigningMethodHS256, secret, claims(command.NewID(), "assay", now.Add(time.Hour)))
	ts.must(http.StatusUnauthorized, nil, e2eReq{method: "GET", path: "/api/v1/me", token: ghost})
	ts.must(http.StatusNotFound, nil, e2eReq{method: "PATCH", path: "/api/v1/apps/" + app.ID, token: ghost, json: map[string]any{"name": "stolen"}})
	if after := ts.lastSeq(); after != before {
		t.Fatalf("requests without a valid token appended %v", ts.typesAfter(before))
	}
	// A wrong password and an unknown email are the same 401.
	ts.must(http.StatusCreated, nil, e2eReq{method: "POST", path: "/api/v1/auth/register",
		json: map[string]string{"email": "known@example.com", "password": "password1", "name": "K"}})
	var wrong, unknown problemBody
	ts.must(http.StatusUnauthorized, &wrong, e2eReq{method: "POST", path: "/api/v1/auth/login",
		json: map[string]string{"email": "known@example.com", "password": "password2"}})
	ts.must(http.StatusUnauthorized, &unknown, e2eReq{method: "POST", path: "/api/v1/auth/login",
		json: map[string]string{"email": "unknown@example.com", "password": "password1"}})
	if wrong.Detail != unknown.Detail {
		t.Errorf("a wrong password says %q, an unknown email %q", wrong.Detail, unknown.Detail)
	}
	// An email is registered normalized, and logs in however it was typed at registration.
	var spaced struct{ Email string }
	ts.must(http.StatusCreated, &spaced, e2eReq{method: "POST", path: "/api/v1/auth/register",
		json: map[string]string{"email": "  Mixed@Example.COM ", "password": "password1", "name": "M"}})
	if spaced.Email != "mixed@example.com" {
		t.Errorf("registered as %q", spaced.Email)
	}
	for _, email := range []string{"  Mixed@Example.COM ", "mixed@example.com", "MIXED@EXAMPLE.COM"} {
		ts.must(http.StatusOK, nil, e2eReq{method: "POST", path: "/api/v1/auth/login", json: map[string]string{"email": email, "password": "password1"}})
	}
	ts.must(http.StatusConflict, nil, e2eReq{method: "POST", path: "/api/v1/auth/register",
		json: map[string]string{"email": "MIXED@example.com", "password": "password1", "name": "M2"}})
}

// tamper changes the subject of a token without signing it again.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	claims = bytes.Replace(claims, []byte(`"sub":"`), []byte(`"sub":"0`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(claims)
	return strings.Join(parts, ".")
}

// TestE2EAnotherUsersData: every resource of another user is 404 (never 403), to every
// method, and nothing of theirs changes.
func TestE2EAnotherUsersData(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	f := ts.fixture()
	gen := ts.command("POST", "/api/v1/interfaces/"+f.iface+"/generations", f.token, map[string]any{})
	_, intruder := ts.signUp()
	own := ts.createApp(intruder, "the intruder's")

	views := []string{
		"/api/v1/apps/" + f.app, "/api/v1/apps", "/api/v1/apps/" + f.app + "/interfaces", "/api/v1/apps/" + f.app + "/batches",
		"/api/v1/interfaces/" + f.iface, "/api/v1/interfaces/" + f.iface + "/cases", "/api/v1/cases/" + f.kase,
		"/api/v1/generations/" + gen.ID, "/api/v1/batches/" + f.batch, "/api/v1/batches/" + f.batch + "/results",
	}
	snapshot := func() map[string][]byte {
		out := map[string][]byte{}
		for _, v := range views {
			out[v] = ts.get(nil, f.token, v, gen.Seq).body
		}
		return out
	}
	was := snapshot()

	doc := []byte("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses: {'200': {description: ok}}\n")
	requests := []e2eReq{
		{method: "GET", path: "/api/v1/apps/" + f.app},
		{method: "PATCH", path: "/api/v1/apps/" + f.app, json: map[string]any{"name": "stolen"}},
		{method: "DELETE", path: "/api/v1/apps/" + f.app},
		{method: "GET", path: "/api/v1/apps/" + f.app + "/interfaces"},
		{method: "POST", path: "/api/v1/apps/" + f.app + "/interfaces", json: ifaceDef("planted")},
		{method: "POST", path: "/api/v1/apps/" + f.app + "/imports", raw: doc, ctype: "application/yaml"},
		{method: "GET", path: "/api/v1/apps/" + f.app + "/batches"},
		{method: "POST", path: "/api/v1/apps/" + f.app + "/batches", json: map[string]any{}},
		{method: "GET", path: "/api/v1/interfaces/" + f.iface},
		{method: "PATCH", path: "/api/v1/interfaces/" + f.iface, json: map[string]any{"name": "stolen"}},
		{method: "DELETE", path: "/api/v1/interfaces/" + f.iface},
		{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/generations", json: map[string]any{}},
		{method: "GET", path: "/api/v1/interfaces/" + f.iface + "/cases"},
		{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/cases", json: caseDef("planted")},
		{method: "GET", path: "/api/v1/generations/" + gen.ID},
		{method: "GET", path: "/api/v1/cases/" + f.kase},
		{method: "PATCH", path: "/api/v1/cases/" + f.kase, json: map[string]any{"enabled": false}},
		{method: "DELETE", path: "/api/v1/cases/" + f.kase},
		{method: "GET", path: "/api/v1/batches/" + f.batch},
		{method: "GET", path: "/api/v1/batches/" + f.batch + "/results"},
		{method: "POST", path: "/api/v1/batches/" + f.batch + "/cancel"},
		{method: "GET", path: "/api/v1/batches/" + f.batch + "/analysis"},
		{method: "POST", path: "/api/v1/batches/" + f.batch + "/analysis"},
		{method: "GET", path: "/api/v1/batches/" + f.batch + "/report"},
		{method: "POST", path: "/api/v1/batches/" + f.batch + "/notifications", json: map[string]any{"emails": []string{"spy@example.com"}}},
		{method: "GET", path: "/api/v1/events?app_id=" + f.app},
	}
	before := ts.lastSeq()
	for _, r := range requests {
		r.token = intruder
		if a := ts.send(r); a.status != http.StatusNotFound {
			t.Errorf("%s %s by another user: %d, want 404: %s", r.method, r.path, a.status, a.body)
		}
	}
	// Naming the owner's interface or case from one's own app selects nothing of theirs.
	for _, sel := range []map[string]any{{"interface_ids": []string{f.iface}}, {"case_ids": []string{f.kase}}} {
		ts.must(http.StatusUnprocessableEntity, nil, e2eReq{method: "POST", path: "/api/v1/apps/" + own.ID + "/batches", token: intruder, json: sel})
	}
	// The intruder's lists do not show the owner's apps.
	var apps struct{ Items []struct{ ID string } }
	ts.get(&apps, intruder, "/api/v1/apps", own.Seq)
	if len(apps.Items) != 1 || apps.Items[0].ID != own.ID {
		t.Errorf("the intruder's apps: %+v", apps)
	}
	if after := ts.lastSeq(); after != before {
		t.Fatalf("another user's requests appended %v", ts.typesAfter(before))
	}
	for v, body := range snapshot() {
		if !bytes.Equal(body, was[v]) {
			t.Errorf("GET %s changed:\n was %s\n now %s", v, was[v], body)
		}
	}
}

// TestE2EIdempotencyKeysArePerUser: another user's request with the same key is theirs, not
// a replay of the first user's answer (which would name the first user's app).
func TestE2EIdempotencyKeysArePerUser(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, alice := ts.signUp()
	_, bob := ts.signUp()
	body := map[string]any{"name": "same", "environments": testEnvs}
	key := map[string]string{"Idempotency-Key": "shared-key"}
	var a, b acceptedBody
	ts.must(http.StatusAccepted, &a, e2eReq{method: "POST", path: "/api/v1/apps", token: alice, json: body, header: key})
	ans := ts.must(http.StatusAccepted, &b, e2eReq{method: "POST", path: "/api/v1/apps", token: bob, json: body, header: key})
	if a.ID == b.ID || ans.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("bob's request replayed alice's answer: %+v %+v", a, b)
	}
	ts.must(http.StatusNotFound, nil, e2eReq{method: "GET", path: "/api/v1/apps/" + a.ID + "?min_seq=" + u64(b.Seq), token: bob})
}
