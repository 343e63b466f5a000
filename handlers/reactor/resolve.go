package reactor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
)

// varRef is a ${name} reference; the same grammar as testcase.Case.Variables.
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.-]{0,63})\}`)

// pathParam is a {name} placeholder of an interface path.
var pathParam = regexp.MustCompile(`\{([^{}/]+)\}`)

// Resolve freezes case c of the submitted batch into the request a runner executes:
// URL = environment base URL (its path prefix kept) + the case path with {params}
// substituted (path-escaped) + the query (arrays as repeated keys); headers = the
// environment's, then the case's (case wins, keys canonicalised); body = the case body as
// text. ${var} is substituted in path, path params, query, headers and body from the
// environment's variables first, then extracted (what other cases extracted). A ${var}
// neither provides, or a {param} without a value, is an error naming every one missing.
func Resolve(sub batch.Submitted, c testcase.Case, extracted map[string]string, at time.Time) (batch.CaseExecutionRequested, error) {
	r := resolver{env: sub.Environment.Variables, extracted: extracted}
	ref, ok := interfaceRef(sub.Interfaces, c.InterfaceID)
	if !ok {
		return batch.CaseExecutionRequested{}, fmt.Errorf("case %q: interface %q is not frozen in batch %q", c.ID, c.InterfaceID, sub.BatchID)
	}
	base, err := url.Parse(sub.Environment.BaseURL)
	if err != nil || base.Host == "" {
		return batch.CaseExecutionRequested{}, fmt.Errorf("case %q: environment %q: base URL %q is not an absolute URL", c.ID, sub.Environment.Name, sub.Environment.BaseURL)
	}
	path := r.path(c.Request.Path, c.Request.PathParams)
	query := r.query(c.Request.Query)
	headers := make(map[string]string, len(sub.Environment.Headers)+len(c.Request.Headers)+1)
	for _, h := range []map[string]string{sub.Environment.Headers, c.Request.Headers} {
		for _, k := range sortedKeys(h) {
			headers[http.CanonicalHeaderKey(k)] = r.text(h[k])
		}
	}
	body := r.text(string(c.Request.Body))
	if err := r.err(); err != nil {
		return batch.CaseExecutionRequested{}, fmt.Errorf("case %q: %w", c.ID, err)
	}
	if body != "" && headers["Content-Type"] == "" {
		headers["Content-Type"] = contentType(ref)
	}
	method := c.Request.Method
	if method == "" {
		method = ref.Method
	}
	u := base.Scheme + "://" + base.Host + strings.TrimRight(base.EscapedPath(), "/") + path
	if q := query.Encode(); q != "" {
		u += "?" + q
	}
	if len(headers) == 0 {
		headers = nil
	}
	return batch.CaseExecutionRequested{
		AppID: sub.AppID, BatchID: sub.BatchID, CaseID: c.ID, InterfaceID: c.InterfaceID,
		Request:    batch.HTTPRequest{Method: method, URL: u, Headers: headers, Body: body},
		Assertions: slices.Clone(c.Assertions), Extract: cloneMap(c.Extract),
		Checks: Checks(sub.Settings), Interface: ref, AllowHosts: AllowHosts(sub),
		TimeoutMS: sub.Settings.TimeoutMS, At: at,
		Concurrency: sub.Settings.Concurrency, RatePerSecond: sub.Settings.RatePerSecond,
	}, nil
}

// Checks are the default response checks minus those the batch disabled.
func Checks(s batch.Settings) []string {
	var out []string
	for _, c := range app.DefaultChecks {
		if !slices.Contains(s.DisabledChecks, c) {
			out = append(out, c)
		}
	}
	return out
}

// AllowHosts are the host names (lower case, without port) of every environment base URL
// a batch froze. A batch freezes one environment, so today that is its own host.
func AllowHosts(sub batch.Submitted) []string {
	var out []string
	for _, e := range []app.Environment{sub.Environment} {
		// host[:port] as written: the runner allows a port-less entry only on the scheme's
		// default port, so a base URL's explicit port must travel with its host.
		if u, err := url.Parse(e.BaseURL); err == nil && u.Hostname() != "" {
			if h := strings.ToLower(u.Host); !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}

func interfaceRef(refs []batch.InterfaceRef, id string) (batch.InterfaceRef, bool) {
	for _, r := range refs {
		if r.ID == id {
			return r, true
		}
	}
	return batch.InterfaceRef{}, false
}

func contentType(ref batch.InterfaceRef) string {
	if ref.ContentType != "" {
		return ref.ContentType
	}
	return "application/json"
}

// resolver substitutes ${var} and remembers every name it could not resolve.
type resolver struct {
	env, extracted map[string]string
	missing        []string
	params         []string
}

func (r *resolver) lookup(name string) (string, bool) {
	if v, ok := r.env[name]; ok {
		return v, true
	}
	v, ok := r.extracted[name]
	return v, ok
}

func (r *resolver) text(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := r.lookup(name)
		if !ok {
			if !slices.Contains(r.missing, name) {
				r.missing = append(r.missing, name)
			}
			return m
		}
		return v
	})
}

// path substitutes ${var} in the path (each value path-escaped) and then each {param}
// with its value (variables substituted, path-escaped).
func (r *resolver) path(p string, params map[string]any) string {
	p = varRef.ReplaceAllStringFunc(p, func(m string) string { return url.PathEscape(r.text(m)) })
	return pathParam.ReplaceAllStringFunc(p, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := params[name]
		if !ok {
			if !slices.Contains(r.params, name) {
				r.params = append(r.params, name)
			}
			return m
		}
		return url.PathEscape(r.text(scalarText(v)))
	})
}

func (r *resolver) query(q map[string]any) url.Values {
	out := url.Values{}
	for _, k := range sortedKeys(q) {
		if arr, ok := q[k].([]any); ok {
			for _, v := range arr {
				out.Add(k, r.text(scalarText(v)))
			}
			if len(arr) == 0 {
				out[k] = nil
			}
			continue
		}
		out.Add(k, r.text(scalarText(q[k])))
	}
	return out
}

func (r *resolver) err() error {
	var errs []error
	if len(r.missing) > 0 {
		errs = append(errs, fmt.Errorf("unresolved variable(s) ${%s}: neither the environment nor an earlier case provides them", strings.Join(r.missing, "}, ${")))
	}
	if len(r.params) > 0 {
		errs = append(errs, fmt.Errorf("path parameter(s) {%s} have no value", strings.Join(r.params, "}, {")))
	}
	return errors.Join(errs...)
}

// scalarText is a value as it goes on the wire in a path or query: strings as they are,
// null as empty, anything else as its JSON text (numbers, booleans, objects).
func scalarText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
