package main

// The client subcommands (login, apps, import, generate, run): assay's HTTP API as a CI
// pipeline or a person at a terminal calls it. They use no package of the server.

import (
	"bufio"
	"bytes"
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
	"text/tabwriter"
	"time"
)

// exitError is an error that chooses the process's exit code (main.go's run honours it).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// cliFail marks err as an error of the CLI itself: exit code 2.
func cliFail(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: 2, err: err}
}

// cliStdin is where --password-stdin reads (a variable for the tests).
var cliStdin io.Reader = os.Stdin

// apiError is a non-2xx answer, with the problem document's title and detail.
type apiError struct {
	method, path string
	status       int
	title        string
	detail       string
	fields       []string
}

func (e *apiError) Error() string {
	msg := e.detail
	if msg == "" {
		msg = e.title
	}
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	if len(e.fields) > 0 {
		msg += " (" + strings.Join(e.fields, "; ") + ")"
	}
	hint := ""
	if e.status == http.StatusUnauthorized {
		hint = " — log in with `assay login` and pass the token as ASSAY_TOKEN or --token"
	}
	return fmt.Sprintf("%s %s: %d %s%s", e.method, e.path, e.status, msg, hint)
}

// cliClient calls the API. minSeq is the last command's sequence: queries wait for it.
type cliClient struct {
	server string // as configured, for messages
	base   string // .../api/v1
	token  string
	minSeq uint64
	seen   uint64 // X-Assay-Seq of the last answer
	http   *http.Client
}

func newCLIClient(cfg Config, needToken bool) (*cliClient, error) {
	server := strings.TrimSpace(cfg.Get("ASSAY_SERVER"))
	if server == "" {
		return nil, errors.New("no server: set ASSAY_SERVER or --server")
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("ASSAY_SERVER %q is not a URL", server)
	}
	base := strings.TrimRight(server, "/")
	if !strings.HasSuffix(base, "/api/v1") {
		base += "/api/v1"
	}
	c := &cliClient{server: server, base: base, token: strings.TrimSpace(cfg.Get("ASSAY_TOKEN")), http: &http.Client{}}
	if needToken && c.token == "" {
		return nil, errors.New("no token: run `export ASSAY_TOKEN=$(assay login --email you@example.com --password-stdin)` or pass --token")
	}
	return c, nil
}

func (c *cliClient) json(ctx context.Context, method, path string, body, into any) error {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	return c.send(ctx, method, path, "application/json", b, into)
}

// send makes one call, retrying 503 (read side behind) and 429 (rate limited) answers.
func (c *cliClient) send(ctx context.Context, method, path, contentType string, body []byte, into any) error {
	u := c.base + path
	if method == http.MethodGet && c.minSeq > 0 {
		u += sepFor(u) + "min_seq=" + strconv.FormatUint(c.minSeq, 10)
	}
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Accept", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("cannot reach the assay server at %s: %w", c.server, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
		}
		if n, err := strconv.ParseUint(resp.Header.Get("X-Assay-Seq"), 10, 64); err == nil {
			c.seen = max(c.seen, n)
		}
		if (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) && attempt < 20 {
			wait := 500 * time.Millisecond
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = min(time.Duration(s)*time.Second, 5*time.Second)
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return err
			}
			continue
		}
		if resp.StatusCode >= 300 {
			return problem(method, path, resp.StatusCode, data)
		}
		if raw, ok := into.(*[]byte); ok { // a rendering, not JSON
			*raw = data
			return nil
		}
		if into != nil {
			if err := json.Unmarshal(data, into); err != nil {
				return fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
			}
		}
		return nil
	}
}

func problem(method, path string, status int, data []byte) error {
	e := &apiError{method: method, path: path, status: status}
	var p struct {
		Title, Detail string
		Errors        []struct{ Field, Message string }
	}
	if json.Unmarshal(data, &p) == nil {
		e.title, e.detail = p.Title, p.Detail
		for _, f := range p.Errors {
			e.fields = append(e.fields, strings.TrimPrefix(f.Field+": "+f.Message, ": "))
		}
	} else {
		e.detail = strings.TrimSpace(string(data))
		if len(e.detail) > 300 {
			e.detail = e.detail[:300] + "…"
		}
	}
	return e
}

// list reads every page of a list into items (a pointer to a slice).
func (c *cliClient) list(ctx context.Context, path string, items any) error {
	var all []json.RawMessage
	cursor := ""
	for {
		p := path + sepFor(path) + "limit=500"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items []json.RawMessage
			Next  string
		}
		if err := c.json(ctx, http.MethodGet, p, nil, &page); err != nil {
			return err
		}
		all = append(all, page.Items...)
		if page.Next == "" || len(page.Items) == 0 {
			break
		}
		cursor = page.Next
	}
	if all == nil {
		all = []json.RawMessage{}
	}
	b, _ := json.Marshal(all)
	return json.Unmarshal(b, items)
}

func sepFor(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func wantArgs(args []string, n int, usage string) error {
	if len(args) != n {
		return fmt.Errorf("want %s (see --help)", usage)
	}
	return nil
}

// loginCommand: assay login --email E [--password-stdin] [--save FILE].
func loginCommand(fs *flag.FlagSet) runFunc {
	email := fs.String("email", os.Getenv("ASSAY_EMAIL"), "the account's email (ASSAY_EMAIL)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from stdin's first line (else ASSAY_PASSWORD)")
	save := fs.String("save", "", "write the token to this file (mode 0600) instead of printing it")
	return func(ctx context.Context, cfg Config, args []string, out io.Writer) error {
		if err := wantArgs(args, 0, "no arguments"); err != nil {
			return cliFail(err)
		}
		if *email == "" {
			return cliFail(errors.New("--email is required"))
		}
		password, ok := os.LookupEnv("ASSAY_PASSWORD")
		if *fromStdin {
			line, err := bufio.NewReader(cliStdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return cliFail(fmt.Errorf("read the password from stdin: %w", err))
			}
			password, ok = strings.TrimRight(line, "\r\n"), true
		}
		if !ok || password == "" {
			return cliFail(errors.New("no password: pipe it with --password-stdin or set ASSAY_PASSWORD"))
		}
		c, err := newCLIClient(cfg, false)
		if err != nil {
			return cliFail(err)
		}
		var login struct {
			Token     string
			ExpiresAt string `json:"expires_at"`
		}
		if err := c.json(ctx, http.MethodPost, "/auth/login", map[string]any{"email": *email, "password": password}, &login); err != nil {
			return cliFail(err)
		}
		if *save != "" {
			if dir := filepath.Dir(*save); dir != "." {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return cliFail(err)
				}
			}
			if err := os.WriteFile(*save, []byte(login.Token+"\n"), 0o600); err != nil {
				return cliFail(err)
			}
			fmt.Fprintf(out, "assay login: token for %s saved to %s (expires %s)\n", *email, *save, login.ExpiresAt)
			return nil
		}
		fmt.Fprintln(out, login.Token)
		return nil
	}
}

type cliApp struct {
	ID                 string
	Name               string
	DefaultEnvironment string `json:"default_environment"`
	Environments       []struct{ Name string }
}

func (a cliApp) defaultEnv() string {
	if a.DefaultEnvironment != "" || len(a.Environments) == 0 {
		return a.DefaultEnvironment
	}
	return a.Environments[0].Name
}

// runApps: assay apps — the caller's apps as a table.
func runApps(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if err := wantArgs(args, 0, "no arguments"); err != nil {
		return cliFail(err)
	}
	c, err := newCLIClient(cfg, true)
	if err != nil {
		return cliFail(err)
	}
	var apps []cliApp
	if err := c.list(ctx, "/apps", &apps); err != nil {
		return cliFail(err)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tDEFAULT ENVIRONMENT")
	for _, a := range apps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.ID, a.Name, a.defaultEnv())
	}
	return cliFail(tw.Flush())
}

// runImport: assay import <app> <file> — an OpenAPI document or a Postman collection.
func runImport(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if err := wantArgs(args, 2, "<app> <openapi-file>"); err != nil {
		return cliFail(err)
	}
	appID, file := args[0], args[1]
	doc, err := os.ReadFile(file)
	if err != nil {
		return cliFail(err)
	}
	ct := "application/json"
	if ext := strings.ToLower(filepath.Ext(file)); ext == ".yaml" || ext == ".yml" {
		ct = "application/yaml"
	}
	c, err := newCLIClient(cfg, true)
	if err != nil {
		return cliFail(err)
	}
	var res struct {
		IDs []string
		Seq uint64
	}
	if err := c.send(ctx, http.MethodPost, "/apps/"+url.PathEscape(appID)+"/imports", ct, doc, &res); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusUnprocessableEntity {
			return cliFail(fmt.Errorf("%s was not imported: %s", file, strings.TrimPrefix(ae.Error(), ae.method+" "+ae.path+": 422 ")))
		}
		return cliFail(err)
	}
	fmt.Fprintf(out, "assay import: %d interfaces imported from %s (seq %d)\n", len(res.IDs), file, res.Seq)
	for _, id := range res.IDs {
		fmt.Fprintln(out, id)
	}
	return nil
}

// generateCommand: assay generate <app|interface> [--generator rules|llm|auto].
func generateCommand(fs *flag.FlagSet) runFunc {
	generator := fs.String("generator", "auto", "rules, llm or auto (the LLM when configured, else the rules)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the generations")
	poll := fs.Duration("poll", 300*time.Millisecond, "how often to ask about a pending generation")
	return func(ctx context.Context, cfg Config, args []string, out io.Writer) error {
		if err := wantArgs(args, 1, "<app|interface>"); err != nil {
			return cliFail(err)
		}
		switch *generator {
		case "rules", "llm", "auto":
		default:
			return cliFail(fmt.Errorf("--generator %q: want rules, llm or auto", *generator))
		}
		c, err := newCLIClient(cfg, true)
		if err != nil {
			return cliFail(err)
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		return cliFail(generate(ctx, c, args[0], *generator, *poll, out))
	}
}

type cliInterface struct {
	ID, Name, Method, Path string
}

func (i cliInterface) label() string {
	if i.Method == "" {
		return i.ID
	}
	return strings.ToUpper(i.Method) + " " + i.Path
}

// interfacesOf is an app's interfaces, or the one interface when id is an interface's. The
// read side may not have applied an import made a moment ago: an unknown id or an app with
// no interface yet is asked again for a few seconds before it is an answer.
func interfacesOf(ctx context.Context, c *cliClient, id string) ([]cliInterface, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ifcs, err := interfacesOnce(ctx, c, id)
		if (err == nil && len(ifcs) > 0) || time.Now().After(deadline) || ctx.Err() != nil {
			return ifcs, err
		}
		var ae *apiError
		if err != nil && !(errors.As(err, &ae) && ae.status == http.StatusNotFound) && !strings.Contains(err.Error(), "neither") {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func interfacesOnce(ctx context.Context, c *cliClient, id string) ([]cliInterface, error) {
	var ifcs []cliInterface
	err := c.list(ctx, "/apps/"+url.PathEscape(id)+"/interfaces", &ifcs)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		var one cliInterface
		if err := c.json(ctx, http.MethodGet, "/interfaces/"+url.PathEscape(id), nil, &one); err != nil {
			if errors.As(err, &ae) && ae.status == http.StatusNotFound {
				return nil, fmt.Errorf("%s is neither one of your apps nor one of your interfaces", id)
			}
			return nil, err
		}
		return []cliInterface{one}, nil
	}
	return ifcs, err
}

func generate(ctx context.Context, c *cliClient, id, generator string, poll time.Duration, out io.Writer) error {
	ifcs, err := interfacesOf(ctx, c, id)
	if err != nil {
		return err
	}
	if len(ifcs) == 0 {
		return fmt.Errorf("the app %s has no interfaces: `assay import %s openapi.yaml` first", id, id)
	}
	type started struct {
		ifc cliInterface
		id  string
		seq uint64
	}
	var gens []started
	for _, i := range ifcs {
		var g struct {
			ID  string
			Seq uint64
		}
		if err := c.json(ctx, http.MethodPost, "/interfaces/"+url.PathEscape(i.ID)+"/generations", map[string]any{"generator": generator}, &g); err != nil {
			return err
		}
		gens = append(gens, started{i, g.ID, g.Seq})
	}
	total, failed := 0, 0
	for _, g := range gens {
		c.minSeq = max(c.minSeq, g.seq)
		var v struct {
			Status         string
			Generator      string
			FallbackReason string   `json:"fallback_reason"`
			CaseIDs        []string `json:"case_ids"`
		}
		for {
			if err := c.json(ctx, http.MethodGet, "/generations/"+url.PathEscape(g.id), nil, &v); err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("timed out waiting for generation %s", g.id)
				}
				return err
			}
			if v.Status != "pending" && v.Status != "" {
				break
			}
			if err := sleepCtx(ctx, poll); err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("timed out waiting for generation %s", g.id)
				}
				return err
			}
		}
		if v.Status == "failed" {
			failed++
			fmt.Fprintf(out, "%-40s failed: %s\n", g.ifc.label(), v.FallbackReason)
			continue
		}
		total += len(v.CaseIDs)
		note := ""
		if v.FallbackReason != "" {
			note = " (fell back: " + v.FallbackReason + ")"
		}
		fmt.Fprintf(out, "%-40s %d cases (%s)%s\n", g.ifc.label(), len(v.CaseIDs), v.Generator, note)
	}
	fmt.Fprintf(out, "assay generate: %d cases for %d interfaces\n", total, len(gens)-failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d generations failed", failed, len(gens))
	}
	return nil
}
