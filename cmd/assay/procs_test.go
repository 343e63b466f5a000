package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The process tests start this test binary again as `assay <command>`: with envBeAssay set,
// TestMain runs the command instead of the tests (no separate go build, and the child is
// exactly the code under test). envCPUProfile makes the child write a CPU profile.
const (
	envBeAssay    = "ASSAY_TEST_BE_ASSAY"
	envCPUProfile = "ASSAY_TEST_CPUPROFILE"
)

func TestMain(m *testing.M) {
	if os.Getenv(envBeAssay) == "1" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// childMain is main() with an optional CPU profile around it.
func childMain() int {
	if path := os.Getenv(envCPUProfile); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// proc is one `assay` process the test started; t.Cleanup stops it.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *procOutput
	done chan struct{}
	err  error // after done
}

// startProc runs `assay args...` with the given ASSAY_* settings (and none inherited).
func startProc(t testing.TB, name string, env map[string]string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ASSAY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	base := map[string]string{envBeAssay: "1", "ASSAY_LOG_FILE": "", "ASSAY_LOG_LEVEL": "warn", "ASSAY_METRICS_ADDR": "127.0.0.1:0"}
	for k, v := range env {
		base[k] = v
	}
	for k, v := range base {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{name: name, cmd: cmd, out: &procOutput{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		if t.Failed() {
			t.Logf("--- %s output (last 3000 bytes):\n%s", name, p.out.tail(3000))
		}
	})
	return p
}

// stop asks the process to end (SIGTERM) and kills it if it has not within grace.
func (p *proc) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill ends the process at once (SIGKILL), as a crash or an OOM kill would, and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// exited says whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// procOutput is a bytes.Buffer safe for the process's two writers and the test.
type procOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *procOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep memory bounded; the tail is what matters
		s.b.Next(s.b.Len() / 2)
	}
	return s.b.Write(p)
}

func (s *procOutput) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.b.Bytes()
	return string(b[max(0, len(b)-n):])
}

// waitFor polls cond every 20ms until it holds, failing the test after within.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAlive fails the test when one of the processes has ended.
func checkAlive(t testing.TB, ps ...*proc) {
	t.Helper()
	for _, p := range ps {
		if gone, err := p.exited(); gone {
			t.Fatalf("%s exited (%v):\n%s", p.name, err, p.out.tail(3000))
		}
	}
}

func (p *proc) String() string { return fmt.Sprintf("%s (pid %d)", p.name, p.cmd.Process.Pid) }

// withEnv is a copy of env with one more setting.
func withEnv(env map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(env)+1)
	for ek, ev := range env {
		out[ek] = ev
	}
	out[k] = v
	return out
}

// scrape sums a metric's samples (every label set) on a process's /metrics.
func scrape(t testing.TB, addr, metric string) float64 {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		name, rest, ok := strings.Cut(line, " ")
		if !ok || (name != metric && !strings.HasPrefix(name, metric+"{")) {
			continue
		}
		if strings.HasPrefix(name, metric+"{") {
			_, rest, _ = strings.Cut(line, "} ")
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// waitServing waits until a process's metrics server answers /healthz: the process has
// opened what it needs (migrated the database, created its consumers) and started work.
func waitServing(t testing.TB, p *proc, addr string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	waitFor(t, 30*time.Second, p.name+" serving /healthz", func() bool {
		checkAlive(t, p)
		resp, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
