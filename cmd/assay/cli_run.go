package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// runCommand: assay run <app> — the command a CI pipeline calls. Exit 0 when every case
// passed, 1 when any failed or errored, 2 on an error of the CLI itself.
func runCommand(fs *flag.FlagSet) runFunc {
	env := fs.String("env", "", "the environment to run against (default: the app's default)")
	var ifcs stringList
	fs.Var(&ifcs, "interface", "run only this interface's cases (repeatable)")
	junit := fs.String("junit", "", "write the results as JUnit XML to this file")
	html := fs.String("html", "", "write the batch's HTML report (one self-contained file) to this file")
	wait := fs.Bool("wait", true, "follow the batch to its end (--wait=false: print the batch id and exit 0)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the batch")
	poll := fs.Duration("poll", 500*time.Millisecond, "how often to poll when the event stream is unavailable")
	return func(ctx context.Context, cfg Config, args []string, out io.Writer) error {
		if err := wantArgs(args, 1, "<app>"); err != nil {
			return cliFail(err)
		}
		c, err := newCLIClient(cfg, true)
		if err != nil {
			return cliFail(err)
		}
		o := runOptions{appID: args[0], env: *env, interfaces: ifcs, junit: *junit, html: *html, wait: *wait, timeout: *timeout, poll: *poll}
		return runBatch(ctx, c, o, out)
	}
}

type runOptions struct {
	appID, env string
	interfaces []string
	junit      string
	html       string
	wait       bool
	timeout    time.Duration
	poll       time.Duration
}

type cliResult struct {
	CaseID      string  `json:"case_id"`
	InterfaceID string  `json:"interface_id"`
	Outcome     string  `json:"outcome"`
	StatusCode  int     `json:"status_code"`
	DurationMS  float64 `json:"duration_ms"`
	Error       string  `json:"error"`
	Assertions  []struct {
		Target, Op, Message string
		Passed              bool
	} `json:"assertions"`
}

func (r cliResult) messages() []string {
	var m []string
	for _, a := range r.Assertions {
		if !a.Passed {
			msg := a.Message
			if msg == "" {
				msg = a.Target + " " + a.Op + " failed"
			}
			m = append(m, msg)
		}
	}
	if r.Error != "" {
		m = append(m, r.Error)
	}
	return m
}

func runBatch(ctx context.Context, c *cliClient, o runOptions, out io.Writer) error {
	body := map[string]any{}
	if o.env != "" {
		body["environment"] = o.env
	}
	if len(o.interfaces) > 0 {
		body["interface_ids"] = o.interfaces
	}
	var sub struct {
		ID  string
		Seq uint64
	}
	if err := c.json(ctx, http.MethodPost, "/apps/"+url.PathEscape(o.appID)+"/batches", body, &sub); err != nil {
		return cliFail(err)
	}
	c.minSeq = sub.Seq
	fmt.Fprintf(out, "assay run: batch %s submitted\n", sub.ID)
	if !o.wait {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	p := newProgress(out)
	seq, err := followStream(wctx, c, o.appID, sub.ID, sub.Seq, p)
	if err != nil && wctx.Err() == nil {
		seq, err = pollBatch(wctx, c, sub.ID, o.poll, p) // no stream: poll the batch instead
	}
	p.finish()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return cliFail(fmt.Errorf("timed out after %s waiting for batch %s (it goes on running; see %s/batches/%s)", o.timeout, sub.ID, c.base, sub.ID))
		}
		return cliFail(err)
	}
	c.minSeq = max(c.minSeq, seq)
	var b batchView
	if err := c.json(ctx, http.MethodGet, "/batches/"+url.PathEscape(sub.ID), nil, &b); err != nil {
		return cliFail(err)
	}
	fmt.Fprintf(out, "assay run: batch %s %s: %d cases — %d passed, %d failed, %d errored, %d canceled (%.1f s)\n",
		sub.ID, b.Status, b.Total, b.Passed, b.Failed, b.Errored, b.Canceled, float64(b.DurationMS)/1000)
	var results []cliResult
	names := map[string]string{}
	var ifcs []cliInterface
	if b.Failed+b.Errored > 0 || o.junit != "" {
		path := "/batches/" + url.PathEscape(sub.ID) + "/results"
		if o.junit == "" {
			path += "?outcome=failed"
		}
		if err := c.list(ctx, path, &results); err != nil {
			return cliFail(err)
		}
		if ifcs, names, err = caseNames(ctx, c, o.appID); err != nil {
			return cliFail(err)
		}
		if o.junit == "" && b.Errored > 0 {
			var errored []cliResult
			if err := c.list(ctx, "/batches/"+url.PathEscape(sub.ID)+"/results?outcome=errored", &errored); err != nil {
				return cliFail(err)
			}
			results = append(results, errored...)
		}
	}
	printFailures(out, results, ifcs, names)
	if err := saveReports(ctx, c, sub.ID, o, out); err != nil {
		return cliFail(err)
	}
	switch {
	case b.Failed+b.Errored > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d of %d cases failed, %d errored", b.Failed, b.Total, b.Errored)}
	case b.Status == "canceled" || b.Canceled > 0:
		return &exitError{code: 1, err: fmt.Errorf("batch %s was canceled: %d of %d cases did not run", sub.ID, b.Canceled, b.Total)}
	}
	return nil
}

// caseNames is the app's interfaces and the names of their cases by id.
func caseNames(ctx context.Context, c *cliClient, appID string) ([]cliInterface, map[string]string, error) {
	var ifcs []cliInterface
	if err := c.list(ctx, "/apps/"+url.PathEscape(appID)+"/interfaces", &ifcs); err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, i := range ifcs {
		var cases []struct{ ID, Name string }
		if err := c.list(ctx, "/interfaces/"+url.PathEscape(i.ID)+"/cases", &cases); err != nil {
			return nil, nil, err
		}
		for _, k := range cases {
			names[k.ID] = k.Name
		}
	}
	return ifcs, names, nil
}

func printFailures(out io.Writer, results []cliResult, ifcs []cliInterface, names map[string]string) {
	label := map[string]string{}
	for _, i := range ifcs {
		label[i.ID] = i.label()
	}
	for _, r := range results {
		if r.Outcome != "failed" && r.Outcome != "errored" {
			continue
		}
		name := names[r.CaseID]
		if name == "" {
			name = r.CaseID
		}
		in := label[r.InterfaceID]
		if in == "" {
			in = r.InterfaceID
		}
		fmt.Fprintf(out, "  [%s] %s — %q (case %s, status %d)\n", r.Outcome, in, name, r.CaseID, r.StatusCode)
		for _, m := range r.messages() {
			fmt.Fprintf(out, "      %s\n", m)
		}
	}
}

// progress shows a batch's progress: a bar on a terminal, else a line now and then.
type progress struct {
	out       io.Writer
	tty       bool
	bar       *progressbar.ProgressBar
	total     int
	done      int
	failed    int
	lastPrint time.Time
	lastDone  int
}

func newProgress(out io.Writer) *progress {
	p := &progress{out: out, lastDone: -1}
	if f, ok := out.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

func (p *progress) update(done, total, failed int) {
	p.done, p.total, p.failed = done, max(total, done), failed
	if p.total == 0 {
		return
	}
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(p.total, progressbar.OptionSetWriter(p.out), progressbar.OptionSetDescription("assay run"),
				progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.out) }))
		}
		_ = p.bar.Set(p.done)
		return
	}
	if p.done != p.lastDone && (time.Since(p.lastPrint) >= 2*time.Second || p.done == p.total) {
		fmt.Fprintf(p.out, "assay run: %d/%d run (%d failed)\n", p.done, p.total, p.failed)
		p.lastPrint, p.lastDone = time.Now(), p.done
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// followStream follows the batch on the event stream from the submission (seq) to its
// batch.completed, whose sequence it answers. Any trouble with the stream is an error:
// the caller then polls instead.
func followStream(ctx context.Context, c *cliClient, appID, batchID string, seq uint64, p *progress) (uint64, error) {
	after := uint64(0)
	if seq > 0 {
		after = seq - 1
	}
	q := url.Values{"app_id": {appID}, "types": {"batch.*"}, "after": {strconv.FormatUint(after, 10)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/events?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return 0, fmt.Errorf("event stream: %s", resp.Status)
	}
	total, done, failed := 0, 0, 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var id uint64
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var ev struct {
				Type string
				Data struct {
					BatchID string `json:"batch_id"`
					Outcome string
					Cases   []json.RawMessage
					Totals  struct{ Total int }
				}
			}
			err := json.Unmarshal([]byte(data.String()), &ev)
			data.Reset()
			if err != nil || ev.Data.BatchID != batchID {
				continue
			}
			switch ev.Type {
			case "batch.submitted":
				total = len(ev.Data.Cases)
			case "batch.case_executed":
				done++
				if ev.Data.Outcome == "failed" || ev.Data.Outcome == "errored" {
					failed++
				}
			case "batch.completed":
				p.update(max(done, ev.Data.Totals.Total), max(total, ev.Data.Totals.Total), failed)
				return id, nil
			default:
				continue
			}
			p.update(done, total, failed)
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id:"):
			if n, err := strconv.ParseUint(strings.TrimSpace(line[3:]), 10, 64); err == nil {
				id = n
			}
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(line[5:], " "))
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("event stream ended before the batch completed")
}

// pollBatch polls the batch until it is no longer running; it answers the read side's
// sequence at that moment.
func pollBatch(ctx context.Context, c *cliClient, batchID string, interval time.Duration, p *progress) (uint64, error) {
	for {
		var b batchView
		if err := c.json(ctx, http.MethodGet, "/batches/"+url.PathEscape(batchID), nil, &b); err != nil {
			return 0, err
		}
		p.update(b.done(), b.Total, b.Failed+b.Errored)
		if b.Status != "" && b.Status != "running" {
			return c.seen, nil
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return 0, err
		}
	}
}

// saveReports writes the renderings of the batch's report that --junit and --html ask for.
func saveReports(ctx context.Context, c *cliClient, batchID string, o runOptions, out io.Writer) error {
	reported := false
	for _, r := range []struct{ path, format, what string }{{o.junit, "junit", "JUnit XML"}, {o.html, "html", "HTML report"}} {
		if r.path == "" {
			continue
		}
		if !reported {
			if err := awaitReported(ctx, c, batchID); err != nil {
				return err
			}
			reported = true
		}
		if err := writeReport(ctx, c, batchID, r.format, r.path); err != nil {
			return fmt.Errorf("write %s: %w", r.path, err)
		}
		fmt.Fprintf(out, "assay run: %s written to %s\n", r.what, r.path)
	}
	return nil
}

// awaitReported waits until the batch has a report (batch.report_generated recorded).
func awaitReported(ctx context.Context, c *cliClient, batchID string) error {
	for deadline := time.Now().Add(time.Minute); ; {
		var b batchView
		if err := c.json(ctx, http.MethodGet, "/batches/"+url.PathEscape(batchID), nil, &b); err != nil {
			return err
		}
		if b.Status == "reported" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("batch %s is still %s after a minute: are the reactors running (assay react)?", batchID, b.Status)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// writeReport saves the server's rendering of the batch's report in one format — the
// document GET /batches/{id}/report?format=... serves: one report, not a CLI-made copy.
func writeReport(ctx context.Context, c *cliClient, batchID, format, path string) error {
	var data []byte
	if err := c.send(ctx, http.MethodGet, "/batches/"+url.PathEscape(batchID)+"/report?format="+format, "", nil, &data); err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, data, 0o644)
}
