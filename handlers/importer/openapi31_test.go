package importer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/assay-dev/assay/handlers/importer"
)

func TestOpenAPI31(t *testing.T) {
	t.Parallel()
	res := parseFile(t, "bookshop-3.1.json")
	if res.Format != importer.FormatOpenAPI31 || res.Title != "Bookshop" || !slices.Equal(res.Servers, []string{"https://books.example.com"}) {
		t.Errorf("format %q title %q servers %v", res.Format, res.Title, res.Servers)
	}
	if len(res.Interfaces) != 2 {
		t.Fatalf("%d interfaces", len(res.Interfaces))
	}
	get := find(t, res, "openapi:GET /books/{isbn}")
	isbn := `{"type":"string","pattern":"^[0-9]{13}$","examples":["9780131103627"]}`
	sameJSON(t, "path ($defs ref)", get.PathParams, `{"type":"object","required":["isbn"],"properties":{"isbn":`+isbn+`}}`)
	sameJSON(t, "query (type array)", get.Query, `{"type":"object","properties":{"lang":{"type":["string","null"],"enum":["en","fr",null]}}}`)
	book := get.Responses["200"].Schema
	equal(t, "isbn property", at(t, book, "properties.isbn"), isbn)
	equal(t, "subtitle", at(t, book, "properties.subtitle.type"), `["string","null"]`)
	equal(t, "numeric exclusiveMinimum", at(t, book, "properties.price"), `{"type":"number","exclusiveMinimum":0,"maximum":10000}`)
	equal(t, "const", at(t, book, "properties.currency"), `{"const":"EUR"}`)
	equal(t, "tuple", at(t, book, "properties.dimensions"), `{"type":"array","prefixItems":[{"type":"number"},{"type":"number"}],"items":false}`)
	equal(t, "$ref with a sibling description", at(t, book, "properties.author"), `{"type":"object","description":"Who wrote it",
		"properties":{"name":{"type":"string"},"born":{"type":["integer","null"],"minimum":0}}}`)
	if strings.Contains(string(book), "$defs") || strings.Contains(string(book), "$ref") {
		t.Errorf("schema is not self-contained: %s", book)
	}

	// A recursive schema is cut with {} after a few levels, with a warning.
	tree := find(t, res, "openapi:POST /categories")
	if tree.Name != "Create a category tree" {
		t.Errorf("name %q", tree.Name)
	}
	equal(t, "third level", at(t, tree.Body, "properties.children.items.properties.children.items.properties.children"), `{"type":"array","items":{}}`)
	for _, w := range [][]string{
		{"POST /categories", "recursive", "#/components/schemas/Category"},
		{"TRACE /books/{isbn}", "skipped", "method"},
		{"webhooks"},
	} {
		if !hasWarning(res, w...) {
			t.Errorf("no warning with %q in %q", w, res.Warnings)
		}
	}
}

// A document given twice converts the same way: source keys are stable.
func TestStableSourceKeys(t *testing.T) {
	t.Parallel()
	a, b := parseFile(t, "petstore.yaml"), parseFile(t, "petstore.yaml")
	for i := range a.Interfaces {
		if a.Interfaces[i].SourceKey != b.Interfaces[i].SourceKey || string(a.Interfaces[i].Body) != string(b.Interfaces[i].Body) {
			t.Errorf("interface %d differs between imports", i)
		}
	}
}
