package importer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// statusKey is what iface.Definition accepts as a response key.
var statusKey = regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)

// maxWarnings bounds the warnings of one import; the rest are counted.
const maxWarnings = 200

// warnings collects what an import skipped, each once.
type warnings struct {
	list []string
	seen map[string]bool
	more int
}

func (w *warnings) warnf(format string, args ...any) {
	s := clip(fmt.Sprintf(format, args...), 1000)
	if w.seen[s] {
		return
	}
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	w.seen[s] = true
	if len(w.list) >= maxWarnings {
		w.more++
		return
	}
	w.list = append(w.list, s)
}

func (w *warnings) result() []string {
	if w.more > 0 {
		return append(w.list, fmt.Sprintf("… and %d more warnings", w.more))
	}
	return w.list
}

// objectSchema gathers parameters as the properties of an object schema.
type objectSchema struct {
	props    map[string]any
	required []string
}

func (o *objectSchema) add(name string, schema any, required bool) {
	if o.props == nil {
		o.props = map[string]any{}
	}
	if _, dup := o.props[name]; !dup && required {
		o.required = append(o.required, name)
	}
	o.props[name] = schema
}

// raw is the object schema as JSON, or nil when there is no parameter.
func (o *objectSchema) raw() (json.RawMessage, error) {
	if len(o.props) == 0 {
		return nil, nil
	}
	s := map[string]any{"type": "object", "properties": o.props}
	if len(o.required) > 0 {
		s["required"] = o.required
	}
	return marshalSchema(s)
}

// marshalSchema encodes a converted schema. A value JSON cannot hold (a YAML map with non-string
// keys in an enum, say) makes the document unimportable.
func marshalSchema(s any) (json.RawMessage, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, docErrorf("a schema cannot be written as JSON: %s", err)
	}
	return b, nil
}

// clip makes s valid UTF-8 of at most max characters.
func clip(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// encodePath percent-encodes what a URL path cannot hold literally, outside {templates}.
func encodePath(path string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(path); i++ {
		ch := path[i]
		switch {
		case ch == '{':
			depth++
		case ch == '}' && depth > 0:
			depth--
		case depth == 0 && !pathByte(ch):
			fmt.Fprintf(&b, "%%%02X", ch)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func pathByte(ch byte) bool {
	switch {
	case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@%/", ch) >= 0
}
