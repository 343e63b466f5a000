package main

import (
	"bytes"
	"strings"
	"testing"
)

// The operator commands against the embedded servers in a temporary data directory.
func TestProjectionCommandsOnTheEmbeddedServers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	common := []string{"--data-dir", dir, "--nats-listen=", "--log-file=", "--metrics-addr=127.0.0.1:0"}
	runOK := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(t.Context(), append(args, common...), &out, &errOut); code != 0 {
			t.Fatalf("assay %v: exit %d: %s", args, code, errOut.String())
		}
		return out.String()
	}
	if out := runOK("migrate"); !strings.Contains(out, "migrations applied") {
		t.Errorf("migrate said %q", out)
	}
	status := runOK("projections", "status")
	for _, want := range []string{"PROJECTION", "tables", "views"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	if out := runOK("projections", "rebuild", "--projection", "tables"); !strings.Contains(out, "tables rebuilt through sequence 0") {
		t.Errorf("rebuild said %q", out)
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), append([]string{"projections", "skip", "tables", "5"}, common...), &out, &errOut); code != 1 {
		t.Errorf("skip without a failure: exit %d, want 1 (%s)", code, errOut.String())
	}
	if code := run(t.Context(), append([]string{"projections", "rebuild", "--projection", "nope"}, common...), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no projection") {
		t.Errorf("unknown projection: exit %d: %s", code, errOut.String())
	}
}
