package ai

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
)

// errNoJSON is an answer without a JSON object or array in it.
var errNoJSON = errors.New("no JSON object or array in the answer")

// trailingCommas matches a comma before a closing bracket. It may match inside a string
// too; the result is used only when it is valid JSON, and a string such as ",]" in a case
// is rare enough for the repair attempt to cover.
var trailingCommas = regexp.MustCompile(`,\s*([}\]])`)

// extractJSON finds the answer's JSON: inside a code fence if there is one, else from the
// first '{' or '[' on, with prose around it dropped. A truncated document (the model hit
// its token limit) is repaired: the partial last element goes, the open strings, arrays
// and objects are closed. repaired says whether that was needed.
func extractJSON(text string) (doc []byte, repaired bool, err error) {
	s := unfence(text)
	start := strings.IndexAny(s, "{[")
	if start < 0 {
		return nil, false, errNoJSON
	}
	s = s[start:]
	if end, ok := valueEnd(s); ok {
		if v := []byte(s[:end]); json.Valid(v) {
			return v, false, nil
		}
		if v := trailingCommas.ReplaceAll([]byte(s[:end]), []byte("$1")); json.Valid(v) {
			return v, true, nil
		}
		return nil, false, errors.New("the answer's JSON is malformed")
	}
	if v, ok := repairTruncated(s); ok {
		return v, true, nil
	}
	return nil, false, errors.New("the answer's JSON is truncated beyond repair")
}

// unfence returns the body of the first ``` fence (```json or bare), or text.
func unfence(text string) string {
	i := strings.Index(text, "```")
	if i < 0 {
		return text
	}
	body := text[i+3:]
	if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.ContainsAny(body[:nl], "{[") {
		body = body[nl+1:] // the language tag
	}
	if j := strings.Index(body, "```"); j >= 0 {
		body = body[:j]
	}
	return body
}

// valueEnd is the end of the JSON value s starts with, when its brackets balance.
func valueEnd(s string) (int, bool) {
	depth, inStr, esc := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// cut is a place the document may be cut and closed: s[:at] + the closers of open.
type cut struct {
	at   int
	open string // the open brackets at that point
}

// repairTruncated closes a truncated document at the latest point where what comes before
// is whole: after a complete element (before a comma or a closing bracket) or just after
// an opening bracket. Cuts between the elements of the outer arrays (the cases) come
// first, so the partly written last case is dropped rather than kept half done.
func repairTruncated(s string) ([]byte, bool) {
	var cuts []cut
	var stack []byte
	inStr, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			stack = append(stack, c)
			cuts = append(cuts, cut{i + 1, string(stack)})
		case c == '}' || c == ']':
			if len(stack) == 0 {
				return nil, false
			}
			stack = stack[:len(stack)-1]
			cuts = append(cuts, cut{i + 1, string(stack)})
		case c == ',':
			cuts = append(cuts, cut{i, string(stack)})
		}
	}
	between := func(c cut) bool { return len(c.open) <= 2 && c.open != "" && c.open[len(c.open)-1] == '[' }
	if b, ok := closeAt(s, cuts, between); ok {
		return b, true
	}
	return closeAt(s, cuts, func(cut) bool { return true })
}

// closeAt closes s at the latest cut that keep accepts and that gives valid JSON.
func closeAt(s string, cuts []cut, keep func(cut) bool) ([]byte, bool) {
	for k := len(cuts) - 1; k >= 0; k-- {
		c := cuts[k]
		if !keep(c) {
			continue
		}
		b := []byte(strings.TrimRight(s[:c.at], " \t\r\n"))
		for j := len(c.open) - 1; j >= 0; j-- {
			if c.open[j] == '{' {
				b = append(b, '}')
			} else {
				b = append(b, ']')
			}
		}
		if json.Valid(b) {
			return b, true
		}
	}
	return nil, false
}
