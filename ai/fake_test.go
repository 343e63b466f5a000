package ai_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-dev/assay/ai"
)

// fakeLLM is an OpenAI-compatible server: each call to /chat/completions gets the next
// of answers (the last one repeats).
type fakeLLM struct {
	srv     *httptest.Server
	answers []answer
	calls   atomic.Int64
	lastReq atomic.Value // the last request body, map[string]any
}

// answer is one reply: a status other than 200 with an error body, a stall until the
// client gives up, or content after delay.
type answer struct {
	status  int
	stall   bool
	delay   time.Duration
	content string
}

func newFakeLLM(t testing.TB, answers ...answer) *fakeLLM {
	f := &fakeLLM{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/chat/completions" || r.Header.Get("Authorization") != "Bearer test-key" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.lastReq.Store(req)
		n := int(f.calls.Add(1)) - 1
		a := f.answers[min(n, len(f.answers)-1)]
		switch {
		case a.stall:
			select { // 30 s, or until the client hangs up
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
			return
		case a.status != 0 && a.status != http.StatusOK:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			_, _ = w.Write([]byte(`{"error":{"message":"the fake is down","type":"server_error"}}`))
			return
		}
		if a.delay > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(a.delay):
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "model": "fake",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": a.content}}},
			"usage": map[string]any{"prompt_tokens": 1200, "completion_tokens": 345, "total_tokens": 1545}})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// client is an ai.Client on the fake.
func (f *fakeLLM) client(t testing.TB, timeout time.Duration, conc int) *ai.Client {
	t.Helper()
	c, err := ai.NewClient(ai.Config{BaseURL: f.srv.URL, APIKey: "test-key", Model: "fake-model", Timeout: timeout,
		MaxConcurrency: conc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
