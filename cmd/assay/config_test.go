package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigPrecedenceFlagsThenEnvThenFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "assay.env")
	content := "# comment\nASSAY_HTTP_ADDR=:1\nASSAY_LOG_LEVEL=debug\nASSAY_LLM_MODEL='from-file'\nASSAY_LLM_API_KEY=sk-secret\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ASSAY_HTTP_ADDR": ":2", "ASSAY_LOG_LEVEL": "warn"}
	cfg, err := loadConfig(file, map[string]string{"ASSAY_HTTP_ADDR": ":3"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"ASSAY_HTTP_ADDR": ":3", "ASSAY_LOG_LEVEL": "warn", "ASSAY_LLM_MODEL": "from-file", "ASSAY_METRICS_ADDR": ":9091"} {
		if got := cfg.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var out bytes.Buffer
	cfg.print(&out)
	if strings.Contains(out.String(), "sk-secret") || !strings.Contains(out.String(), "ASSAY_LLM_API_KEY=****") {
		t.Errorf("secret not masked:\n%s", out.String())
	}
}

func TestConfigFileErrorsAreClear(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.env")
	_ = os.WriteFile(bad, []byte("ASSAY_NOPE=1\nnot a line\n"), 0o600)
	_, err := loadConfig(bad, nil, func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "bad.env:2") {
		t.Errorf("got %v, want the file and line named", err)
	}
	unknown := filepath.Join(dir, "unknown.env")
	_ = os.WriteFile(unknown, []byte("ASSAY_NOPE=1\n"), 0o600)
	if _, err := loadConfig(unknown, nil, func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "ASSAY_NOPE") {
		t.Errorf("got %v, want the unknown setting named", err)
	}
	if _, err := loadConfig(filepath.Join(dir, "missing.env"), nil, func(string) (string, bool) { return "", false }); err == nil {
		t.Error("a missing config file is an error")
	}
}

func TestUnknownCommandAndHelp(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("code %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"projections", "--help"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "Example:") {
		t.Errorf("help: code %d, stderr %q", code, errOut.String())
	}
}
