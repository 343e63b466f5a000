package importer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/assay-dev/assay/domain/iface"
)

// methodOrder sorts the operations of one path the way documents usually list them.
var methodOrder = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "CONNECT", "QUERY"}

// parseOpenAPI loads, validates and converts an OpenAPI 3.0 or 3.1 document.
func parseOpenAPI(ctx context.Context, body []byte, format string) (*Result, error) {
	doc, err := loadOpenAPI(ctx, body)
	if err != nil {
		return nil, err
	}
	if n := countOperations(doc); n > MaxOperations {
		return nil, docErrorf("the document has %d operations; at most %d can be imported at once", n, MaxOperations)
	}
	res := &Result{}
	if doc.Info != nil {
		res.Title = doc.Info.Title
	}
	for _, s := range doc.Servers {
		if s != nil && s.URL != "" {
			res.Servers = append(res.Servers, s.URL)
		}
	}
	c := &oaConv{res: res}
	c.schemas = &schemaConv{openapi30: format == FormatOpenAPI30, warn: c.warnf}
	if len(doc.Webhooks) > 0 {
		c.warnf("webhooks are not imported (%d)", len(doc.Webhooks))
	}
	paths := doc.Paths.Map()
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("import openapi: %w", err)
		}
		if err := c.pathItem(path, paths[path]); err != nil {
			return nil, err
		}
	}
	res.Warnings = c.result()
	return res, nil
}

// loadOpenAPI parses the document, resolves its (document-local) $refs and validates it. External
// $refs (other files, URLs) are refused by the loader.
func loadOpenAPI(ctx context.Context, body []byte) (doc *openapi3.T, err error) {
	// kin-openapi is fed untrusted bytes here; a panic in it is a document it cannot read.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, docErrorf("the OpenAPI document cannot be read: %v", r)
		}
	}()
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err = loader.LoadFromData(body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("load openapi: %w", ctx.Err())
		}
		return nil, docErrorf("invalid OpenAPI document: %s", err)
	}
	// Examples and patterns are not held against the document: examples that drift from their
	// schema are common, and ECMA-262 patterns (lookaheads) do not compile as Go regexps.
	err = doc.Validate(ctx, openapi3.DisableExamplesValidation(), openapi3.DisableSchemaPatternValidation())
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("validate openapi: %w", ctx.Err())
		}
		return nil, docErrorf("invalid OpenAPI document: %s", err)
	}
	if doc.Paths == nil {
		return nil, docErrorf("invalid OpenAPI document: it has no paths")
	}
	return doc, nil
}

func countOperations(doc *openapi3.T) int {
	n := 0
	for _, item := range doc.Paths.Map() {
		if item != nil {
			n += len(item.Operations())
		}
	}
	return n
}

// oaConv converts the operations of one document.
type oaConv struct {
	res     *Result
	schemas *schemaConv
	warnings
}

func (c *oaConv) pathItem(path string, item *openapi3.PathItem) error {
	if item == nil {
		return nil
	}
	ops := item.Operations()
	methods := slices.SortedFunc(maps.Keys(ops), func(a, b string) int {
		return cmpIndex(methodOrder, a, b)
	})
	for _, method := range methods {
		d, ok, err := c.operation(path, method, item, ops[method])
		if err != nil {
			return err
		}
		if ok {
			c.res.Interfaces = append(c.res.Interfaces, d)
		}
	}
	return nil
}

// cmpIndex orders a and b by their place in order, unknown ones last and by name.
func cmpIndex(order []string, a, b string) int {
	ia, ib := slices.Index(order, a), slices.Index(order, b)
	if ia < 0 {
		ia = len(order)
	}
	if ib < 0 {
		ib = len(order)
	}
	if ia != ib {
		return ia - ib
	}
	return strings.Compare(a, b)
}

// operation converts one operation; ok is false when it was skipped (with a warning).
func (c *oaConv) operation(path, method string, item *openapi3.PathItem, op *openapi3.Operation) (iface.Definition, bool, error) {
	where := method + " " + path
	d := iface.Definition{
		Method:    method,
		Path:      encodePath(path),
		Source:    "openapi",
		SourceKey: "openapi:" + where,
	}
	d.Name, d.Description = names(op, where)
	if len(op.Callbacks) > 0 {
		c.warnf("%s: callbacks are not imported", where)
	}
	if err := c.parameters(&d, where, item.Parameters, op.Parameters); err != nil {
		return d, false, err
	}
	if err := c.requestBody(&d, where, op.RequestBody); err != nil {
		return d, false, err
	}
	if err := c.responses(&d, where, op.Responses); err != nil {
		return d, false, err
	}
	return d, c.check(&d, where), nil
}

// names picks the interface's name (operationId, summary, or "METHOD path") and description.
func names(op *openapi3.Operation, where string) (name, description string) {
	name = strings.TrimSpace(op.OperationID)
	if name == "" {
		name = strings.TrimSpace(op.Summary)
	}
	if name == "" {
		name = where
	}
	description = op.Description
	if description == "" && op.Summary != "" && op.Summary != name {
		description = op.Summary
	}
	return clip(name, 300), clip(description, 20000)
}

// check validates a definition; one that does not pass is skipped with a warning.
func (c *oaConv) check(d *iface.Definition, where string) bool {
	if err := d.Validate(); err != nil {
		c.warnf("%s: skipped: %s", where, err)
		return false
	}
	return true
}
