package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/cmd/assay/demo"
	"github.com/assay-dev/assay/deploy/local/testenv"
)

// `assay dev --demo` with an LLM and email configured: the cases come from the model
// (checked and completed by the rules), the analysis is narrated by it, and the report
// is emailed. With the model down, generation and narration fall back to the rules with
// the reason recorded, and the demo still finds every planted bug.
func TestDemoWithLLMAndEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		down bool
	}{{"llm", false}, {"llm answers 500", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkDemoWithLLM(t, tc.down)
		})
	}
}

func checkDemoWithLLM(t *testing.T, down bool) {
	llm, box := newFakeLLM(t, down), testenv.NewSMTPServer(t, testenv.SMTPOptions{})
	dir := t.TempDir()
	out, api := startDemoWith(t, dir, "--llm-api-key", "test", "--llm-base-url", llm.srv.URL, "--llm-model", "fake-model",
		"--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(box.Addr.Port), "--smtp-encryption", "none",
		"--smtp-from", "assay@example.test")

	// The demo's own account of it.
	for _, bug := range demo.Bugs {
		if !strings.Contains(out, "[caught] "+bug.ID) {
			t.Errorf("planted bug %s not caught:\n%s", bug.ID, out)
		}
	}
	wantBy := "interfaces by generator: llm: 3)"
	if down {
		wantBy = "interfaces by generator: rules: 3)"
		if n := strings.Count(out, "fell back to the rules: error: "); n != 3 {
			t.Errorf("%d generations say they fell back on an error, want 3:\n%s", n, out)
		}
	} else if strings.Contains(out, "fell back") {
		t.Errorf("a generation fell back with the model up:\n%s", out)
	}
	if !strings.Contains(out, wantBy) {
		t.Errorf("the demo's output lacks %q:\n%s", wantBy, out)
	}
	if strings.Contains(out, `"level":"error"`) {
		t.Errorf("errors logged:\n%s", out)
	}

	c := demoClient(t, dir, api)
	appID, batchID := c.demoIDs(t)
	checkGenerations(t, c, appID, down)
	checkNarration(t, c, batchID, down)
	checkEmail(t, c, box, appID, batchID, down)

	if p := llm.problems(); len(p) > 0 {
		t.Errorf("the fake LLM got calls it could not answer: %q", p)
	}
	// One call per interface and one for the batch: no repair call for the fenced answer or
	// the one in prose, no retry of a 500 (it falls back at once).
	if g, n := llm.generations.Load(), llm.narrate.Load(); g != 3 || n != 1 {
		t.Errorf("the fake LLM answered %d generation and %d narration calls, want 3 and 1", g, n)
	}
}

// startDemoWith runs `assay dev --demo` in dir with extra flags until its summary, and keeps
// it running (for the API) until the test ends. It answers the output so far and the API's
// address.
func startDemoWith(t *testing.T, dir string, extra ...string) (output, api string) {
	t.Helper()
	api, metrics, target := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	out := &syncBuffer{}
	args := append([]string{"dev", "--demo", "--data-dir", dir, "--nats-listen=", "--log-file=", "--log-level", "warn",
		"--http-addr", api, "--metrics-addr", metrics, "--demo-addr", target}, extra...)
	go func() { done <- run(ctx, args, out, out) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("assay dev --demo exited %d:\n%s", code, out.String())
		}
	})
	for deadline := time.Now().Add(90 * time.Second); !strings.Contains(out.String(), "assay demo: done"); {
		select {
		case code := <-done:
			done <- code // for the cleanup
			t.Fatalf("assay dev --demo exited %d before the demo finished:\n%s", code, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not finish:\n%s", out.String())
		}
	}
	return out.String(), api
}

// demoClient logs in as the demo user.
func demoClient(t *testing.T, dir, api string) *client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, demoStateFile))
	if err != nil {
		t.Fatal(err)
	}
	var st demoState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: "http://" + api + "/api/v1"}
	var login struct{ Token string }
	c.call("POST", "/auth/login", map[string]any{"email": st.Email, "password": st.Password}, &login)
	c.token = login.Token
	return c
}

// demoIDs are the demo's app and its one batch.
func (c *client) demoIDs(t *testing.T) (appID, batchID string) {
	t.Helper()
	var apps, batches struct{ Items []struct{ ID string } }
	c.call("GET", "/apps", nil, &apps)
	if len(apps.Items) != 1 {
		t.Fatalf("apps = %+v, want the demo's", apps.Items)
	}
	c.call("GET", "/apps/"+apps.Items[0].ID+"/batches", nil, &batches)
	if len(batches.Items) != 1 {
		t.Fatalf("batches = %+v, want the demo's one", batches.Items)
	}
	return apps.Items[0].ID, batches.Items[0].ID
}

type generationView struct {
	Status         string
	Generator      string
	Model          string
	PromptVersion  string `json:"prompt_version"`
	FallbackReason string `json:"fallback_reason"`
	TokensIn       int    `json:"tokens_in"`
	TokensOut      int    `json:"tokens_out"`
}

// checkGenerations: every interface's cases come from one generation, recorded with the
// generator, model, prompt version and tokens; the model's invalid case was dropped with
// its reason, and the rules filled the parameter × class cells the model left out.
func checkGenerations(t *testing.T, c *client, appID string, down bool) {
	t.Helper()
	var ifcs struct {
		Items []struct{ ID, Method, Path string }
	}
	c.call("GET", "/apps/"+appID+"/interfaces?limit=500", nil, &ifcs)
	if len(ifcs.Items) != 3 {
		t.Fatalf("interfaces = %+v, want the demo's 3", ifcs.Items)
	}
	for _, in := range ifcs.Items {
		name := in.Method + " " + in.Path
		var cases struct {
			Items []struct {
				Name, Class, Source string
				GenerationID        string `json:"generation_id"`
			}
		}
		c.call("GET", "/interfaces/"+in.ID+"/cases?limit=500", nil, &cases)
		gens, sources, names := map[string]bool{}, map[string]int{}, []string{}
		for _, k := range cases.Items {
			gens[k.GenerationID], sources[k.Source] = true, sources[k.Source]+1
			names = append(names, k.Name)
		}
		if len(gens) != 1 || gens[""] {
			t.Errorf("%s: cases of generations %v, want one", name, gens)
			continue
		}
		var g generationView
		for id := range gens {
			c.call("GET", "/generations/"+id, nil, &g)
		}
		if g.Status != "done" || g.Model != "fake-model" || g.PromptVersion != "generate.v1" {
			t.Errorf("%s: generation %+v, want done by fake-model with generate.v1", name, g)
		}
		if slices.Contains(names, droppedCaseName) {
			t.Errorf("%s: the invalid case %q was kept", name, droppedCaseName)
		}
		if down {
			if g.Generator != "rules" || !strings.HasPrefix(g.FallbackReason, "error: ") || !strings.Contains(g.FallbackReason, "500") ||
				sources["llm"] > 0 {
				t.Errorf("%s: generation %+v, sources %v; want the rules, the 500 as the reason", name, g, sources)
			}
			continue
		}
		if g.Generator != "llm" || g.FallbackReason != "" || g.TokensIn != fakeTokensIn || g.TokensOut != fakeTokensOut {
			t.Errorf("%s: generation %+v, want llm with the fake's tokens (%d in, %d out)", name, g, fakeTokensIn, fakeTokensOut)
		}
		if sources["llm"] < 2 || sources["rules"] == 0 {
			t.Errorf("%s: cases by source %v, want the model's (≥ 2) completed by the rules'", name, sources)
		}
	}
	if down {
		return
	}
	// The model's invalid case is recorded as dropped, with the reason.
	evs := c.sse(t, "/events?app_id="+appID+"&after=0&types=interface.cases_generated", func(evs []sseEvent) bool { return len(evs) >= 3 })
	dropped := 0
	for _, e := range evs {
		var d struct{ Info struct{ Dropped []string } }
		_ = json.Unmarshal(e.Data, &d)
		for _, why := range d.Info.Dropped {
			if strings.Contains(why, droppedCaseName) && strings.Contains(why, "limit") {
				dropped++
			} else {
				t.Errorf("unexpected drop: %s", why)
			}
		}
	}
	if dropped != 1 {
		t.Errorf("%d drops of %q recorded, want 1", dropped, droppedCaseName)
	}
}

// checkNarration: the analysis is the model's words (a labelled hypothesis per cluster),
// or the rules' with the model's failure as the reason.
func checkNarration(t *testing.T, c *client, batchID string, down bool) {
	t.Helper()
	var a struct {
		Narrator       string
		Model          string
		FallbackReason string `json:"fallback_reason"`
		Analysis       struct {
			Narrative        string
			Narrator         string
			NarratorModel    string `json:"narrator_model"`
			NarratorFallback string `json:"narrator_fallback"`
			Clusters         []struct {
				Check      string
				Status     int
				Hypothesis struct{ Label, Text, By string }
			}
		}
	}
	c.call("GET", "/batches/"+batchID+"/analysis", nil, &a)
	if len(a.Analysis.Clusters) == 0 {
		t.Fatalf("analysis without clusters: %+v", a)
	}
	if down {
		if a.Narrator != "rules" || a.Analysis.Narrator != "rules" || !strings.HasPrefix(a.FallbackReason, "error: ") ||
			a.Analysis.Narrative == "" || a.Analysis.Narrative == fakeNarrative {
			t.Errorf("analysis %+v, want the rules' narrative with the model's error as the reason", a)
		}
		for _, cl := range a.Analysis.Clusters {
			if cl.Hypothesis.By != "rules" || cl.Hypothesis.Label == "" {
				t.Errorf("cluster %+v: want a labelled hypothesis by the rules", cl)
			}
		}
		return
	}
	if a.Narrator != "llm" || a.Model != "fake-model" || a.FallbackReason != "" || a.Analysis.Narrative != fakeNarrative ||
		a.Analysis.NarratorModel != "fake-model" {
		t.Errorf("analysis narrated by %q (%q, fallback %q): %q; want the fake model's narrative", a.Narrator, a.Model,
			a.FallbackReason, a.Analysis.Narrative)
	}
	labels := map[string]bool{}
	for _, cl := range a.Analysis.Clusters {
		h := cl.Hypothesis
		labels[h.Label] = true
		if h.By != "llm" || !strings.HasPrefix(h.Text, "fake hypothesis for ") || h.Label == "" {
			t.Errorf("cluster %s/%d: hypothesis %+v, want the fake model's, labelled", cl.Check, cl.Status, h)
		}
	}
	for _, l := range []string{"server_error", "content_type", "validation_missing"} { // exotic-500, list-content-type, the off-by-one
		if !labels[l] {
			t.Errorf("no cluster labelled %s: %v", l, labels)
		}
	}
}

// checkEmail: the report's own notification is skipped (the demo app has no notify_emails);
// asked for, the report is emailed: subject with the app, the batch and the pass rate,
// the HTML summary in the body, the HTML report attached, batch.notification_sent recorded.
func checkEmail(t *testing.T, c *client, box *testenv.SMTPServer, appID, batchID string, down bool) {
	t.Helper()
	type notification struct {
		Status, Reason string
		Recipients     []string
	}
	var r struct{ Notification *notification }
	waitFor(t, 10*time.Second, "the report's notification", func() bool {
		c.call("GET", "/batches/"+batchID+"/report", nil, &r)
		return r.Notification != nil
	})
	if n := *r.Notification; n.Status != "skipped" || n.Reason != "no recipients" {
		t.Errorf("the report's own notification = %+v, want skipped for no recipients", n)
	}
	if m := box.Messages(); len(m) != 0 {
		t.Fatalf("%d emails before one was asked for", len(m))
	}
	c.call("POST", "/batches/"+batchID+"/notifications", map[string]any{"emails": []string{"dev@example.test"}}, nil)
	waitFor(t, 15*time.Second, "the email", func() bool { return len(box.Messages()) > 0 })
	msgs := box.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"dev@example.test"}) || msgs[0].From != "assay@example.test" {
		t.Fatalf("emails %+v, want one from assay@example.test to dev@example.test", msgs)
	}
	var b struct{ Total, Passed int }
	c.call("GET", "/batches/"+batchID, nil, &b)
	subject, parts := readMail(t, msgs[0].Data)
	rate := strconv.FormatFloat(float64(b.Passed)*100/float64(b.Total), 'f', 1, 64)
	for _, want := range []string{"demo pet shop", batchID, fmt.Sprintf("%s%% passed (%d/%d)", rate, b.Passed, b.Total)} {
		if !strings.Contains(subject, want) {
			t.Errorf("subject %q lacks %q", subject, want)
		}
	}
	var body, report []byte
	for _, p := range parts {
		switch {
		case p.Type == "text/html" && p.Filename == "assay-report-"+batchID+".html":
			report = p.Body
		case p.Type == "text/html" && p.Filename == "":
			body = p.Body
		}
	}
	if !bytes.Contains(report, []byte("<html")) || !bytes.Contains(report, []byte(batchID)) {
		t.Errorf("no HTML report of %s attached (%d parts)", batchID, len(parts))
	}
	if !bytes.Contains(body, []byte(rate+"% passed")) {
		t.Errorf("the HTML summary lacks the pass rate: %s", body)
	}
	if narrated := bytes.Contains(body, []byte(fakeNarrative)); narrated == down {
		t.Errorf("the summary holds the model's narrative: %v, want %v", narrated, !down)
	}
	waitFor(t, 10*time.Second, "the notification sent", func() bool {
		c.call("GET", "/batches/"+batchID+"/report", nil, &r)
		return r.Notification != nil && r.Notification.Status == "sent"
	})
	if !slices.Equal(r.Notification.Recipients, []string{"dev@example.test"}) {
		t.Errorf("notification %+v, want sent to dev@example.test", *r.Notification)
	}
	evs := c.sse(t, "/events?app_id="+appID+"&after=0&types=batch.notification_*", func(evs []sseEvent) bool {
		return slices.ContainsFunc(evs, func(e sseEvent) bool { return e.Type == "batch.notification_sent" })
	})
	types := []string{}
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []string{"batch.notification_skipped", "batch.notification_requested", "batch.notification_sent"}) {
		t.Errorf("notification events %v, want skipped, requested, sent", types)
	}
}

// sseEvent is one event of GET /events: its type and its data (the domain event).
type sseEvent struct {
	Type string
	Data json.RawMessage
}

// sse reads GET path (an event stream) until enough says the events so far are enough, or 10 s.
func (c *client) sse(t *testing.T, path string, enough func([]sseEvent) bool) []sseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	var evs []sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ce struct {
			Type string
			Data json.RawMessage
		}
		if err := json.Unmarshal([]byte(data), &ce); err != nil {
			t.Fatalf("event %.200s: %v", data, err)
		}
		if evs = append(evs, sseEvent(ce)); enough(evs) {
			return evs
		}
	}
	t.Fatalf("GET %s: the stream ended (%v) with only %d events", path, sc.Err(), len(evs))
	return nil
}

// readMail answers a message's decoded subject and its leaf parts.
func readMail(t *testing.T, data []byte) (string, []testenv.MailPart) {
	t.Helper()
	msg, parts := testenv.ReadMail(t, data)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return subject, parts
}
