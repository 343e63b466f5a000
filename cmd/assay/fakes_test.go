package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeLLM is an OpenAI-compatible server (POST /chat/completions) standing in for the
// model of `assay dev --demo`: it answers the generation prompt (generate.v1) with cases
// written for the demo target's interface named in the prompt, and the narration prompt
// (narrate.v1) with a narrative and one labelled hypothesis per cluster of the facts.
// With down set, every call answers HTTP 500.
type fakeLLM struct {
	srv                  *httptest.Server
	down                 bool
	generations, narrate atomic.Int64
	mu                   sync.Mutex
	failures             []string // what the fake could not answer (the test reports them)
}

// fakeNarrative is the fake's narrative: no number, so the narrator's check passes it.
const fakeNarrative = "The fake model read the facts: the pet shop fails on exotic pets, " +
	"lists its pets with the wrong content type and accepts input it should refuse."

// fakeTokensIn and fakeTokensOut are the usage every answer reports.
const fakeTokensIn, fakeTokensOut = 1200, 345

func newFakeLLM(t *testing.T, down bool) *fakeLLM {
	f := &fakeLLM{down: down}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLLM) failed(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
}

func (f *fakeLLM) problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.failures)
}

// chatRequest is the part of an OpenAI chat request the fake reads; a message's content
// is a string or a list of parts.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

func (r chatRequest) text() string {
	var b strings.Builder
	for _, m := range r.Messages {
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			b.WriteString(s + "\n")
			continue
		}
		var parts []struct{ Text string }
		_ = json.Unmarshal(m.Content, &parts)
		for _, p := range parts {
			b.WriteString(p.Text + "\n")
		}
	}
	return b.String()
}

func (f *fakeLLM) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/chat/completions" || r.Header.Get("Authorization") != "Bearer test" {
		f.failed("unexpected call %s %s (auth %q)", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.failed("undecodable request: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	prompt := req.text()
	var content string
	switch {
	case strings.Contains(prompt, "# The interface"):
		f.generations.Add(1)
		content = f.cases(prompt)
	case strings.Contains(prompt, "# The facts"):
		f.narrate.Add(1)
		content = f.narration(prompt)
	default:
		f.failed("a prompt neither of generation nor of narration: %.200q", prompt)
		http.Error(w, "unknown prompt", http.StatusBadRequest)
		return
	}
	if f.down {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":{"message":"the fake model is down","type":"server_error"}}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-demo", "object": "chat.completion", "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
		"usage": map[string]any{"prompt_tokens": fakeTokensIn, "completion_tokens": fakeTokensOut,
			"total_tokens": fakeTokensIn + fakeTokensOut}})
}

// The prompt's rule line names the interface (the few-shot example names another one).
var promptInterface = regexp.MustCompile(`"request\.method" is (\S+) and "request\.path" is the path template (\S+) exactly`)

// droppedCaseName is the fake's invalid case: a "valid" case whose query breaks the schema.
const droppedCaseName = "limit 500 sold as valid"

// cases answers a generation prompt: for each demo interface a few cases, the invalid one
// among them; the GET /pets answer comes in a code fence, the POST /adoptions one in prose.
// The POST /pets cases catch three planted bugs themselves; the rules complete the
// classes left out (boundary, missing_required, null, format).
func (f *fakeLLM) cases(prompt string) string {
	m := promptInterface.FindStringSubmatch(prompt)
	if m == nil {
		f.failed("no interface in the generation prompt")
		return `{"cases":[]}`
	}
	req := func(method, path string, query, body any) map[string]any {
		r := map[string]any{"method": method, "path": path}
		if query != nil {
			r["query"] = query
		}
		if body != nil {
			r["body"] = body
		}
		return r
	}
	c := func(name, class, reason string, status int, request map[string]any) map[string]any {
		return map[string]any{"name": name, "class": class, "reason": reason, "request": request, "expected_status": status}
	}
	var list []map[string]any
	switch m[1] + " " + m[2] {
	case "GET /pets":
		list = []map[string]any{
			c("list the dogs", "valid", "every parameter valid", 200, req("GET", "/pets", map[string]any{"species": "dog", "limit": 10}, nil)),
			c("query.limit: at maximum 100", "boundary", "query.limit is exactly maximum 100", 200, req("GET", "/pets", map[string]any{"limit": 100}, nil)),
			c(droppedCaseName, "valid", "query.limit 500 is over maximum 100", 200, req("GET", "/pets", map[string]any{"limit": 500}, nil)),
		}
	case "POST /pets":
		list = []map[string]any{
			c("add a dog", "valid", "every field valid", 201, req("POST", "/pets", nil, map[string]any{"name": "Rex", "species": "dog", "age": 3})),
			c("body.name: 21 characters", "out_of_range", "body.name is 1 character over maxLength 20", 422,
				req("POST", "/pets", nil, map[string]any{"name": strings.Repeat("n", 21), "species": "dog"})),
			c("body.species: exotic", "enum", "body.species is the enum value exotic", 201,
				req("POST", "/pets", nil, map[string]any{"name": "Iggy", "species": "exotic"})),
			c("body.age: a string", "wrong_type", "body.age is a string where an integer is required", 422,
				req("POST", "/pets", nil, map[string]any{"name": "Rex", "species": "dog", "age": "three"})),
		}
	case "POST /adoptions":
		list = []map[string]any{
			c("adopt pet 1", "valid", "every field valid", 201,
				req("POST", "/adoptions", nil, map[string]any{"pet_id": 1, "adopter_name": "Ann Lee", "adopter_email": "ann@example.com"})),
			c("body.adopter_email: not an email", "format", "body.adopter_email breaks format email", 422,
				req("POST", "/adoptions", nil, map[string]any{"pet_id": 1, "adopter_name": "Ann Lee", "adopter_email": "ann.example.com"})),
		}
	default:
		f.failed("generation asked for an unknown interface %s %s", m[1], m[2])
		return `{"cases":[]}`
	}
	b, _ := json.Marshal(map[string]any{"cases": list})
	switch m[2] {
	case "/pets":
		if m[1] == "GET" {
			return "```json\n" + string(b) + "\n```"
		}
	case "/adoptions":
		return "Here are the cases:\n" + string(b) + "\nThey cover the valid request and the email format."
	}
	return string(b)
}

// narration answers a narration prompt: the narrative and, per cluster of the facts, a
// hypothesis labelled from the cluster's check and status.
func (f *fakeLLM) narration(prompt string) string {
	const from, to = "they are correct and final.\n\n", "\n\n\"clusters\" groups"
	i, j := strings.Index(prompt, from), strings.Index(prompt, to)
	var facts struct {
		Clusters []struct {
			Cluster   int    `json:"cluster"`
			Interface string `json:"interface"`
			Check     string `json:"check"`
			Status    int    `json:"status"`
		} `json:"clusters"`
	}
	if i < 0 || j < i || json.Unmarshal([]byte(prompt[i+len(from):j]), &facts) != nil {
		f.failed("no facts in the narration prompt")
		return `{"narrative":""}`
	}
	hyps := make([]map[string]any, 0, len(facts.Clusters))
	for _, c := range facts.Clusters {
		label := "validation_missing"
		switch {
		case c.Status >= 500 || strings.Contains(c.Check, "server_error"):
			label = "server_error"
		case strings.Contains(c.Check, "content_type"):
			label = "content_type"
		case strings.Contains(c.Check, "schema"):
			label = "schema_mismatch"
		case c.Status >= 400:
			label = "validation_too_strict"
		}
		hyps = append(hyps, map[string]any{"cluster": c.Cluster, "label": label,
			"text": "fake hypothesis for " + c.Interface + " failing " + c.Check})
	}
	b, _ := json.Marshal(map[string]any{"narrative": fakeNarrative, "hypotheses": hyps})
	return string(b)
}
