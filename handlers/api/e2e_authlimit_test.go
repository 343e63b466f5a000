package api

import (
	"net/http"
	"testing"
)

// Password guessing is throttled per client address: past the budget, 429 with Retry-After.
func TestE2ELoginIsRateLimited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.AuthRate = 2 })
	limited := 0
	for range 20 {
		resp, _ := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"email": "who@example.com", "password": "guess1234"})
		switch resp.StatusCode {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited++
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if limited == 0 {
		t.Fatal("20 quick logins at 2/s were never limited")
	}
}
