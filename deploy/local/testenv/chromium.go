package testenv

import (
	"os"
	"testing"
)

// EnvChromium names the Chromium (or Chrome) program that browser tests drive headless,
// e.g. /usr/bin/chromium: deploy/local/services.sh up installs Debian's chromium when it is
// missing and services.sh env ASSAY_TEST_CHROMIUM prints the path.
const EnvChromium = "ASSAY_TEST_CHROMIUM"

// Chromium returns the path of the browser the test may start. Without the variable the
// test is skipped, or fails under CI; a path that names no program fails the test.
func Chromium(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv(EnvChromium)
	if path == "" {
		msg := "needs Chromium and " + EnvChromium + " is not set; run `go tool task test`, which installs it " +
			"and sets it (or deploy/local/services.sh up chromium, then export " + EnvChromium +
			"=$(deploy/local/services.sh env " + EnvChromium + "))"
		if os.Getenv("CI") != "" {
			tb.Fatalf("Chromium missing: %s", msg)
		}
		tb.Skipf("skipped: %s", msg)
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		tb.Fatalf("testenv: %s=%s is not an executable program (%v); deploy/local/services.sh up chromium installs one", EnvChromium, path, err)
		return ""
	}
	return path
}
