package assert

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaCache holds compiled JSON Schemas keyed by the sha256 of their bytes, so that each schema
// is compiled once however many cases use it. It is bounded: past max entries the oldest goes.
// A schema that does not compile is cached too (with its error). Safe for concurrent use; a nil
// *SchemaCache compiles every time.
type SchemaCache struct {
	mu     sync.Mutex
	max    int
	m      map[[32]byte]compiled
	order  [][32]byte // insertion order, for eviction
	hits   atomic.Uint64
	misses atomic.Uint64
}

type compiled struct {
	sch *jsonschema.Schema
	err error
}

// DefaultSchemaCacheSize is NewSchemaCache's bound when given max <= 0.
const DefaultSchemaCacheSize = 1024

// NewSchemaCache makes a cache of at most max compiled schemas (DefaultSchemaCacheSize if max <= 0).
func NewSchemaCache(max int) *SchemaCache {
	if max <= 0 {
		max = DefaultSchemaCacheSize
	}
	return &SchemaCache{max: max, m: make(map[[32]byte]compiled)}
}

// Len is how many schemas the cache holds.
func (c *SchemaCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Stats are the cache's hits and misses (compilations) so far.
func (c *SchemaCache) Stats() (hits, misses uint64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}

// get compiles schema, or finds it compiled. Two goroutines missing at once may both compile; the
// results are the same.
func (c *SchemaCache) get(schema []byte) (*jsonschema.Schema, error) {
	if c == nil {
		return compileSchema(schema)
	}
	key := sha256.Sum256(schema)
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
		return e.sch, e.err
	}
	c.misses.Add(1)
	sch, err := compileSchema(schema)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok {
		for len(c.order) >= c.max {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.m[key] = compiled{sch, err}
		c.order = append(c.order, key)
	}
	return sch, err
}

const schemaURL = "https://schemas.assay.invalid/schema.json"

// noLoader refuses every external $ref: a schema is compiled from its own bytes only (no file
// or network access from a user's schema).
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external reference %q is not allowed", url)
}

// compileSchema compiles one JSON Schema (draft 2020-12 unless it says otherwise); the error wraps
// ErrBadSchema.
func compileSchema(schema []byte) (sch *jsonschema.Schema, err error) {
	defer func() {
		if p := recover(); p != nil {
			sch, err = nil, fmt.Errorf("%w: the compiler panicked: %v", ErrBadSchema, p)
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrBadSchema, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSchema, err)
	}
	sch, err = c.Compile(schemaURL)
	var sve *jsonschema.SchemaValidationError
	switch {
	case errors.As(err, &sve):
		return nil, fmt.Errorf("%w: not a valid JSON Schema: %s", ErrBadSchema, violations(sve.Err))
	case err != nil:
		return nil, fmt.Errorf("%w: %s", ErrBadSchema, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return sch, nil
}

// parseInstance parses a JSON value the way jsonschema validates it (json.Number numbers).
func parseInstance(b []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// validate checks v against sch; it answers "" when v conforms, else the violations.
func validate(sch *jsonschema.Schema, v any) (violation string) {
	defer func() {
		if p := recover(); p != nil {
			violation = fmt.Sprintf("the validator panicked: %v", p)
		}
	}()
	err := sch.Validate(v)
	if err == nil {
		return ""
	}
	return violations(err)
}

var gotWant = regexp.MustCompile(`^got (.+), want (.+)$`)

const maxViolations = 5

// violations turns a jsonschema error into "/name: expected string, got number; /age: …".
func violations(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	lines := strings.Split(ve.Error(), "\n")
	var out []string
	for _, l := range lines[1:] {
		l = strings.TrimPrefix(strings.TrimSpace(l), "- ")
		if rest, ok := strings.CutPrefix(l, "at '"); ok {
			if ptr, msg, ok := strings.Cut(rest, "': "); ok {
				if ptr == "" {
					ptr = "/"
				}
				if m := gotWant.FindStringSubmatch(msg); m != nil {
					msg = "expected " + m[2] + ", got " + m[1]
				}
				l = ptr + ": " + msg
			}
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return lines[0]
	}
	if len(out) > maxViolations {
		out = append(out[:maxViolations], fmt.Sprintf("and %d more", len(out)-maxViolations))
	}
	return strings.Join(out, "; ")
}

// documented finds the documented response for a status: the exact key ("404"), then its range
// ("4XX" or "4xx"), then "default". It answers the key it used.
func documented(rs map[string]Documented, status int) (string, Documented, bool) {
	exact := strconv.Itoa(status)
	keys := []string{exact}
	if status >= 100 && status <= 999 {
		keys = append(keys, exact[:1]+"XX", exact[:1]+"xx")
	}
	keys = append(keys, "default")
	for _, k := range keys {
		if d, ok := rs[k]; ok {
			return k, d, true
		}
	}
	return "", Documented{}, false
}

// hasSchema is true when a documented response carries a schema (not empty, not JSON null).
func hasSchema(d Documented) bool {
	s := bytes.TrimSpace(d.Schema)
	return len(s) > 0 && !bytes.Equal(s, []byte("null"))
}

// conforms is the conforms op: target schema against the documented schema, any other target
// against the inline schema in the value.
func (c *evalCtx) conforms(ev Evaluated, want any) (Evaluated, error) {
	var schema []byte
	what := "the schema"
	if ev.Target == "schema" {
		ev.Expected = nil
		key, doc, ok := documented(c.opt.Responses, c.r.Status)
		if !ok || !hasSchema(doc) {
			ev.Actual = float64(c.r.Status)
			ev.Message = fmt.Sprintf("no response schema is documented for status %d, so the body cannot conform to it", c.r.Status)
			return ev, nil
		}
		schema = doc.Schema
		what = "the documented schema"
		ev.Expected = "the schema documented for " + key
	} else {
		switch want.(type) {
		case map[string]any, bool:
		default:
			return errored(ev, badValue("conforms needs an inline JSON Schema (an object or a boolean), got %s", kindOf(want)))
		}
		schema = []byte(marshal(want))
	}
	sch, err := c.opt.Schemas.get(schema)
	if err != nil {
		return errored(ev, err)
	}
	name := ev.Target
	if name == "schema" {
		name = "body"
	}
	inst, why, ok := c.instance(ev.Target)
	if !ok {
		ev.Message = fmt.Sprintf("%s was missing%s, expected it to conform to %s", name, because(why), what)
		return ev, nil
	}
	if v := validate(sch, inst); v != "" {
		ev.Actual = v
		ev.Message = fmt.Sprintf("%s does not conform to %s: %s", name, what, v)
		return ev, nil
	}
	ev.Passed = true
	ev.Actual = "conforms"
	ev.Message = fmt.Sprintf("%s conforms to %s", name, what)
	return ev, nil
}

// instance is a target's value as jsonschema validates it.
func (c *evalCtx) instance(target string) (v any, why string, ok bool) {
	if target == "schema" || target == "body" {
		doc, err := c.bodyDoc()
		if err != nil {
			if len(c.r.Body) == 0 {
				return nil, "the body is empty", false
			}
			return nil, "the body is not JSON", false
		}
		return doc, "", true
	}
	got := c.resolve(target)
	if !got.present {
		return nil, got.why, false
	}
	raw := got.raw
	if raw == nil {
		raw = []byte(marshal(got.value))
	}
	v, err := parseInstance(raw)
	if err != nil {
		return nil, "it is not JSON", false
	}
	return v, "", true
}
