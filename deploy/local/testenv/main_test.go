package testenv

import (
	"fmt"
	"os"
	"testing"
)

// TestMain points this package's RabbitMQ locks (TMPDIR) at a directory of its own: its
// tests take them on fake tests whose cleanups never run, and must neither hold nor wait
// for the locks of the other packages' tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "testenv-locks-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", dir)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
