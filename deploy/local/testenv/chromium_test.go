package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChromium(t *testing.T) {
	prog, err := os.Executable() // any executable file will do
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(t.TempDir(), "not-a-program")
	if err := os.WriteFile(plain, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, value, ci    string
		skip, fatal, found string // a part of each message; "" = none wanted
	}{
		{"set", prog, "", "", "", prog},
		{"unset outside CI", "", "", EnvChromium, "", ""},
		{"unset under CI", "", "true", "", "Chromium missing", ""},
		{"not executable", plain, "", "", "not an executable", ""},
		{"a directory", t.TempDir(), "", "", "not an executable", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvChromium, c.value)
			t.Setenv("CI", c.ci)
			f := &fakeTB{}
			got, returned := call(f, Chromium)
			ok := returned == (c.found != "") && got == c.found &&
				(c.skip == "") == (f.skipped == "") && strings.Contains(f.skipped, c.skip) &&
				(c.fatal == "") == (f.fatal == "") && strings.Contains(f.fatal, c.fatal)
			if !ok {
				t.Errorf("got %q returned=%v skipped=%q fatal=%q", got, returned, f.skipped, f.fatal)
			}
		})
	}
}
