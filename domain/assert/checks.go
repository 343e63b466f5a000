package assert

import (
	"fmt"
	"slices"
	"strings"
)

// The default checks Options.Checks may name. Each yields an Evaluated with Target "check.<name>"
// and Op "check". A check that does not apply (nothing documented to compare with) passes, and its
// message says it was skipped.
const (
	// CheckNotAServerError: the status is below 500.
	CheckNotAServerError = "not_a_server_error"
	// CheckStatusCodeConformance: the status is documented (exact, NXX range, or default).
	CheckStatusCodeConformance = "status_code_conformance"
	// CheckContentTypeConformance: the Content-Type's media type matches the documented one for the
	// status, ignoring parameters and case ("application/*" and "*/*" match as ranges).
	CheckContentTypeConformance = "content_type_conformance"
	// CheckResponseSchemaConformance: the body conforms to the documented schema of the status,
	// when there is one and the content type is JSON.
	CheckResponseSchemaConformance = "response_schema_conformance"
)

// Checks are every default check, in the order they are usually run.
var Checks = []string{CheckNotAServerError, CheckStatusCodeConformance, CheckContentTypeConformance, CheckResponseSchemaConformance}

const (
	checkPrefix = "check."
	checkOp     = "check"
)

func (c *evalCtx) check(name string) (Evaluated, error) {
	ev := Evaluated{Target: checkPrefix + name, Op: checkOp}
	switch name {
	case CheckNotAServerError:
		return c.notAServerError(ev), nil
	case CheckStatusCodeConformance:
		return c.statusConformance(ev), nil
	case CheckContentTypeConformance:
		return c.contentTypeConformance(ev), nil
	case CheckResponseSchemaConformance:
		return c.schemaConformance(ev)
	}
	return errored(ev, fmt.Errorf("%w %q (known: %s)", ErrUnknownCheck, name, strings.Join(Checks, ", ")))
}

func skipped(ev Evaluated, why string) Evaluated {
	ev.Passed = true
	ev.Message = "skipped: " + why
	return ev
}

func (c *evalCtx) notAServerError(ev Evaluated) Evaluated {
	ev.Expected, ev.Actual = "< 500", float64(c.r.Status)
	ev.Passed = c.r.Status < 500
	if ev.Passed {
		ev.Message = fmt.Sprintf("status was %d, not a server error", c.r.Status)
	} else {
		ev.Message = fmt.Sprintf("status was %d, a server error (expected < 500)", c.r.Status)
	}
	return ev
}

func (c *evalCtx) statusConformance(ev Evaluated) Evaluated {
	ev.Actual = float64(c.r.Status)
	if len(c.opt.Responses) == 0 {
		return skipped(ev, "the interface documents no responses")
	}
	keys := make([]string, 0, len(c.opt.Responses))
	for k := range c.opt.Responses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ev.Expected = strings.Join(keys, ", ")
	key, _, ok := documented(c.opt.Responses, c.r.Status)
	ev.Passed = ok
	switch {
	case !ok:
		ev.Message = fmt.Sprintf("status %d is not documented (documented: %s)", c.r.Status, ev.Expected)
	case key == "default":
		ev.Message = fmt.Sprintf("status %d is documented by the default response", c.r.Status)
	default:
		ev.Message = fmt.Sprintf("status %d is documented (as %q)", c.r.Status, key)
	}
	return ev
}

// mediaType is a Content-Type without its parameters, lower-case.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// mediaMatches compares an actual media type with a documented one, which may be a range.
func mediaMatches(actual, doc string) bool {
	if doc == "*/*" || actual == doc {
		return true
	}
	if typ, ok := strings.CutSuffix(doc, "/*"); ok {
		at, _, _ := strings.Cut(actual, "/")
		return at == typ
	}
	return false
}

// isJSON is true for application/json and any +json type (application/problem+json).
func isJSON(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func (c *evalCtx) contentTypeConformance(ev Evaluated) Evaluated {
	key, doc, ok := documented(c.opt.Responses, c.r.Status)
	switch {
	case !ok:
		return skipped(ev, fmt.Sprintf("no response is documented for status %d", c.r.Status))
	case mediaType(doc.ContentType) == "":
		return skipped(ev, fmt.Sprintf("no content type is documented for %q", key))
	case len(c.r.Body) == 0:
		return skipped(ev, "the body is empty")
	}
	want := mediaType(doc.ContentType)
	ev.Expected = want
	ct, has := c.header("Content-Type")
	if !has || mediaType(ct) == "" {
		ev.Message = fmt.Sprintf("the response has no Content-Type, expected %s (documented for %q)", want, key)
		return ev
	}
	got := mediaType(ct)
	ev.Actual = ct
	ev.Passed = mediaMatches(got, want)
	if ev.Passed {
		ev.Message = fmt.Sprintf("Content-Type was %s, as documented for %q", got, key)
	} else {
		ev.Message = fmt.Sprintf("Content-Type was %s, expected %s (documented for %q)", got, want, key)
	}
	return ev
}

func (c *evalCtx) schemaConformance(ev Evaluated) (Evaluated, error) {
	key, doc, ok := documented(c.opt.Responses, c.r.Status)
	if !ok || !hasSchema(doc) {
		return skipped(ev, fmt.Sprintf("no response schema is documented for status %d", c.r.Status)), nil
	}
	// The content type: the response's, else the documented one.
	mt := ""
	if ct, has := c.header("Content-Type"); has {
		mt = mediaType(ct)
	}
	if mt == "" {
		mt = mediaType(doc.ContentType)
	}
	if !isJSON(mt) {
		if mt == "" {
			return skipped(ev, "no content type, so the body is not known to be JSON"), nil
		}
		return skipped(ev, fmt.Sprintf("the content type %s is not JSON", mt)), nil
	}
	sch, err := c.opt.Schemas.get(doc.Schema)
	if err != nil {
		return errored(ev, fmt.Errorf("the schema documented for %q: %w", key, err))
	}
	ev.Expected = "the schema documented for " + key
	inst, why, ok := c.instance("body")
	if !ok {
		ev.Actual = why
		ev.Message = fmt.Sprintf("%s, expected it to conform to the schema documented for %q", why, key)
		return ev, nil
	}
	if v := validate(sch, inst); v != "" {
		ev.Actual = v
		ev.Message = fmt.Sprintf("body does not conform to the schema documented for %q: %s", key, v)
		return ev, nil
	}
	ev.Passed, ev.Actual = true, "conforms"
	ev.Message = fmt.Sprintf("body conforms to the schema documented for %q", key)
	return ev, nil
}
