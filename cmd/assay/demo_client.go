package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

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
