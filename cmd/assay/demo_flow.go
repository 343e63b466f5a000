package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/assay-dev/assay/cmd/assay/demo"
)

// demoState is what a demo run leaves in the data dir (demo.json), so a later start reuses
// the user and the app: no token, the demo user's generated password (a local account).
type demoState struct {
	Email        string   `json:"email"`
	Password     string   `json:"password"`
	AppID        string   `json:"app_id,omitempty"`
	BaseURL      string   `json:"base_url,omitempty"`
	InterfaceIDs []string `json:"interface_ids,omitempty"`
	Generated    bool     `json:"generated,omitempty"`
}

const demoStateFile = "demo.json"

// demoOptions are where things run, as the flow's user sees them.
type demoOptions struct {
	dataDir     string
	apiAddr     string // the API's listen address
	metricsAddr string
	targetURL   string // the demo target's base URL
	llm         bool   // an LLM key is set
	interval    time.Duration
}

// runDemoFlow is what `assay dev --demo` does once the API is up, through the HTTP API
// only: sign in the demo user, create the app and import the target's document (the first
// time), generate cases, run a batch with progress, and print what it found.
func runDemoFlow(ctx context.Context, opt demoOptions, out io.Writer) error {
	if opt.interval == 0 {
		opt.interval = 200 * time.Millisecond
	}
	c := &apiClient{ctx: ctx, base: "http://" + dialAddr(opt.apiAddr) + "/api/v1"}
	if err := c.waitUp(30 * time.Second); err != nil {
		return err
	}
	path := filepath.Join(opt.dataDir, demoStateFile)
	st, reused, err := loadDemoState(path)
	if err != nil {
		return err
	}
	if !reused {
		st = demoState{Email: "demo@assay.local", Password: randomPassword()}
		var created struct{ ID string }
		status, err := c.do("POST", "/auth/register", map[string]any{"email": st.Email, "password": st.Password, "name": "assay demo"}, &created)
		if err != nil && status != http.StatusConflict {
			return fmt.Errorf("register the demo user: %w", err)
		}
		if err := saveDemoState(path, st); err != nil {
			return err
		}
	}
	var login struct{ Token string }
	if _, err := c.do("POST", "/auth/login", map[string]any{"email": st.Email, "password": st.Password}, &login); err != nil {
		return fmt.Errorf("log in as %s (delete %s to start the demo afresh): %w", st.Email, path, err)
	}
	c.token = login.Token
	env := []any{map[string]any{"name": "demo", "base_url": opt.targetURL}}
	var cmd struct {
		ID  string
		IDs []string
		Seq uint64
	}
	switch {
	case st.AppID == "":
		if _, err := c.do("POST", "/apps", map[string]any{"name": "demo pet shop", "description": "the sample target bundled with assay",
			"environments": env}, &cmd); err != nil {
			return fmt.Errorf("create the demo app: %w", err)
		}
		st.AppID, st.BaseURL, c.minSeq = cmd.ID, opt.targetURL, cmd.Seq
		fmt.Fprintf(out, "assay demo: created the app %s for the demo target at %s\n", st.AppID, opt.targetURL)
	case st.BaseURL != opt.targetURL: // the target moved: follow it
		if _, err := c.do("PATCH", "/apps/"+st.AppID, map[string]any{"environments": env}, &cmd); err != nil {
			return fmt.Errorf("point the demo app at %s: %w", opt.targetURL, err)
		}
		st.BaseURL, c.minSeq = opt.targetURL, cmd.Seq
		fmt.Fprintf(out, "assay demo: reusing the app %s, now pointed at %s\n", st.AppID, opt.targetURL)
	default:
		fmt.Fprintf(out, "assay demo: reusing the user %s and the app %s (delete %s to start afresh)\n", st.Email, st.AppID, path)
	}
	if err := saveDemoState(path, st); err != nil {
		return err
	}
	if len(st.InterfaceIDs) == 0 {
		if _, err := c.send("POST", "/apps/"+st.AppID+"/imports", "application/yaml", demo.OpenAPI, &cmd); err != nil {
			return fmt.Errorf("import the demo document: %w", err)
		}
		st.InterfaceIDs, c.minSeq = cmd.IDs, max(c.minSeq, cmd.Seq)
		if err := saveDemoState(path, st); err != nil {
			return err
		}
		fmt.Fprintf(out, "assay demo: imported the demo target's OpenAPI document: %d interfaces\n", len(st.InterfaceIDs))
	}
	if !st.Generated {
		if err := generateDemoCases(c, opt, st.InterfaceIDs, out); err != nil {
			return err
		}
		st.Generated = true
		if err := saveDemoState(path, st); err != nil {
			return err
		}
	}
	if _, err := c.do("POST", "/apps/"+st.AppID+"/batches", map[string]any{}, &cmd); err != nil {
		return fmt.Errorf("submit a batch: %w", err)
	}
	c.minSeq = max(c.minSeq, cmd.Seq)
	batchID := cmd.ID
	b, err := waitBatch(c, batchID, opt.interval, out)
	if err != nil {
		return err
	}
	c.minSeq = max(c.minSeq, c.seen) // the results as of the batch's completion
	caught, err := findPlantedBugs(c, st.AppID, batchID)
	if err != nil {
		return err
	}
	report, err := saveReport(c, opt.dataDir, batchID)
	if err != nil {
		report = "not ready: " + err.Error()
	}
	printDemoSummary(out, opt, st, batchID, b, caught, report)
	return nil
}

// generateDemoCases asks for every interface's generation at once (the LLM's calls then
// run side by side, within its concurrency limit) and waits for them all.
func generateDemoCases(c *apiClient, opt demoOptions, ids []string, out io.Writer) error {
	asked := "rules"
	if opt.llm {
		asked = "auto" // the LLM, falling back to the rules
	}
	gens := make([]string, 0, len(ids))
	for _, id := range ids {
		var gen struct {
			ID  string
			Seq uint64
		}
		if _, err := c.do("POST", "/interfaces/"+id+"/generations", map[string]any{"generator": asked}, &gen); err != nil {
			return fmt.Errorf("generate cases: %w", err)
		}
		c.minSeq = max(c.minSeq, gen.Seq)
		gens = append(gens, gen.ID)
	}
	total, used := 0, map[string]int{}
	for _, id := range gens {
		g, err := waitGeneration(c, opt, id)
		if err != nil {
			return err
		}
		total += len(g.CaseIDs)
		used[g.Generator]++
		if g.FallbackReason != "" && opt.llm {
			fmt.Fprintf(out, "assay demo: generation %s fell back to the rules: %s\n", id, g.FallbackReason)
		}
	}
	by := make([]string, 0, len(used))
	for name, n := range used {
		by = append(by, fmt.Sprintf("%s: %d", name, n))
	}
	slices.Sort(by)
	fmt.Fprintf(out, "assay demo: generated %d cases (interfaces by generator: %s)\n", total, strings.Join(by, ", "))
	return nil
}

type demoGeneration struct {
	Status         string
	Generator      string
	FallbackReason string   `json:"fallback_reason"`
	CaseIDs        []string `json:"case_ids"`
}

func waitGeneration(c *apiClient, opt demoOptions, id string) (demoGeneration, error) {
	var g demoGeneration
	for {
		if _, err := c.do("GET", "/generations/"+id, nil, &g); err != nil {
			return g, fmt.Errorf("generation %s: %w", id, err)
		}
		switch g.Status {
		case "done":
			return g, nil
		case "failed":
			return g, fmt.Errorf("generation %s failed: %s", id, g.FallbackReason)
		}
		if err := c.sleep(opt.interval); err != nil {
			return g, err
		}
	}
}

type batchView struct {
	Status                         string
	Total, Passed, Failed, Errored int
	Canceled                       int
	DurationMS                     int64              `json:"duration_ms"`
	Latency                        map[string]float64 `json:"latency_ms"`
}

func (b batchView) done() int { return b.Passed + b.Failed + b.Errored + b.Canceled }

// waitBatch polls the batch until it is no longer running, showing progress: a bar on a
// terminal, else a line whenever the count moved (at most every 2 s).
func waitBatch(c *apiClient, id string, interval time.Duration, out io.Writer) (batchView, error) {
	var b batchView
	var bar *progressbar.ProgressBar
	tty := false
	if f, ok := out.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	last, lastAt := -1, time.Time{}
	for {
		if _, err := c.do("GET", "/batches/"+id, nil, &b); err != nil {
			return b, fmt.Errorf("batch %s: %w", id, err)
		}
		finished := b.Status != "" && b.Status != "running"
		switch {
		case tty && b.Total > 0:
			if bar == nil {
				bar = progressbar.NewOptions(b.Total, progressbar.OptionSetWriter(out), progressbar.OptionSetDescription("assay demo: batch"),
					progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }))
			}
			_ = bar.Set(b.done())
		case !tty && (finished || b.done() != last && time.Since(lastAt) >= 2*time.Second):
			fmt.Fprintf(out, "assay demo: batch %s: %d/%d run (%d failed)\n", id, b.done(), b.Total, b.Failed)
			last, lastAt = b.done(), time.Now()
		}
		if finished {
			if bar != nil {
				_ = bar.Finish()
			}
			return b, nil
		}
		if err := c.sleep(interval); err != nil {
			return b, err
		}
	}
}

func loadDemoState(path string) (demoState, bool, error) {
	var st demoState
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Email == "" {
		return st, false, fmt.Errorf("%s is damaged (delete it to start the demo afresh): %v", path, err)
	}
	return st, true, nil
}

func saveDemoState(path string, st demoState) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
