package assert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds how deep normalize walks a value (JSON from the wire is bounded by encoding/json).
const maxDepth = 1000

// normalize turns an assertion's value into a plain JSON value: float64 string bool nil
// map[string]any []any. Go ints and json.Number become float64; anything else goes through JSON.
func normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("the value is nested too deeply")
	}
	switch t := v.(type) {
	case nil, string, bool:
		return t, nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", t)
		}
		return t, nil
	case float32:
		return normalize(float64(t), depth)
	case int:
		return float64(t), nil
	case int64:
		return float64(t), nil
	case int32:
		return float64(t), nil
	case uint:
		return float64(t), nil
	case uint64:
		return float64(t), nil
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", t.String())
		}
		return f, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("the value is not JSON: %v", err)
	}
	return decodeJSON(b)
}

// decodeJSON decodes one JSON value with float64 numbers.
func decodeJSON(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonEqual is deep equality of JSON values; kinds never convert ("200" != 200).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// kindOf names a JSON value's kind for messages: "a string", "a number", "null".
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case float64:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// hasType is the type op: JSON type names, where an integer is also a number.
func hasType(v any, name string) bool {
	switch t := v.(type) {
	case nil:
		return name == "null"
	case float64:
		return name == "number" || (name == "integer" && t == math.Trunc(t))
	case string:
		return name == "string"
	case bool:
		return name == "boolean"
	case []any:
		return name == "array"
	case map[string]any:
		return name == "object"
	}
	return false
}

// marshal is JSON text without HTML escaping.
func marshal(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// stringForm is what match reads: a string as is, anything else as its JSON text.
func stringForm(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return marshal(v)
}

const (
	maxShort   = 120  // runes of a value quoted in a message
	maxDisplay = 1024 // bytes of a string kept as an Evaluated's Actual
)

// short is a value's JSON text for a message, cut to maxShort runes.
func short(v any) string {
	return truncate(marshal(v), maxShort)
}

func truncate(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

// display is a value as kept in Evaluated.Actual: long strings (a whole body) are cut to
// maxDisplay bytes, and a large object or array is replaced by its cut JSON text, so that
// results stay small; the response itself is kept elsewhere, capped.
// raw, when known, is v's JSON text (its size is then not re-measured).
func display(v any, raw []byte) any {
	switch t := v.(type) {
	case string:
		if len(t) > maxDisplay {
			return truncate(t[:maxDisplay], maxDisplay) + fmt.Sprintf("… (%d bytes)", len(t))
		}
		return strings.ToValidUTF8(t, "\uFFFD")
	case []any, map[string]any:
		if raw != nil && len(raw) <= maxDisplay {
			return v
		}
		if s := marshal(t); len(s) > maxDisplay {
			return truncate(s[:maxDisplay], maxDisplay) + fmt.Sprintf("… (%d bytes)", len(s))
		}
	}
	return v
}
