package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// saveReport waits (bounded) until the batch is analysed and reported, then writes its
// HTML report, a self-contained page, under the data directory.
func saveReport(c *apiClient, dataDir, batchID string) (string, error) {
	for deadline := time.Now().Add(20 * time.Second); ; {
		var b batchView
		if _, err := c.do("GET", "/batches/"+batchID, nil, &b); err != nil {
			return "", err
		}
		if b.Status == "reported" {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("batch %s is still %s", batchID, b.Status)
		}
		if err := c.sleep(100 * time.Millisecond); err != nil {
			return "", err
		}
	}
	req, err := http.NewRequestWithContext(c.ctx, "GET", c.base+"/batches/"+batchID+"/report?format=html", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET the report: %d %v", resp.StatusCode, err)
	}
	path := filepath.Join(dataDir, "reports", batchID+".html")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, page, 0o644)
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

// bugFinding is a planted bug and the first failing case that caught it, if any.
type bugFinding struct {
	bug     demo.Bug
	caseID  string
	name    string
	message string
}

type evaluated struct {
	Target  string
	Passed  bool
	Message string
}

// findPlantedBugs matches the batch's failed results to demo.Bugs by interface, case
// class and field, and failed check.
func findPlantedBugs(c *apiClient, appID, batchID string) ([]bugFinding, error) {
	type ifc struct{ ID, Method, Path string }
	var ifcs []ifc
	if err := c.list("/apps/"+appID+"/interfaces", &ifcs); err != nil {
		return nil, err
	}
	byID := map[string]ifc{}
	type kase struct{ ID, Name, Class string }
	cases := map[string]kase{}
	for _, i := range ifcs {
		byID[i.ID] = i
		var ks []kase
		if err := c.list("/interfaces/"+i.ID+"/cases", &ks); err != nil {
			return nil, err
		}
		for _, k := range ks {
			cases[k.ID] = k
		}
	}
	var failed []struct {
		CaseID      string `json:"case_id"`
		InterfaceID string `json:"interface_id"`
		Assertions  []evaluated
	}
	if err := c.list("/batches/"+batchID+"/results?outcome=failed", &failed); err != nil {
		return nil, err
	}
	out := make([]bugFinding, len(demo.Bugs))
	for i, bug := range demo.Bugs {
		out[i].bug = bug
		for _, r := range failed {
			in, k := byID[r.InterfaceID], cases[r.CaseID]
			if !strings.EqualFold(in.Method, bug.Method) || in.Path != bug.Path ||
				bug.Class != "" && k.Class != bug.Class || bug.Field != "" && !strings.HasPrefix(k.Name, bug.Field+":") {
				continue
			}
			for _, a := range r.Assertions {
				if !a.Passed && a.Target == bug.Check {
					out[i].caseID, out[i].name, out[i].message = r.CaseID, k.Name, a.Message
					break
				}
			}
			if out[i].caseID != "" {
				break
			}
		}
	}
	return out, nil
}

func printDemoSummary(out io.Writer, opt demoOptions, st demoState, batchID string, b batchView, found []bugFinding, report string) {
	var w bytes.Buffer // one write, so the summary is not interleaved with log lines
	caught := 0
	for _, f := range found {
		if f.caseID != "" {
			caught++
		}
	}
	api := "http://" + displayAddr(opt.apiAddr) + "/api/v1"
	fmt.Fprintf(&w, "\nassay demo: batch %s %s: %d cases — %d passed, %d failed, %d errored (%.1f s, p95 %.0f ms)\n",
		batchID, b.Status, b.Total, b.Passed, b.Failed, b.Errored, float64(b.DurationMS)/1000, b.Latency["p95"])
	fmt.Fprintf(&w, "assay demo: planted bugs: %d of %d caught\n", caught, len(found))
	for _, f := range found {
		if f.caseID == "" {
			fmt.Fprintf(&w, "  [missed] %s — %s %s: %s\n", f.bug.ID, f.bug.Method, f.bug.Path, f.bug.Description)
			continue
		}
		fmt.Fprintf(&w, "  [caught] %s — %s %s: %s\n           by case %q (%s): %s\n",
			f.bug.ID, f.bug.Method, f.bug.Path, f.bug.Description, f.name, f.bug.Check, f.message)
	}
	fmt.Fprintf(&w, "assay demo: report: %s\n", report)
	fmt.Fprintf(&w, "assay demo: open (log in as %s, password in %s):\n", st.Email, filepath.Join(opt.dataDir, demoStateFile))
	fmt.Fprintf(&w, "  API           %s\n", api)
	fmt.Fprintf(&w, "  the batch     %s/batches/%s  (failures: %s/batches/%s/results?outcome=failed)\n", api, batchID, api, batchID)
	fmt.Fprintf(&w, "  event stream  %s/events?app_id=%s&after=0\n", api, st.AppID)
	fmt.Fprintf(&w, "  metrics       http://%s/metrics\n", displayAddr(opt.metricsAddr))
	fmt.Fprintf(&w, "  demo target   %s  (its document: %s/openapi.yaml)\n", opt.targetURL, opt.targetURL)
	fmt.Fprintf(&w, "assay demo: done\n")
	_, _ = out.Write(w.Bytes())
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

// dialAddr is a listen address a client can dial: an empty or unspecified host is loopback.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// apiClient calls assay's API as a user would. minSeq is the last command's sequence:
// queries wait until the read side has applied it.
type apiClient struct {
	ctx    context.Context
	base   string
	token  string
	minSeq uint64
	seen   uint64 // the X-Assay-Seq of the last answer
	http   http.Client
}

func (c *apiClient) sleep(d time.Duration) error {
	select {
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (c *apiClient) waitUp(limit time.Duration) error {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		req, _ := http.NewRequestWithContext(c.ctx, "GET", c.base+"/openapi.json", nil)
		if resp, err := c.http.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		if err := c.sleep(50 * time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("the API at %s did not come up", c.base)
}

func (c *apiClient) do(method, path string, body, into any) (int, error) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	return c.send(method, path, "application/json", b, into)
}

func (c *apiClient) send(method, path, contentType string, body []byte, into any) (int, error) {
	u := c.base + path
	if method == "GET" && c.minSeq > 0 {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "min_seq=" + strconv.FormatUint(c.minSeq, 10)
	}
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(c.ctx, method, u, rd)
		if err != nil {
			return 0, err
		}
		if body != nil {
			req.Header.Set("Content-Type", contentType)
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return 0, err
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		resp.Body.Close()
		if n, err := strconv.ParseUint(resp.Header.Get("X-Assay-Seq"), 10, 64); err == nil {
			c.seen = n
		}
		// 503: the read side is behind, 429: rate limited; both say when to come back.
		if (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) && attempt < 10 {
			if err := c.sleep(500 * time.Millisecond); err != nil {
				return 0, err
			}
			continue
		}
		if resp.StatusCode >= 300 {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
		}
		if into != nil {
			if err := json.Unmarshal(data, into); err != nil {
				return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
		return resp.StatusCode, nil
	}
}

// list reads every page of a list into items (a pointer to a slice).
func (c *apiClient) list(path string, items any) error {
	var all []json.RawMessage
	cursor := ""
	for {
		p := path
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		p += sep + "limit=500"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items []json.RawMessage
			Next  string
		}
		if _, err := c.do("GET", p, nil, &page); err != nil {
			return err
		}
		all = append(all, page.Items...)
		if page.Next == "" || len(page.Items) == 0 {
			break
		}
		cursor = page.Next
	}
	b, _ := json.Marshal(all)
	return json.Unmarshal(b, items)
}
