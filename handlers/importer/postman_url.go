package importer

import (
	"encoding/json"
	"mime"
	"regexp"
	"strings"
)

// pmURLParts is what a request's url says: the path as a template, the host it was stripped of,
// the query parameters and the path variables by name.
type pmURLParts struct {
	path  string
	host  string
	query []pmKV
	vars  map[string]pmKV
}

type pmURL struct {
	Raw      string          `json:"raw"`
	Host     json.RawMessage `json:"host"`
	Path     json.RawMessage `json:"path"`
	Query    []pmKV          `json:"query"`
	Variable []pmKV          `json:"variable"`
}

var postmanVar = regexp.MustCompile(`\{\{([^{}]*)\}\}`)

// readURL reads a url, a string or an object. The host ({{baseUrl}}, https://api.example.com)
// is stripped; `:name` segments and {{name}} variables in the path become {name} templates.
func readURL(raw json.RawMessage) (pmURLParts, error) {
	var u pmURL
	if err := json.Unmarshal(raw, &u.Raw); err != nil && isSet(raw) {
		if err := json.Unmarshal(raw, &u); err != nil {
			return pmURLParts{}, err
		}
	}
	out := pmURLParts{vars: map[string]pmKV{}, query: u.Query}
	for _, v := range u.Variable {
		out.vars[v.Key] = v
	}
	rawPath, rawQuery, host := splitRaw(u.Raw)
	out.host = host
	if segs, ok := pathSegments(u.Path); ok {
		rawPath = "/" + strings.Join(segs, "/")
		if h := hostParts(u.Host); len(h) > 0 {
			out.host = strings.Join(h, ".")
		}
	}
	if u.Query == nil {
		out.query = parseQuery(rawQuery)
	}
	out.query = dropUnnamed(out.query)
	out.path = templatePath(rawPath)
	return out, nil
}

// splitRaw cuts a raw URL into its path, query and what came before the path.
func splitRaw(raw string) (path, query, host string) {
	raw = strings.TrimSpace(raw)
	raw, _, _ = strings.Cut(raw, "#")
	raw, query, _ = strings.Cut(raw, "?")
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	if strings.HasPrefix(raw, "/") {
		return raw, query, ""
	}
	i := strings.IndexByte(raw[start:], '/')
	if i < 0 {
		return "/", query, raw
	}
	return raw[start+i:], query, raw[:start+i]
}

// pathSegments reads a structured path: a string, or a list of strings and {value} objects.
func pathSegments(raw json.RawMessage) ([]string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.Split(strings.TrimPrefix(s, "/"), "/"), true
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || list == nil {
		return nil, false
	}
	segs := make([]string, 0, len(list))
	for _, item := range list {
		var obj struct {
			Value string `json:"value"`
		}
		if json.Unmarshal(item, &s) == nil {
			segs = append(segs, s)
		} else if json.Unmarshal(item, &obj) == nil {
			segs = append(segs, obj.Value)
		}
	}
	return segs, true
}

func hostParts(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var list []string
	_ = json.Unmarshal(raw, &list)
	return list
}

// templatePath turns `:id` segments and {{id}} variables into {id}.
func templatePath(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if len(s) > 1 && s[0] == ':' {
			s = "{" + s[1:] + "}"
		}
		segs[i] = postmanVar.ReplaceAllString(s, "{$1}")
	}
	p := strings.Join(segs, "/")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return encodePath(p)
}

func parseQuery(raw string) []pmKV {
	var out []pmKV
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		value, _ := json.Marshal(v)
		out = append(out, pmKV{Key: k, Value: value})
	}
	return out
}

func dropUnnamed(kvs []pmKV) []pmKV {
	out := kvs[:0:0]
	for _, kv := range kvs {
		if kv.Key != "" {
			out = append(out, kv)
		}
	}
	return out
}

// readHeaders reads a header list, or the raw "Name: value" lines a request may have instead.
func readHeaders(raw json.RawMessage) []pmKV {
	var list []pmKV
	if json.Unmarshal(raw, &list) == nil {
		return dropUnnamed(list)
	}
	var lines string
	if json.Unmarshal(raw, &lines) != nil {
		return nil
	}
	for line := range strings.SplitSeq(lines, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			value, _ := json.Marshal(strings.TrimSpace(v))
			list = append(list, pmKV{Key: strings.TrimSpace(k), Value: value})
		}
	}
	return dropUnnamed(list)
}

// str is a raw JSON value as a string: the string itself, or the JSON text of anything else.
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if !isSet(raw) {
		return ""
	}
	return string(raw)
}

// text reads a description: a string or {content, type}.
func text(raw json.RawMessage) string {
	var d struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &d) == nil {
		return d.Content
	}
	return str(raw)
}

// stringSchema is a string parameter's schema, with its description and example value (unless
// the value is a {{variable}} or the name looks like a credential's).
func stringSchema(kv pmKV) map[string]any {
	s := describe(map[string]any{"type": "string"}, kv)
	if v := str(kv.Value); v != "" && !postmanVar.MatchString(v) && !secretName.MatchString(kv.Key) {
		s["examples"] = []any{v}
	}
	return s
}

var secretName = regexp.MustCompile(`(?i)key|token|secret|passw|auth|signature|session|credential`)

func describe(s map[string]any, kv pmKV) map[string]any {
	if d := text(kv.Description); d != "" {
		s["description"] = d
	}
	return s
}

// validMediaType is mediaType when it parses, else "".
func validMediaType(mediaType string) string {
	if _, _, err := mime.ParseMediaType(mediaType); err != nil {
		return ""
	}
	return mediaType
}
