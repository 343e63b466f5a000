package assert

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Response is what came back (pure data; the runner fills it).
type Response struct {
	Status    int
	Headers   map[string][]string // canonical names
	Body      []byte
	LatencyMS float64
}

// Documented is an interface's documented answer for one status key ("200", "2XX", "default").
type Documented struct {
	ContentType string
	Schema      json.RawMessage // a JSON Schema; empty when none is documented
}

// Options tune Evaluate.
type Options struct {
	Responses map[string]Documented // the interface's documented responses (may be empty)
	Checks    []string              // default checks to run (see the Check* names)
	Schemas   *SchemaCache          // compiled schemas, shared (safe for concurrent use), may be nil
}

// Why an assertion cannot be evaluated. Evaluate's error wraps ErrCannotEvaluate and, for each
// assertion or check that could not be evaluated, one of the others (errors.Is finds them all).
var (
	ErrCannotEvaluate = errors.New("cannot evaluate")
	ErrBadAssertion   = errors.New("bad assertion")  // unknown target or op, or an op the target does not take
	ErrBadPath        = errors.New("bad gjson path") // body.<path> is not a well-formed gjson path
	ErrBadRegex       = errors.New("bad regex")      // match's value is not an RE2 regular expression
	ErrBadSchema      = errors.New("bad schema")     // an inline or documented schema does not compile
	ErrBadValue       = errors.New("bad value")      // the value is of the wrong kind for the op
	ErrUnknownCheck   = errors.New("unknown check")  // Options.Checks names a check that does not exist
	errInternal       = errors.New("internal error") // a recovered panic: a bug, reported instead of crashing
)

// Outcomes a case can end with (the runner adds "canceled").
const (
	OutcomePassed  = "passed"
	OutcomeFailed  = "failed"
	OutcomeErrored = "errored"
)

// evalError is Evaluate's error: ErrCannotEvaluate plus every reason.
type evalError struct{ reasons []error }

func (e *evalError) Error() string {
	parts := make([]string, len(e.reasons))
	for i, r := range e.reasons {
		parts[i] = r.Error()
	}
	return ErrCannotEvaluate.Error() + ": " + strings.Join(parts, "; ")
}

func (e *evalError) Unwrap() []error { return append([]error{ErrCannotEvaluate}, e.reasons...) }

// Evaluate checks every assertion and every enabled default check, in that order (checks in the
// order Options.Checks names them, each once). An assertion that cannot be evaluated (a bad gjson
// path, a bad regex, a schema that does not compile, a value of the wrong kind) yields an Evaluated
// with Passed=false and Error set, and Evaluate's error is non-nil (ErrCannotEvaluate wrapping the
// reasons): the case then ends "errored" with that reason. Evaluation goes on past such an assertion,
// so that every reason is reported. Evaluate never panics: a panic inside is recovered and reported
// as a reason (a bug to fix, not an outcome to rely on).
//
// Targets resolve to JSON values (numbers are float64):
//   - status, latency_ms: numbers, always present.
//   - header.<Name>: the header's first value, a string (the name is case-insensitive); present when
//     the response has the header. The ordering ops (gt gte lt lte) read it as a number.
//   - body: the body as text (a string), always present; exists means "is not empty". Only conforms
//     parses it as JSON. To compare the parsed document, use the gjson path body.@this.
//   - body.<path>: the value at the gjson path of the JSON body; missing when the path does not
//     exist or the body is not JSON.
//   - schema: the documented schema for the response's status (exact key, then "2XX", then
//     "default"); it takes only conforms, whose value is then ignored.
//
// Ops (a missing target fails every op but "exists false"; the value is checked first):
//   - eq, ne: deep JSON equality; kinds never convert, so "200" does not equal 200 (the message says so).
//   - gt, gte, lt, lte: the value must be a number; the target must be a number (else failed).
//   - in, nin: the value must be a list; the target equals one (none) of its elements.
//   - contains: a string target contains the value as a substring (the value must then be a string),
//     an array target has an element equal to the value, an object target has the value as a key.
//   - match: the value is an RE2 regex matched against the target's string form (a string as is,
//     anything else as its JSON text).
//   - exists: the value is absent or true (the target must exist) or false (it must not).
//   - type: the value is a JSON type name: string number integer boolean object array null
//     (an integer is a number too).
//   - length: the value is a non-negative whole number, the exact length of a string (in runes),
//     array (elements) or object (keys).
//   - conforms: the target validates against a JSON Schema: the documented one for target schema,
//     else the value, an inline schema (object or boolean). The body is parsed as JSON here.
func Evaluate(as []Assertion, r Response, opt Options) ([]Evaluated, error) {
	c := &evalCtx{r: r, opt: opt}
	out := make([]Evaluated, 0, len(as)+len(opt.Checks))
	var reasons []error
	for i, a := range as {
		ev, err := c.guard(a.Target, a.Op, func() (Evaluated, error) { return c.assertion(a) })
		if err != nil {
			reasons = append(reasons, fmt.Errorf("assertion %d (%s %s): %w", i, a.Target, a.Op, err))
		}
		out = append(out, ev)
	}
	var seen []string
	for _, name := range opt.Checks {
		if slices.Contains(seen, name) {
			continue
		}
		seen = append(seen, name)
		ev, err := c.guard(checkPrefix+name, checkOp, func() (Evaluated, error) { return c.check(name) })
		if err != nil {
			reasons = append(reasons, fmt.Errorf("check %s: %w", name, err))
		}
		out = append(out, ev)
	}
	if len(reasons) > 0 {
		return out, &evalError{reasons: reasons}
	}
	return out, nil
}

// Outcome is "errored" when Evaluate returned an error (or an Evaluated carries one), else "failed"
// if any evaluated failed, else "passed" (also for no assertions at all).
func Outcome(evals []Evaluated, err error) string {
	if err != nil {
		return OutcomeErrored
	}
	failed := false
	for _, e := range evals {
		if e.Error != "" {
			return OutcomeErrored
		}
		failed = failed || !e.Passed
	}
	if failed {
		return OutcomeFailed
	}
	return OutcomePassed
}

// evalCtx holds one response and what is derived from it lazily (the body's JSON validity and parse).
type evalCtx struct {
	r   Response
	opt Options

	jsonChecked bool
	jsonValid   bool
	docParsed   bool
	doc         any // the body parsed for jsonschema (json.Number numbers)
	docErr      error
}

func (c *evalCtx) bodyIsJSON() bool {
	if !c.jsonChecked {
		c.jsonChecked, c.jsonValid = true, gjson.ValidBytes(c.r.Body)
	}
	return c.jsonValid
}

// bodyDoc is the body parsed for schema validation, once per Evaluate.
func (c *evalCtx) bodyDoc() (any, error) {
	if !c.docParsed {
		c.docParsed = true
		c.doc, c.docErr = parseInstance(c.r.Body)
	}
	return c.doc, c.docErr
}

// guard turns a panic into an errored Evaluated.
func (c *evalCtx) guard(target, op string, f func() (Evaluated, error)) (ev Evaluated, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: panic: %v", errInternal, p)
			ev = Evaluated{Target: target, Op: op, Passed: false, Error: err.Error(),
				Message: target + " could not be evaluated: " + err.Error()}
		}
	}()
	return f()
}

// errored fills ev as an assertion that cannot be evaluated.
func errored(ev Evaluated, err error) (Evaluated, error) {
	ev.Passed = false
	ev.Error = err.Error()
	ev.Message = ev.Target + " " + ev.Op + " could not be evaluated: " + err.Error()
	return ev, err
}

func badValue(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadValue, fmt.Sprintf(format, args...))
}

// resolved is a target's value in a response.
type resolved struct {
	present bool
	value   any    // a JSON value: float64 string bool nil map[string]any []any
	raw     []byte // its JSON text when known (body, body.<path>), for conforms
	why     string // why it is missing, when that is not obvious ("the body is not JSON")
	header  bool   // a header: text that the ordering ops read as a number
}

func (c *evalCtx) resolve(target string) resolved {
	switch {
	case target == "status":
		return resolved{present: true, value: float64(c.r.Status)}
	case target == "latency_ms":
		return resolved{present: true, value: c.r.LatencyMS}
	case target == "body":
		return resolved{present: true, value: string(c.r.Body), raw: c.r.Body}
	case strings.HasPrefix(target, "header."):
		v, ok := c.header(strings.TrimPrefix(target, "header."))
		return resolved{present: ok, value: v, header: true}
	case strings.HasPrefix(target, "body."):
		if !c.bodyIsJSON() {
			return resolved{why: "the body is not JSON"}
		}
		res := gjson.GetBytes(c.r.Body, strings.TrimPrefix(target, "body."))
		if !res.Exists() {
			return resolved{}
		}
		v, err := decodeJSON([]byte(res.Raw))
		if err != nil {
			return resolved{present: true, value: res.Value()}
		}
		return resolved{present: true, value: v, raw: []byte(res.Raw)}
	}
	return resolved{}
}

// short is the value's JSON text for a message, from the raw JSON when known (no re-encoding).
func (g resolved) short() string {
	if _, isStr := g.value.(string); g.raw != nil && !isStr {
		return truncate(string(g.raw[:min(len(g.raw), 4*maxShort)]), maxShort)
	}
	return short(g.value)
}

// header is the first value of the named header, the name matched case-insensitively.
func (c *evalCtx) header(name string) (string, bool) {
	vs, ok := c.r.Headers[textproto.CanonicalMIMEHeaderKey(name)]
	if !ok {
		for k, v := range c.r.Headers {
			if strings.EqualFold(k, name) {
				vs, ok = v, true
				break
			}
		}
	}
	if !ok {
		return "", false
	}
	if len(vs) == 0 {
		return "", true
	}
	return vs[0], true
}

var typeNames = []string{"string", "number", "integer", "boolean", "object", "array", "null"}

// assertion evaluates one assertion.
func (c *evalCtx) assertion(a Assertion) (Evaluated, error) {
	ev := Evaluated{Target: a.Target, Op: a.Op}
	want, err := normalize(a.Value, 0)
	if err != nil {
		return errored(ev, badValue("%v", err))
	}
	ev.Expected = want
	switch {
	case !ValidTarget(a.Target):
		return errored(ev, fmt.Errorf("%w: unknown target %q", ErrBadAssertion, a.Target))
	case !slices.Contains(Ops, a.Op):
		return errored(ev, fmt.Errorf("%w: unknown op %q", ErrBadAssertion, a.Op))
	case a.Target == "schema" && a.Op != "conforms":
		return errored(ev, fmt.Errorf("%w: the schema target takes only conforms", ErrBadAssertion))
	}
	if p, ok := strings.CutPrefix(a.Target, "body."); ok {
		if err := checkPath(p); err != nil {
			return errored(ev, err)
		}
	}
	if a.Op == "conforms" {
		return c.conforms(ev, want)
	}
	// The value's kind, before the response is looked at.
	var re *regexp.Regexp
	wantMissing := false
	switch a.Op {
	case "eq", "ne", "contains":
		if want == nil && a.Op != "eq" && a.Op != "ne" {
			return errored(ev, badValue("%s needs a value", a.Op))
		}
	case "gt", "gte", "lt", "lte":
		if _, ok := want.(float64); !ok {
			return errored(ev, badValue("%s needs a number, got %s", a.Op, kindOf(want)))
		}
	case "in", "nin":
		if _, ok := want.([]any); !ok {
			return errored(ev, badValue("%s needs a list, got %s", a.Op, kindOf(want)))
		}
	case "match":
		s, ok := want.(string)
		if !ok {
			return errored(ev, badValue("match needs a regular expression (a string), got %s", kindOf(want)))
		}
		if re, err = regexp.Compile(s); err != nil {
			return errored(ev, fmt.Errorf("%w: %v", ErrBadRegex, err))
		}
	case "exists":
		switch w := want.(type) {
		case nil:
		case bool:
			wantMissing = !w
		default:
			return errored(ev, badValue("exists takes true, false or no value, got %s", kindOf(want)))
		}
	case "type":
		s, ok := want.(string)
		if !ok || !slices.Contains(typeNames, s) {
			return errored(ev, badValue("type needs one of %s, got %s", strings.Join(typeNames, " "), short(want)))
		}
	case "length":
		n, ok := want.(float64)
		if !ok || n < 0 || n != float64(int64(n)) {
			return errored(ev, badValue("length needs a non-negative whole number, got %s", short(want)))
		}
	}

	got := c.resolve(a.Target)
	if got.present {
		ev.Actual = display(got.value, got.raw)
	}
	if a.Op == "exists" {
		ev.Passed = got.present != wantMissing
		switch {
		case wantMissing && got.present:
			ev.Message = fmt.Sprintf("%s was %s, expected it not to exist", a.Target, got.short())
		case wantMissing:
			ev.Message = fmt.Sprintf("%s was missing, as expected", a.Target)
		case got.present:
			ev.Message = fmt.Sprintf("%s was %s, present as expected", a.Target, got.short())
		default:
			ev.Message = fmt.Sprintf("%s was missing%s, expected it to exist", a.Target, because(got.why))
		}
		if a.Target == "body" {
			ev.Passed = (len(c.r.Body) > 0) != wantMissing
			ev.Message = fmt.Sprintf("body had %d bytes, expected it %s", len(c.r.Body), map[bool]string{false: "not to be empty", true: "to be empty"}[wantMissing])
		}
		return ev, nil
	}
	if !got.present {
		ev.Message = fmt.Sprintf("%s was missing%s, expected %s", a.Target, because(got.why), phrase(a.Op, want))
		return ev, nil
	}
	ev.Passed, ev.Message = apply(a.Target, a.Op, want, got, re)
	return ev, nil
}

func because(why string) string {
	if why == "" {
		return ""
	}
	return " (" + why + ")"
}

// apply evaluates a value-checked op on a present target; it says whether it passed and why.
func apply(target, op string, want any, got resolved, re *regexp.Regexp) (bool, string) {
	v := got.value
	was := target + " was " + got.short()
	verdict := func(ok bool, extra string) (bool, string) {
		if ok {
			return true, was + ", as expected (" + phrase(op, want) + ")"
		}
		return false, was + ", expected " + phrase(op, want) + extra
	}
	switch op {
	case "eq", "ne":
		eq := jsonEqual(v, want)
		extra := ""
		if !eq && op == "eq" && kindOf(v) != kindOf(want) {
			extra = fmt.Sprintf(": %s never equals %s", kindOf(v), kindOf(want))
			if target == "body" {
				extra += " (body is the text; compare the parsed JSON with body.@this)"
			}
			if got.header {
				extra += " (header values are text)"
			}
		}
		if op == "ne" {
			return verdict(!eq, "")
		}
		return verdict(eq, extra)
	case "gt", "gte", "lt", "lte":
		n, ok := v.(float64)
		if s, isStr := v.(string); isStr && got.header {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			n, ok = f, err == nil
		}
		if !ok {
			return false, fmt.Sprintf("%s (%s, not a number), expected %s", was, kindOf(v), phrase(op, want))
		}
		w := want.(float64)
		var pass bool
		switch op {
		case "gt":
			pass = n > w
		case "gte":
			pass = n >= w
		case "lt":
			pass = n < w
		default:
			pass = n <= w
		}
		return verdict(pass, "")
	case "in", "nin":
		found := slices.ContainsFunc(want.([]any), func(e any) bool { return jsonEqual(v, e) })
		return verdict(found == (op == "in"), "")
	case "contains":
		switch t := v.(type) {
		case string:
			s, ok := want.(string)
			if !ok {
				return false, fmt.Sprintf("%s (a string), expected %s: only a string can be found in a string", was, phrase(op, want))
			}
			return verdict(strings.Contains(t, s), "")
		case []any:
			return verdict(slices.ContainsFunc(t, func(e any) bool { return jsonEqual(e, want) }), "")
		case map[string]any:
			k, ok := want.(string)
			if !ok {
				return false, fmt.Sprintf("%s (an object), expected %s: an object contains keys, which are strings", was, phrase(op, want))
			}
			_, has := t[k]
			return verdict(has, "")
		}
		return false, fmt.Sprintf("%s (%s), expected %s: only a string, array or object contains anything", was, kindOf(v), phrase(op, want))
	case "match":
		return verdict(re.MatchString(stringForm(v)), "")
	case "type":
		return verdict(hasType(v, want.(string)), " (it was "+kindOf(v)+")")
	case "length":
		var n int
		switch t := v.(type) {
		case string:
			n = utf8.RuneCountInString(t)
		case []any:
			n = len(t)
		case map[string]any:
			n = len(t)
		default:
			return false, fmt.Sprintf("%s (%s), expected %s: only a string, array or object has a length", was, kindOf(v), phrase(op, want))
		}
		ok := float64(n) == want.(float64)
		if ok {
			return true, fmt.Sprintf("%s had length %d, as expected", target, n)
		}
		return false, fmt.Sprintf("%s had length %d, expected length %s", target, n, short(want))
	}
	return false, "unknown op " + op
}

// phrase says what an op expects, for messages: "200", "> 5", "one of [1,2]".
func phrase(op string, want any) string {
	switch op {
	case "eq":
		return short(want)
	case "ne":
		return "not " + short(want)
	case "gt":
		return "> " + short(want)
	case "gte":
		return ">= " + short(want)
	case "lt":
		return "< " + short(want)
	case "lte":
		return "<= " + short(want)
	case "in":
		return "one of " + short(want)
	case "nin":
		return "none of " + short(want)
	case "contains":
		return "it to contain " + short(want)
	case "match":
		s, _ := want.(string)
		return "it to match /" + s + "/"
	case "type":
		s, _ := want.(string)
		return "type " + s
	case "length":
		return "length " + short(want)
	}
	return op + " " + short(want)
}

// checkPath rejects gjson paths that gjson would silently misread: empty, an empty component
// ("a..b", "a."), a dangling escape, or unbalanced (), [], {} or quotes. gjson itself never
// reports a bad path (it finds nothing), which would turn a typo into a plain failure.
func checkPath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrBadPath, p, why) }
	if p == "" {
		return bad("empty")
	}
	body := strings.TrimPrefix(p, "..") // JSON Lines: "..#", "..0"
	var stack []byte
	inStr := false
	compLen := 0
	for i := 0; i < len(body); i++ {
		ch := body[i]
		if ch == '\\' {
			if i+1 >= len(body) {
				return bad("it ends with a lone backslash")
			}
			i++
			compLen++
			continue
		}
		if inStr {
			if ch == '"' {
				inStr = false
			}
			compLen++
			continue
		}
		switch ch {
		case '"':
			if len(stack) > 0 {
				inStr = true
			}
		case '(', '[', '{':
			stack = append(stack, ch)
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[ch]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return bad(fmt.Sprintf("unbalanced %q at offset %d", ch, i))
			}
			stack = stack[:len(stack)-1]
		case '.', '|':
			if len(stack) == 0 {
				if compLen == 0 {
					return bad(fmt.Sprintf("empty component at offset %d", i))
				}
				compLen = 0
				continue
			}
		}
		compLen++
	}
	switch {
	case inStr:
		return bad("unterminated string")
	case len(stack) > 0:
		return bad(fmt.Sprintf("unclosed %q", stack[len(stack)-1]))
	case compLen == 0:
		return bad("empty last component")
	}
	return nil
}
