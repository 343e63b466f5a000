package api

import (
	"testing"
)

func TestArchivedProbe(t *testing.T) {
	ts := newTestServer(t)
	f := ts.fixture()
	ts.command("DELETE", "/api/v1/apps/"+f.app, f.token, nil)
	for _, r := range []e2eReq{
		{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/cases", json: caseDef("late")},
		{method: "PATCH", path: "/api/v1/interfaces/" + f.iface, json: map[string]any{"name": "late"}},
		{method: "POST", path: "/api/v1/interfaces/" + f.iface + "/generations", json: map[string]any{}},
		{method: "PATCH", path: "/api/v1/cases/" + f.kase, json: map[string]any{"name": "late"}},
	} {
		r.token = f.token
		a := ts.send(r)
		t.Logf("%s %s: %d %s", r.method, r.path, a.status, a.body)
	}
}
