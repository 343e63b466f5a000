package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/assay-dev/assay/handlers/importer"
)

// fanOut is a document whose schema L0 refers to L1 four times, L1 to L2 four times, and so on:
// small, but 4^12 nodes once inlined.
func fanOut(operations int) string {
	var b strings.Builder
	b.WriteString(head30 + "paths:\n")
	for i := range operations {
		fmt.Fprintf(&b, "  /r%d:\n    get:\n      responses:\n        '200':\n          description: ok\n"+
			"          content: {application/json: {schema: {$ref: '#/components/schemas/L0'}}}\n", i)
	}
	b.WriteString("components:\n  schemas:\n")
	for i := range 12 {
		next := fmt.Sprintf("{$ref: '#/components/schemas/L%d'}", i+1)
		fmt.Fprintf(&b, "    L%d: {type: object, properties: {a: %s, b: %s, c: %s, d: %s}}\n", i, next, next, next, next)
	}
	b.WriteString("    L12: {type: string}\n")
	return b.String()
}

func TestSchemaSizeLimits(t *testing.T) {
	t.Parallel()
	res, err := importer.Parse(context.Background(), []byte(fanOut(1)))
	if err != nil {
		t.Fatal(err)
	}
	checkDefinitions(t, res)
	if !hasWarning(res, "GET /r0 response 200", "larger than") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if n := len(res.Interfaces[0].Responses["200"].Schema); n > 2<<20 {
		t.Errorf("schema of %d bytes", n)
	}

	_, err = importer.Parse(context.Background(), []byte(fanOut(60)))
	var de *importer.DocumentError
	if !errors.As(err, &de) || !strings.Contains(de.Message, "$ref") {
		t.Errorf("got %v, want a DocumentError about inlining", err)
	}
}
