package importer_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/assay-dev/assay/handlers/importer"
)

func TestPostmanCollection(t *testing.T) {
	t.Parallel()
	res := parseFile(t, "collection.json")
	if res.Format != importer.FormatPostman21 || res.Title != "Users API" {
		t.Errorf("format %q title %q", res.Format, res.Title)
	}
	if !slices.Equal(res.Servers, []string{"{{baseUrl}}", "https://api.example.com"}) {
		t.Errorf("servers %v", res.Servers)
	}
	var keys, names []string
	for _, d := range res.Interfaces {
		keys, names = append(keys, d.SourceKey), append(names, d.Name)
	}
	wantKeys := []string{"postman:GET /users", "postman:PUT /users/{userId}", "postman:POST /v1/login",
		"postman:GET /{version}/orders/{orderId}", "postman:GET /health"}
	wantNames := []string{"Users / List users", "Users / Admin / Update user", "Login", "Get order", "Health"}
	if !slices.Equal(keys, wantKeys) || !slices.Equal(names, wantNames) {
		t.Errorf("got %q %q", keys, names)
	}

	list := find(t, res, "postman:GET /users")
	sameJSON(t, "query", list.Query, `{"type":"object","properties":{
		"page":{"type":"string","description":"Page number","examples":["1"]},
		"per_page":{"type":"string","examples":["20"]},
		"api_key":{"type":"string"},
		"q":{"type":"string"}}}`)
	sameJSON(t, "headers (no Authorization)", list.Headers, `{"type":"object","properties":{
		"Accept":{"type":"string"},"X-Tenant":{"type":"string","description":"Tenant slug"}}}`)
	ok := list.Responses["200"]
	if ok.Description != "A page of users" || ok.ContentType != "application/json; charset=utf-8" {
		t.Errorf("200: %+v", ok)
	}
	sameJSON(t, "example response schema", ok.Schema, `{"type":"object","required":["items","next"],"properties":{
		"items":{"type":"array","items":{"type":"object","required":["email","id"],"properties":{
			"id":{"type":"integer"},"email":{"type":"string"}}}},
		"next":{}}}`)

	update := find(t, res, "postman:PUT /users/{userId}")
	if update.Method != "PUT" || update.ContentType != "application/json" || update.Description != "Replaces a user's profile." {
		t.Errorf("update: %+v", update)
	}
	sameJSON(t, "path variable", update.PathParams, `{"type":"object","required":["userId"],"properties":{
		"userId":{"type":"string","description":"The user's id","examples":["42"]}}}`)
	sameJSON(t, "inferred body", update.Body, `{"type":"object",
		"required":["address","admin","age","email","manager_id","nickname","score","tags"],
		"properties":{
			"email":{"type":"string"},"age":{"type":"integer"},"score":{"type":"number"},"admin":{"type":"boolean"},
			"manager_id":{},"nickname":{},
			"address":{"type":"object","required":["city","zip"],"properties":{"city":{"type":"string"},"zip":{"type":"string"}}},
			"tags":{"type":"array","items":{"type":"string"}}}}`)

	login := find(t, res, "postman:POST /v1/login")
	if login.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("login content type %q", login.ContentType)
	}
	sameJSON(t, "form", login.Body, `{"type":"object","properties":{"username":{"type":"string"},"password":{"type":"string"}}}`)

	order := find(t, res, "postman:GET /{version}/orders/{orderId}")
	sameJSON(t, "{{variables}} in the path", order.PathParams, `{"type":"object","required":["version","orderId"],
		"properties":{"version":{"type":"string"},"orderId":{"type":"string"}}}`)
	sameJSON(t, "query from the raw url", order.Query, `{"type":"object","properties":{"expand":{"type":"string","examples":["items"]}}}`)

	if !hasWarning(res, "collection's auth") || !hasWarning(res, "Users / List users", "Authorization") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if all, _ := json.Marshal(res); strings.Contains(string(all), "secret") {
		t.Errorf("a credential was imported: %s", all)
	}
}

// A collection may be YAML too, and repeats of one method and path keep the first.
func TestPostmanYAMLAndDuplicates(t *testing.T) {
	t.Parallel()
	doc := `
info:
  name: Tiny
  schema: https://schema.getpostman.com/json/collection/v2.1.0/collection.json
item:
  - name: First
    request:
      method: DELETE
      url: {raw: "http://localhost:3000/items/:id", path: [items, ":id"], host: [localhost]}
  - name: Again
    request: {method: DELETE, url: "http://localhost:3000/items/:id"}
  - name: Bad method
    request: {method: FROB, url: "/x"}
`
	res, err := importer.Parse(context.Background(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	checkDefinitions(t, res)
	if len(res.Interfaces) != 1 || res.Interfaces[0].Name != "First" || res.Interfaces[0].Path != "/items/{id}" {
		t.Fatalf("interfaces %+v", res.Interfaces)
	}
	if !hasWarning(res, "Again", "skipped", "DELETE /items/{id}") || !hasWarning(res, "Bad method", "skipped", "method") {
		t.Errorf("warnings %q", res.Warnings)
	}
}
