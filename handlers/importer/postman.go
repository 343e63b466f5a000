package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/assay-dev/assay/domain/iface"
)

// Postman Collection v2.1, as far as the import reads it. Fields that the format lets be of
// several shapes are kept raw and read by the helpers in postman_parts.go.
type pmCollection struct {
	Info struct {
		Name string `json:"name"`
	} `json:"info"`
	Item []pmItem        `json:"item"`
	Auth json.RawMessage `json:"auth"`
}

type pmItem struct {
	Name        string          `json:"name"`
	Item        []pmItem        `json:"item"` // a folder's items
	Request     json.RawMessage `json:"request"`
	Response    []pmResponse    `json:"response"`
	Description json.RawMessage `json:"description"`
}

type pmRequest struct {
	Method      string          `json:"method"`
	URL         json.RawMessage `json:"url"`
	Header      json.RawMessage `json:"header"`
	Body        *pmBody         `json:"body"`
	Description json.RawMessage `json:"description"`
	Auth        json.RawMessage `json:"auth"`
}

type pmBody struct {
	Mode       string `json:"mode"`
	Raw        string `json:"raw"`
	URLEncoded []pmKV `json:"urlencoded"`
	FormData   []pmKV `json:"formdata"`
	Options    struct {
		Raw struct {
			Language string `json:"language"`
		} `json:"raw"`
	} `json:"options"`
}

// pmKV is a query parameter, header, path variable or form field.
type pmKV struct {
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value"`
	Type        string          `json:"type"`
	Disabled    bool            `json:"disabled"`
	Description json.RawMessage `json:"description"`
}

type pmResponse struct {
	Name   string          `json:"name"`
	Code   int             `json:"code"`
	Header json.RawMessage `json:"header"`
	Body   string          `json:"body"`
	Lang   string          `json:"_postman_previewlanguage"`
}

// pmConv converts the requests of one collection.
type pmConv struct {
	res  *Result
	keys map[string]bool // SourceKeys made
	warnings
}

func parsePostman(ctx context.Context, body []byte, top map[string]any) (*Result, error) {
	var coll pmCollection
	if !json.Valid(body) {
		// A collection written as YAML: go through its JSON form.
		b, err := json.Marshal(top)
		if err != nil {
			return nil, docErrorf("invalid Postman collection: %s", err)
		}
		body = b
	}
	if err := json.Unmarshal(body, &coll); err != nil {
		return nil, docErrorf("invalid Postman collection: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if n := countRequests(coll.Item); n > MaxOperations {
		return nil, docErrorf("the collection has %d requests; at most %d can be imported at once", n, MaxOperations)
	}
	c := &pmConv{res: &Result{Title: coll.Info.Name}, keys: map[string]bool{}}
	if isSet(coll.Auth) {
		c.warnf("the collection's auth settings are not imported: put credentials in the app's environment headers")
	}
	if err := c.items(ctx, coll.Item, nil); err != nil {
		return nil, err
	}
	c.res.Warnings = c.result()
	return c.res, nil
}

func countRequests(items []pmItem) int {
	n := 0
	for _, it := range items {
		if isSet(it.Request) {
			n++
		}
		n += countRequests(it.Item)
	}
	return n
}

func isSet(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && string(t) != "null"
}

// items flattens folders: a request's name is its folders' names and its own, joined with " / ".
func (c *pmConv) items(ctx context.Context, items []pmItem, folders []string) error {
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("import postman: %w", err)
		}
		names := append(slices.Clone(folders), strings.TrimSpace(it.Name))
		if !isSet(it.Request) {
			if it.Item == nil {
				c.warnf("%q is neither a request nor a folder and was skipped", strings.Join(names, " / "))
			}
			if err := c.items(ctx, it.Item, names); err != nil {
				return err
			}
			continue
		}
		if d, ok := c.request(it, names); ok {
			c.res.Interfaces = append(c.res.Interfaces, d)
		}
	}
	return nil
}

// request converts one request; ok is false when it was skipped (with a warning).
func (c *pmConv) request(it pmItem, names []string) (iface.Definition, bool) {
	label := strings.Join(slices.DeleteFunc(names, func(s string) bool { return s == "" }), " / ")
	req, err := decodeRequest(it.Request)
	if err != nil {
		c.warnf("%q: skipped: the request is not a Postman request: %s", label, err)
		return iface.Definition{}, false
	}
	method := strings.ToUpper(strings.TrimSpace(req.Method))
	if method == "" {
		method = "GET"
	}
	if !isSet(req.URL) {
		c.warnf("%q: skipped: the request has no url", label)
		return iface.Definition{}, false
	}
	u, err := readURL(req.URL)
	if err != nil {
		c.warnf("%q: skipped: its url cannot be read: %s", label, err)
		return iface.Definition{}, false
	}
	if u.host != "" && !slices.Contains(c.res.Servers, u.host) {
		c.res.Servers = append(c.res.Servers, u.host)
	}
	where := method + " " + u.path
	d := iface.Definition{
		Name:        clip(cmpOr(label, where), 300),
		Method:      method,
		Path:        u.path,
		Description: clip(cmpOr(text(req.Description), text(it.Description)), 20000),
		Source:      "postman",
		SourceKey:   "postman:" + where,
	}
	if c.keys[d.SourceKey] {
		c.warnf("%q: skipped: another request of the collection is already %s", label, where)
		return d, false
	}
	if isSet(req.Auth) {
		c.warnf("%q: auth settings are not imported: put credentials in the app's environment headers", label)
	}
	c.fill(&d, req, u, it.Response, label)
	if err := d.Validate(); err != nil {
		c.warnf("%q: skipped: %s", label, err)
		return d, false
	}
	c.keys[d.SourceKey] = true
	return d, true
}

// fill sets the parameters, body and responses of d.
func (c *pmConv) fill(d *iface.Definition, req pmRequest, u pmURLParts, examples []pmResponse, label string) {
	path := &objectSchema{}
	for _, name := range iface.PathParamNames(d.Path) {
		path.add(name, stringSchema(u.vars[name]), true)
	}
	query := &objectSchema{}
	for _, q := range u.query {
		query.add(q.Key, stringSchema(q), false)
	}
	headers := &objectSchema{}
	for _, h := range readHeaders(req.Header) {
		switch strings.ToLower(h.Key) {
		case "content-type":
			d.ContentType = validMediaType(str(h.Value))
		case "authorization", "cookie":
			c.warnf("%q: header %s is not imported: put credentials in the app's environment headers", label, h.Key)
		default:
			headers.add(h.Key, describe(map[string]any{"type": "string"}, h), false)
		}
	}
	// The objects hold only strings, so encoding them cannot fail.
	d.PathParams, _ = path.raw()
	d.Query, _ = query.raw()
	d.Headers, _ = headers.raw()
	if req.Body != nil {
		schema, contentType := c.body(req.Body, label)
		if schema != nil {
			d.Body, _ = marshalSchema(schema)
		}
		if d.ContentType == "" {
			d.ContentType = contentType
		}
	}
	d.Responses = c.responses(examples, label)
}

func decodeRequest(raw json.RawMessage) (pmRequest, error) {
	var req pmRequest
	var url string
	if json.Unmarshal(raw, &url) == nil {
		// A request may be just its URL.
		req.URL, _ = json.Marshal(url)
		return req, nil
	}
	err := json.Unmarshal(raw, &req)
	return req, err
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
