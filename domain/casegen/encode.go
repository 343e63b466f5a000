package casegen

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// encoder remembers the encoding of each object and array it wrote. The generator never
// changes a map or slice once built (setAt copies what it changes), so an unchanged
// subtree shared by many cases is encoded once.
type encoder map[ref][]byte

// ref identifies a map (by pointer) or a slice (by first element and length).
type ref struct {
	p uintptr
	n int
}

func (e encoder) append(b []byte, v any) []byte {
	var p ref
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return append(b, "{}"...)
		}
		p = ref{reflect.ValueOf(x).Pointer(), -1}
	case []any:
		if len(x) == 0 {
			return append(b, "[]"...)
		}
		p = ref{reflect.ValueOf(x).Pointer(), len(x)}
	default:
		return appendJSON(b, v, nil)
	}
	if enc, ok := e[p]; ok {
		return append(b, enc...)
	}
	start := len(b)
	b = appendJSON(b, v, e)
	e[p] = b[start:len(b):len(b)]
	return b
}

// appendJSON writes v as json.Marshal would, faster for the values the generator builds
// (maps, slices, strings, numbers, booleans, null); anything else goes to json.Marshal.
// Nested objects and arrays go through e when it is not nil.
func appendJSON(b []byte, v any, e encoder) []byte {
	sub := func(b []byte, v any) []byte {
		if e != nil {
			return e.append(b, v)
		}
		return appendJSON(b, v, nil)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.AppendInt(b, int64(x), 10)
		}
	case string:
		if plain(x) {
			b = append(b, '"')
			b = append(b, x...)
			return append(b, '"')
		}
	case map[string]any:
		b = append(b, '{')
		var arr [64]string
		keys := arr[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, k, nil)
			b = append(b, ':')
			b = sub(b, x[k])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, el := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = sub(b, el)
		}
		return append(b, ']')
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

// plain is true for a string json.Marshal writes unescaped.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
