package assert_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/assay-dev/assay/domain/assert"
)

// resp is a JSON response used across the tables.
var resp = assert.Response{
	Status:    200,
	LatencyMS: 123.5,
	Headers: map[string][]string{
		"Content-Type":   {"application/json; charset=utf-8"},
		"X-Request-Id":   {"abc-123", "second"},
		"Content-Length": {"87"},
	},
	Body: []byte(`{"id":"42","name":"Ada","age":36,"ratio":0.5,"admin":false,"nick":null,` +
		`"tags":["a","b"],"meta":{"k":1},"uni":"héllo","items":[{"id":1},{"id":2}]}`),
}

var schema200 = json.RawMessage(`{"type":"object","required":["id","name"],"properties":{"id":{"type":"string"},"name":{"type":"string"},"age":{"type":"integer"}}}`)

type evalCase struct {
	name    string
	a       assert.Assertion
	pass    bool
	errIs   error  // non-nil: the assertion cannot be evaluated
	message string // a substring of the message
}

func runEvalCases(t *testing.T, r assert.Response, opt assert.Options, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := assert.Evaluate([]assert.Assertion{c.a}, r, opt)
			if len(evs) != 1 {
				t.Fatalf("got %d evaluated, want 1", len(evs))
			}
			ev := evs[0]
			if ev.Target != c.a.Target || ev.Op != c.a.Op {
				t.Errorf("evaluated %s %s, want %s %s", ev.Target, ev.Op, c.a.Target, c.a.Op)
			}
			if ev.Message == "" {
				t.Error("no message")
			}
			if c.message != "" && !strings.Contains(ev.Message, c.message) {
				t.Errorf("message %q does not contain %q", ev.Message, c.message)
			}
			if c.errIs != nil {
				if !errors.Is(err, assert.ErrCannotEvaluate) || !errors.Is(err, c.errIs) {
					t.Fatalf("err = %v, want ErrCannotEvaluate and %v", err, c.errIs)
				}
				if ev.Passed || ev.Error == "" {
					t.Errorf("evaluated %+v: want Passed=false and Error set", ev)
				}
				if got := assert.Outcome(evs, err); got != assert.OutcomeErrored {
					t.Errorf("Outcome = %s, want errored", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if ev.Error != "" {
				t.Errorf("Error = %q, want none", ev.Error)
			}
			if ev.Passed != c.pass {
				t.Errorf("Passed = %v, want %v (message %q)", ev.Passed, c.pass, ev.Message)
			}
			want := map[bool]string{true: assert.OutcomePassed, false: assert.OutcomeFailed}[c.pass]
			if got := assert.Outcome(evs, err); got != want {
				t.Errorf("Outcome = %s, want %s", got, want)
			}
		})
	}
}

func a(target, op string, v any) assert.Assertion {
	return assert.Assertion{Target: target, Op: op, Value: v}
}

func TestEvaluateOps(t *testing.T) {
	t.Parallel()
	opt := assert.Options{Responses: map[string]assert.Documented{"200": {ContentType: "application/json", Schema: schema200}}}
	runEvalCases(t, resp, opt, []evalCase{
		// eq / ne
		{"status eq", a("status", "eq", 200), true, nil, "status was 200"},
		{"status eq fails", a("status", "eq", 201.0), false, nil, "status was 200, expected 201"},
		{"status eq a string never equals", a("status", "eq", "200"), false, nil, "a number never equals a string"},
		{"status ne", a("status", "ne", 500), true, nil, ""},
		{"status ne fails", a("status", "ne", 200), false, nil, "expected not 200"},
		{"latency eq", a("latency_ms", "eq", 123.5), true, nil, ""},
		{"header eq", a("header.X-Request-Id", "eq", "abc-123"), true, nil, ""},
		{"header eq lower-case name", a("header.x-request-id", "eq", "abc-123"), true, nil, ""},
		{"header eq number is text", a("header.Content-Length", "eq", 87), false, nil, "header values are text"},
		{"header missing", a("header.X-Nope", "eq", "x"), false, nil, "header.X-Nope was missing"},
		{"body eq text", a("body", "eq", string(resp.Body)), true, nil, ""},
		{"body eq object hints @this", a("body", "eq", map[string]any{"id": "42"}), false, nil, "body.@this"},
		{"body path eq string", a("body.name", "eq", "Ada"), true, nil, ""},
		{"body path string vs number", a("body.id", "eq", 42), false, nil, "a string never equals a number"},
		{"body path eq deep object", a("body.meta", "eq", map[string]any{"k": 1}), true, nil, ""},
		{"body path eq deep array", a("body.tags", "eq", []any{"a", "b"}), true, nil, ""},
		{"body path eq array order matters", a("body.tags", "eq", []any{"b", "a"}), false, nil, ""},
		{"body path eq null", a("body.nick", "eq", nil), true, nil, ""},
		{"body path eq missing", a("body.nope", "eq", 1), false, nil, "body.nope was missing"},
		{"body this eq", a("body.@this", "eq", map[string]any{"x": 1}), false, nil, ""},
		{"body path query", a("body.items.#(id==2).id", "eq", 2), true, nil, ""},
		{"body path count", a("body.items.#", "eq", 2), true, nil, ""},
		// ordering
		{"status lt", a("status", "lt", 300), true, nil, ""},
		{"status gte", a("status", "gte", 200), true, nil, ""},
		{"status gt fails", a("status", "gt", 200), false, nil, "expected > 200"},
		{"latency lte fails", a("latency_ms", "lte", 100), false, nil, "latency_ms was 123.5, expected <= 100"},
		{"header gt parses numbers", a("header.Content-Length", "gt", 10), true, nil, ""},
		{"header gt not a number", a("header.X-Request-Id", "gt", 10), false, nil, "not a number"},
		{"body path gt", a("body.age", "gt", 30), true, nil, ""},
		{"body path gt on a string", a("body.name", "gt", 30), false, nil, "not a number"},
		{"gt with a string value", a("status", "gt", "100"), false, assert.ErrBadValue, "needs a number"},
		{"lt with no value", a("status", "lt", nil), false, assert.ErrBadValue, ""},
		// in / nin
		{"status in", a("status", "in", []any{200, 201}), true, nil, ""},
		{"status in fails", a("status", "in", []any{201.0, "200"}), false, nil, "one of"},
		{"status nin", a("status", "nin", []any{500}), true, nil, ""},
		{"status nin fails", a("status", "nin", []any{200}), false, nil, "none of"},
		{"body path in", a("body.name", "in", []any{"Ada", "Bob"}), true, nil, ""},
		{"in not a list", a("status", "in", 200), false, assert.ErrBadValue, "needs a list"},
		{"nin not a list", a("body.name", "nin", "Ada"), false, assert.ErrBadValue, ""},
		// contains
		{"body contains substring", a("body", "contains", `"Ada"`), true, nil, ""},
		{"header contains", a("header.Content-Type", "contains", "json"), true, nil, ""},
		{"string contains fails", a("body.name", "contains", "Bob"), false, nil, "to contain"},
		{"array contains element", a("body.tags", "contains", "b"), true, nil, ""},
		{"array contains object", a("body.items", "contains", map[string]any{"id": 2}), true, nil, ""},
		{"array contains fails", a("body.tags", "contains", "z"), false, nil, ""},
		{"object has key", a("body.meta", "contains", "k"), true, nil, ""},
		{"object has no key", a("body.meta", "contains", "z"), false, nil, ""},
		{"object contains a number", a("body.meta", "contains", 1), false, nil, "keys, which are strings"},
		{"number contains", a("body.age", "contains", 3), false, nil, "only a string, array or object"},
		{"string contains a number", a("body.name", "contains", 3), false, nil, "only a string"},
		{"contains missing", a("body.nope", "contains", "x"), false, nil, "missing"},
		{"contains without value", a("body", "contains", nil), false, assert.ErrBadValue, ""},
		// match
		{"body path match", a("body.name", "match", "^[A-Z][a-z]+$"), true, nil, ""},
		{"status match string form", a("status", "match", `^2\d\d$`), true, nil, ""},
		{"header match", a("header.Content-Type", "match", "(?i)^application/json"), true, nil, ""},
		{"body match", a("body", "match", `"age":\d+`), true, nil, ""},
		{"object match its JSON", a("body.meta", "match", `"k":1`), true, nil, ""},
		{"match fails", a("body.name", "match", "^b"), false, nil, "to match /^b/"},
		{"bad regex", a("body.name", "match", "(unclosed"), false, assert.ErrBadRegex, "missing closing )"},
		{"regex not a string", a("body.name", "match", 5), false, assert.ErrBadValue, ""},
		// exists
		{"header exists", a("header.Content-Type", "exists", nil), true, nil, "present"},
		{"header not exists", a("header.X-Nope", "exists", false), true, nil, "missing, as expected"},
		{"header exists fails", a("header.X-Nope", "exists", true), false, nil, "header.X-Nope was missing, expected it to exist"},
		{"body path exists", a("body.name", "exists", nil), true, nil, ""},
		{"body path null exists", a("body.nick", "exists", nil), true, nil, ""},
		{"body path missing", a("body.nope", "exists", nil), false, nil, "body.nope was missing, expected it to exist"},
		{"body path must not exist", a("body.name", "exists", false), false, nil, "expected it not to exist"},
		{"body exists", a("body", "exists", nil), true, nil, ""},
		{"status exists", a("status", "exists", nil), true, nil, ""},
		{"exists with a string", a("body.name", "exists", "yes"), false, assert.ErrBadValue, ""},
		// type
		{"type string", a("body.name", "type", "string"), true, nil, ""},
		{"type integer", a("body.age", "type", "integer"), true, nil, ""},
		{"type integer is a number", a("body.age", "type", "number"), true, nil, ""},
		{"type not integer", a("body.ratio", "type", "integer"), false, nil, "expected type integer"},
		{"type boolean", a("body.admin", "type", "boolean"), true, nil, ""},
		{"type null", a("body.nick", "type", "null"), true, nil, ""},
		{"type object", a("body.meta", "type", "object"), true, nil, ""},
		{"type array", a("body.tags", "type", "array"), true, nil, ""},
		{"type mismatch says the kind", a("body.id", "type", "number"), false, nil, "it was a string"},
		{"status type", a("status", "type", "integer"), true, nil, ""},
		{"header type", a("header.Content-Length", "type", "string"), true, nil, ""},
		{"type missing", a("body.nope", "type", "string"), false, nil, "missing"},
		{"type unknown name", a("body.name", "type", "str"), false, assert.ErrBadValue, "type needs one of"},
		// length
		{"string length in runes", a("body.uni", "length", 5), true, nil, ""},
		{"array length", a("body.tags", "length", 2), true, nil, ""},
		{"object length", a("body.meta", "length", 1), true, nil, ""},
		{"length fails", a("body.tags", "length", 3), false, nil, "body.tags had length 2, expected length 3"},
		{"header length", a("header.X-Request-Id", "length", 7), true, nil, ""},
		{"number has no length", a("body.age", "length", 2), false, nil, "only a string, array or object has a length"},
		{"length negative", a("body.tags", "length", -1), false, assert.ErrBadValue, ""},
		{"length fraction", a("body.tags", "length", 1.5), false, assert.ErrBadValue, ""},
		{"length object form", a("body.tags", "length", map[string]any{"gte": 1}), false, assert.ErrBadValue, ""},
		// conforms
		{"schema conforms", a("schema", "conforms", nil), true, nil, "conforms to the documented schema"},
		{"body conforms inline", a("body", "conforms", map[string]any{"type": "object", "required": []any{"id"}}), true, nil, ""},
		{"body conforms inline fails", a("body", "conforms", map[string]any{"type": "array"}), false, nil, "body does not conform to the schema: /: expected array, got object"},
		{"body path conforms", a("body.age", "conforms", map[string]any{"type": "integer", "minimum": 18}), true, nil, ""},
		{"body path conforms fails", a("body.name", "conforms", map[string]any{"type": "string", "maxLength": 2}), false, nil, "/: "},
		{"body path conforms missing", a("body.nope", "conforms", map[string]any{}), false, nil, "missing"},
		{"status conforms", a("status", "conforms", map[string]any{"enum": []any{200, 201}}), true, nil, ""},
		{"conforms boolean schema", a("body", "conforms", false), false, nil, ""},
		{"schema does not compile", a("body", "conforms", map[string]any{"type": 5}), false, assert.ErrBadSchema, "not a valid JSON Schema"},
		{"schema with a bad pattern", a("body", "conforms", map[string]any{"pattern": "("}), false, assert.ErrBadSchema, ""},
		{"schema with a remote ref", a("body", "conforms", map[string]any{"$ref": "file:///etc/passwd"}), false, assert.ErrBadSchema, "not allowed"},
		{"conforms without schema", a("body.name", "conforms", nil), false, assert.ErrBadValue, "inline JSON Schema"},
		{"conforms with a string", a("body.name", "conforms", "{}"), false, assert.ErrBadValue, ""},
		// shape
		{"bad gjson path empty component", a("body.a..b", "exists", nil), false, assert.ErrBadPath, "empty component"},
		{"bad gjson path unclosed query", a("body.items.#(id==1", "eq", 1), false, assert.ErrBadPath, "unclosed"},
		{"bad gjson path unbalanced", a("body.items]", "exists", nil), false, assert.ErrBadPath, "unbalanced"},
		{"bad gjson path trailing dot", a("body.a.", "exists", nil), false, assert.ErrBadPath, ""},
		{"bad gjson path lone backslash", a(`body.a\`, "exists", nil), false, assert.ErrBadPath, "backslash"},
		{"escaped dot is fine", a(`body.a\.b`, "exists", false), true, nil, ""},
		{"unknown op", a("status", "equals", 1), false, assert.ErrBadAssertion, "unknown op"},
		{"unknown target", a("cookie.x", "eq", 1), false, assert.ErrBadAssertion, "unknown target"},
		{"schema with eq", a("schema", "eq", 1), false, assert.ErrBadAssertion, "only conforms"},
		{"value not JSON", a("status", "eq", func() {}), false, assert.ErrBadValue, ""},
	})
}

func TestEvaluateOnANonJSONBody(t *testing.T) {
	t.Parallel()
	r := assert.Response{Status: 502, Headers: map[string][]string{"Content-Type": {"text/html"}}, Body: []byte("<h1>Bad gateway</h1>")}
	opt := assert.Options{Responses: map[string]assert.Documented{"default": {ContentType: "application/json", Schema: schema200}}}
	runEvalCases(t, r, opt, []evalCase{
		{"path missing", a("body.name", "exists", nil), false, nil, "the body is not JSON"},
		{"path must not exist", a("body.name", "exists", false), true, nil, ""},
		{"body contains", a("body", "contains", "Bad gateway"), true, nil, ""},
		{"body length", a("body", "length", 20), true, nil, ""},
		{"schema conforms", a("schema", "conforms", nil), false, nil, "the body is not JSON"},
		{"body conforms", a("body", "conforms", map[string]any{}), false, nil, "not JSON"},
	})
	runEvalCases(t, assert.Response{Status: 404}, assert.Options{}, []evalCase{
		{"no documented schema", a("schema", "conforms", nil), false, nil, "no response schema is documented for status 404"},
		{"empty body does not exist", a("body", "exists", nil), false, nil, "0 bytes"},
		{"empty body must not exist", a("body", "exists", false), true, nil, ""},
		{"empty body is an empty string", a("body", "eq", ""), true, nil, ""},
		{"no headers", a("header.Content-Type", "exists", false), true, nil, ""},
	})
}

func TestEvaluateReportsEveryReasonAndGoesOn(t *testing.T) {
	t.Parallel()
	as := []assert.Assertion{
		a("status", "eq", 200),
		a("body.name", "match", "("),
		a("body.name", "eq", "Bob"),
		a("body", "conforms", map[string]any{"type": "nope"}),
	}
	evs, err := assert.Evaluate(as, resp, assert.Options{Checks: []string{"not_a_server_error", "bogus", "not_a_server_error"}})
	if len(evs) != 6 {
		t.Fatalf("got %d evaluated, want 4 assertions + 2 checks (a repeated check runs once)", len(evs))
	}
	for _, want := range []error{assert.ErrCannotEvaluate, assert.ErrBadRegex, assert.ErrBadSchema, assert.ErrUnknownCheck} {
		if !errors.Is(err, want) {
			t.Errorf("err = %v, does not wrap %v", err, want)
		}
	}
	for _, s := range []string{"assertion 1 (body.name match)", "assertion 3 (body conforms)", `check bogus`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("err %q does not name %q", err, s)
		}
	}
	if !evs[0].Passed || evs[2].Passed || evs[2].Error != "" || evs[1].Error == "" {
		t.Errorf("evaluated = %+v", evs)
	}
	if got := assert.Outcome(evs, err); got != assert.OutcomeErrored {
		t.Errorf("Outcome = %s", got)
	}
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	pass := assert.Evaluated{Passed: true}
	fail := assert.Evaluated{}
	errd := assert.Evaluated{Error: "bad regex"}
	cases := []struct {
		evs  []assert.Evaluated
		err  error
		want string
	}{
		{nil, nil, "passed"},
		{[]assert.Evaluated{pass, pass}, nil, "passed"},
		{[]assert.Evaluated{pass, fail}, nil, "failed"},
		{[]assert.Evaluated{pass}, assert.ErrCannotEvaluate, "errored"},
		{[]assert.Evaluated{fail, errd}, nil, "errored"},
	}
	for _, c := range cases {
		if got := assert.Outcome(c.evs, c.err); got != c.want {
			t.Errorf("Outcome(%v, %v) = %s, want %s", c.evs, c.err, got, c.want)
		}
	}
}

func TestEvaluatedJSON(t *testing.T) {
	t.Parallel()
	evs, _ := assert.Evaluate([]assert.Assertion{a("status", "eq", 200), a("body.x", "match", "(")}, resp, assert.Options{})
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"target":"status","op":"eq","expected":200,"actual":200,"passed":true,"message":"status was 200, as expected (200)"},` +
		`{"target":"body.x","op":"match","expected":"(","passed":false,"message":"body.x match could not be evaluated: bad regex: error parsing regexp: missing closing ): ` + "`(`" + `","error":"bad regex: error parsing regexp: missing closing ): ` + "`(`" + `"}]`
	if string(b) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", b, want)
	}
}

func TestEvaluateCapsALongBodyInActual(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 10_000)
	evs, err := assert.Evaluate([]assert.Assertion{a("body", "eq", "y")}, assert.Response{Status: 200, Body: []byte(body)}, assert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := evs[0].Actual.(string)
	if len(s) > 1100 || !strings.Contains(s, "(10000 bytes)") {
		t.Errorf("Actual is %d bytes: %.60q", len(s), s)
	}
	if len(evs[0].Message) > 400 {
		t.Errorf("Message is %d bytes", len(evs[0].Message))
	}
}

func TestSchemaCacheCompilesOnceAndIsBounded(t *testing.T) {
	t.Parallel()
	cache := assert.NewSchemaCache(2)
	opt := assert.Options{Schemas: cache, Responses: map[string]assert.Documented{"200": {ContentType: "application/json", Schema: schema200}},
		Checks: []string{assert.CheckResponseSchemaConformance}}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			evs, err := assert.Evaluate([]assert.Assertion{a("schema", "conforms", nil)}, resp, opt)
			if err != nil || !evs[0].Passed || !evs[1].Passed {
				t.Errorf("Evaluate = %+v, %v", evs, err)
			}
		})
	}
	wg.Wait()
	if cache.Len() != 1 {
		t.Errorf("Len = %d, want 1", cache.Len())
	}
	hits, misses := cache.Stats()
	if hits+misses != 32 || misses > 16 {
		t.Errorf("hits %d misses %d", hits, misses)
	}
	for i := range 5 {
		_, _ = assert.Evaluate([]assert.Assertion{a("body", "conforms", map[string]any{"maxProperties": i})}, resp, opt)
	}
	if cache.Len() != 2 {
		t.Errorf("Len = %d, want the bound 2", cache.Len())
	}
	// A schema that does not compile is cached with its error.
	bad := assert.Options{Schemas: cache}
	for range 2 {
		if _, err := assert.Evaluate([]assert.Assertion{a("body", "conforms", map[string]any{"type": 1})}, resp, bad); !errors.Is(err, assert.ErrBadSchema) {
			t.Errorf("err = %v", err)
		}
	}
	if h2, _ := cache.Stats(); h2 == hits {
		t.Error("a bad schema was compiled twice")
	}
}
