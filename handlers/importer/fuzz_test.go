package importer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/assay-dev/assay/handlers/importer"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(head30 + "paths:\n  /a/{x}:\n    get:\n      parameters: [{name: x, in: path, required: true, schema: {nullable: true, type: string}}]\n      responses: {'200': {description: ok}}\n"))
	f.Add([]byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/n":{"post":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/N"}}}},"responses":{"default":{"description":"x"}}}}},"components":{"schemas":{"N":{"type":["object","null"],"properties":{"a":{"$ref":"#/components/schemas/N"},"b":{"$ref":"#/components/schemas/N"}}}}}}`))
	f.Add([]byte(`{"info":{"schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[{"name":"a","request":{"method":"POST","url":"{{h}}/a/:b?c=d","body":{"mode":"raw","raw":"[{\"x\":{{v}}}]"}},"response":[{"code":201,"body":"{}"}]}]}`))
	f.Add([]byte("swagger: '2.0'\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := importer.Parse(context.Background(), body)
		if err != nil {
			var de *importer.DocumentError
			if !errors.As(err, &de) || de.Message == "" {
				t.Fatalf("error %v (%T) is not a *DocumentError with a message", err, err)
			}
			if res != nil {
				t.Fatal("a result with an error")
			}
			return
		}
		checkDefinitions(t, res)
	})
}
