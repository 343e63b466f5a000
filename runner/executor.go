// Package runner executes cases: it consumes execution requests (from RabbitMQ or straight
// from JetStream), sends the real HTTP request, evaluates the assertions and appends the
// result (DESIGN.md, "Execution").
//
// Executor sends one request and builds its result; Source delivers jobs (JetStreamSource
// here, a RabbitMQ source later with the same Handler); Runner executes jobs concurrently
// and appends their results in atomic batches, acknowledging each job only once its
// result is durable.
package runner

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
)

// Defaults of an executor.
const (
	DefaultMaxBodyBytes = 64 << 10
	DefaultTimeout      = 30 * time.Second
	MaxTimeout          = 5 * time.Minute
	DefaultUserAgent    = "assay-runner/1"
)

// ExecutorConfig tunes an Executor.
type ExecutorConfig struct {
	MaxBodyBytes         int64 // response body captured in the result; default 64 KiB
	AllowPrivateMetadata bool  // allow link-local and cloud metadata addresses (default refused)
	UserAgent            string
	// Schemas caches compiled response schemas across cases; default a new cache.
	Schemas *assert.SchemaCache
}

// Executor sends case requests. One Executor (one pooled transport) serves every case
// of a process; it is safe for concurrent use.
type Executor struct {
	cfg       ExecutorConfig
	schemas   *assert.SchemaCache
	transport *http.Transport
	client    *http.Client
}

// NewExecutor builds an executor with a transport pooled for thousands of concurrent
// requests. Proxies from the environment are ignored: a proxy would dial on the
// executor's behalf and bypass the address check.
func NewExecutor(cfg ExecutorConfig) *Executor {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	e := &Executor{cfg: cfg, schemas: cfg.Schemas}
	if e.schemas == nil {
		e.schemas = assert.NewSchemaCache(0)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: e.control}
	e.transport = &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           4096,
		MaxIdleConnsPerHost:    1024,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		// Every connection holds both buffers, idle or not (4 KB each by default): 1 KB
		// takes a request's headers, a body bigger than the buffer is written past it, and
		// the response is read through 2 KB.
		WriteBufferSize: 1 << 10,
		ReadBufferSize:  2 << 10,
	}
	e.client = &http.Client{
		Transport: e.transport,
		// A redirect is a response like any other: the case asserts on it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e
}

// Close releases idle connections.
func (e *Executor) Close() { e.transport.CloseIdleConnections() }

// Execute sends the case's request and returns its result; it never fails: whatever
// went wrong is the result's Error with Outcome errored. ctx bounds the request beyond
// the case's own timeout.
func (e *Executor) Execute(ctx context.Context, req batch.CaseExecutionRequested) batch.CaseExecuted {
	return e.conclude(req, e.roundTrip(ctx, req))
}

// exchange is a request's round trip: the result so far and, when a response arrived,
// what the assertions need of it.
type exchange struct {
	res    batch.CaseExecuted
	header http.Header
	body   []byte
	done   bool // res is final (errored before any assertion could run)
}

// roundTrip sends the request and reads the response: the waiting part of a case,
// split from conclude so that the many goroutines waiting on responses do not also run
// the deep evaluation (their stacks would stay grown: ~16 KB more each at 1,000 in
// flight, measured).
func (e *Executor) roundTrip(ctx context.Context, req batch.CaseExecutionRequested) exchange {
	x := exchange{res: batch.CaseExecuted{
		AppID: req.AppID, BatchID: req.BatchID, CaseID: req.CaseID, InterfaceID: req.InterfaceID,
		Request:    req.Request,
		Assertions: []assert.Evaluated{},
	}}
	errored := func(format string, args ...any) exchange {
		x.res.Outcome, x.res.Error, x.res.At = batch.Errored, fmt.Sprintf(format, args...), time.Now().UTC()
		x.done = true
		return x
	}

	u, err := url.Parse(req.Request.URL)
	if err != nil {
		return errored("invalid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errored("invalid URL %q: scheme must be http or https", req.Request.URL)
	}
	if u.Host == "" {
		return errored("invalid URL %q: no host", req.Request.URL)
	}
	if u.User != nil {
		return errored("invalid URL: credentials in the URL are not allowed")
	}
	if !hostAllowed(u, req.AllowHosts) {
		return errored("host %s is not allowed for this environment (allowed: %s)", u.Host, strings.Join(req.AllowHosts, ", "))
	}

	timeout := DefaultTimeout
	if req.TimeoutMS > 0 {
		timeout = min(time.Duration(req.TimeoutMS)*time.Millisecond, MaxTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := e.newRequest(ctx, req.Request, u)
	if err != nil {
		return errored("invalid request: %v", err)
	}

	start := time.Now()
	resp, err := e.client.Do(hreq)
	if err != nil {
		x.res.DurationMS = ms(time.Since(start))
		return errored("%s", transportError(err, timeout))
	}
	captured, truncated, err := readCapped(resp.Body, e.cfg.MaxBodyBytes)
	x.res.DurationMS = ms(time.Since(start))
	x.res.StatusCode = resp.StatusCode
	if err != nil {
		return errored("reading the response body: %s", transportError(err, timeout))
	}
	x.res.Response = batch.HTTPResponse{
		Status:        resp.StatusCode,
		Headers:       flatten(resp.Header),
		Body:          string(captured),
		BodyTruncated: truncated,
	}
	x.header, x.body = resp.Header, captured
	return x
}

// newRequest builds the HTTP request of a case whose URL was checked.
func (e *Executor) newRequest(ctx context.Context, r batch.HTTPRequest, u *url.URL) (*http.Request, error) {
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, "Host") {
			hreq.Host = v // virtual host only: the dialed address is still the URL's host
			continue
		}
		hreq.Header.Set(k, v)
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", e.cfg.UserAgent)
	}
	return hreq, nil
}

// conclude extracts the case's variables and evaluates its assertions on the response
// of roundTrip: CPU only, no waiting.
func (e *Executor) conclude(req batch.CaseExecutionRequested, x exchange) batch.CaseExecuted {
	res := x.res
	if x.done {
		return res
	}
	extracted, missing := extract(req.Extract, res.Response)
	if len(extracted) > 0 {
		res.Extracted = extracted
	}
	evals, outcome, evalErr := e.evaluate(req, x.header, x.body, res.StatusCode, res.DurationMS)
	res.Assertions = append(res.Assertions, evals...)
	res.Assertions = append(res.Assertions, missing...)
	res.Outcome = outcome
	if evalErr != nil {
		res.Error = evalErr.Error()
	}
	if len(missing) > 0 && res.Outcome == batch.Passed {
		res.Outcome = batch.Failed
	}
	res.At = time.Now().UTC()
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// readCapped reads up to limit bytes and says whether there was more. The rest is
// drained a little so that the connection can be reused, then dropped.
func readCapped(r io.ReadCloser, limit int64) ([]byte, bool, error) {
	defer r.Close()
	buf, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return buf, false, err
	}
	if int64(len(buf)) <= limit {
		return buf, false, nil
	}
	_, _ = io.CopyN(io.Discard, r, 256<<10)
	return buf[:limit], true, nil
}

// flatten keeps the first value of each header under its canonical name.
func flatten(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[http.CanonicalHeaderKey(k)] = v[0]
		}
	}
	return out
}
