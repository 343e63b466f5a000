package importer_test

import (
	"slices"
	"testing"

	"github.com/assay-dev/assay/handlers/importer"
)

func TestPetstoreOperations(t *testing.T) {
	t.Parallel()
	res := parseFile(t, "petstore.yaml")
	if res.Format != importer.FormatOpenAPI30 || res.Title != "Petstore" {
		t.Errorf("format %q title %q", res.Format, res.Title)
	}
	if !slices.Equal(res.Servers, []string{"https://petstore.example.com/v1", "http://localhost:8080/v1"}) {
		t.Errorf("servers %v", res.Servers)
	}
	var got [][3]string
	for _, d := range res.Interfaces {
		got = append(got, [3]string{d.SourceKey, d.Name, d.Description})
	}
	want := [][3]string{
		{"openapi:POST /owners", "createOwner", ""},
		{"openapi:GET /owners/{ownerId}/pets", "listOwnerPets", ""},
		{"openapi:GET /pets", "listPets", "List pets"},
		{"openapi:POST /pets", "createPet", "Create a pet"},
		{"openapi:GET /pets/{petId}", "getPet", "Returns one pet."},
		{"openapi:PUT /pets/{petId}", "Replace a pet", ""},
		{"openapi:DELETE /pets/{petId}", "DELETE /pets/{petId}", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("interfaces\n got %q\nwant %q", got, want)
	}
	for _, w := range [][]string{
		{"GET /pets", "cookie", "session"},
		{"GET /pets", "Authorization", "ignored"},
		{"POST /pets", "application/xml"},
	} {
		if !hasWarning(res, w...) {
			t.Errorf("no warning with %q in %q", w, res.Warnings)
		}
	}
	if len(res.Warnings) != 3 {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestPetstoreParameters(t *testing.T) {
	t.Parallel()
	res := parseFile(t, "petstore.yaml")
	list := find(t, res, "openapi:GET /pets")
	if list.Method != "GET" || list.Path != "/pets" || list.PathParams != nil || list.Body != nil || list.ContentType != "" {
		t.Errorf("listPets: %+v", list)
	}
	sameJSON(t, "listPets query", list.Query, `{"type":"object","properties":{
		"limit":{"type":"integer","format":"int32","minimum":1,"maximum":100,"default":20,"description":"How many items to return"},
		"status":{"type":"array","minItems":1,"maxItems":3,"description":"Filter by status",
			"items":{"type":"string","enum":["available","pending","sold"]}}}}`)
	sameJSON(t, "listPets headers", list.Headers, `{"type":"object","required":["X-Request-ID"],
		"properties":{"X-Request-ID":{"type":"string","format":"uuid"}}}`)

	// The path-level parameter (a $ref) merged with the operation's header.
	put := find(t, res, "openapi:PUT /pets/{petId}")
	sameJSON(t, "put path", put.PathParams, `{"type":"object","required":["petId"],"properties":{
		"petId":{"type":"integer","format":"int64","minimum":1,"description":"The pet's id"}}}`)
	sameJSON(t, "put headers", put.Headers, `{"type":"object","required":["If-Match"],"properties":{
		"If-Match":{"type":"string","minLength":1,"description":"The pet's ETag"}}}`)
	if put.Query != nil {
		t.Errorf("put query %s", put.Query)
	}
	for _, key := range []string{"openapi:GET /pets/{petId}", "openapi:DELETE /pets/{petId}"} {
		sameJSON(t, key+" path", find(t, res, key).PathParams, string(put.PathParams))
	}

	owner := find(t, res, "openapi:GET /owners/{ownerId}/pets")
	sameJSON(t, "owner pets path", owner.PathParams, `{"type":"object","required":["ownerId"],
		"properties":{"ownerId":{"type":"string","format":"uuid"}}}`)
	sameJSON(t, "owner pets query", owner.Query, `{"type":"object","properties":{
		"limit":{"type":"integer","format":"int32","minimum":1,"maximum":100,"default":20,"description":"How many items to return"},
		"since":{"type":"string","format":"date-time"}}}`)
}

func TestPetstoreBodies(t *testing.T) {
	t.Parallel()
	res := parseFile(t, "petstore.yaml")
	// readOnly id is dropped from the request (and from required); writeOnly password stays.
	owner := find(t, res, "openapi:POST /owners")
	if owner.ContentType != "application/json" {
		t.Errorf("content type %q", owner.ContentType)
	}
	sameJSON(t, "createOwner body", owner.Body, `{"type":"object","required":["email","name"],"properties":{
		"email":{"type":"string","format":"email"},
		"name":{"type":"string","minLength":2,"maxLength":100},
		"password":{"type":"string","format":"password","minLength":8,"writeOnly":true},
		"age":{"type":"integer","minimum":0,"maximum":150},
		"tier":{"type":["string","null"],"enum":["free","pro",null]}}}`)

	create := find(t, res, "openapi:POST /pets")
	if create.ContentType != "application/json" {
		t.Errorf("content type %q", create.ContentType)
	}
	body := create.Body
	equal(t, "required", at(t, body, "required"), `["name","category"]`)
	equal(t, "name", at(t, body, "properties.name"), `{"type":"string","minLength":1,"maxLength":64,"examples":["Rex"]}`)
	equal(t, "category ($ref inlined)", at(t, body, "properties.category"), `{"type":"object","required":["id","name"],
		"properties":{"id":{"type":"integer","format":"int64"},"name":{"type":"string","minLength":1,"maxLength":40}}}`)
	equal(t, "status enum", at(t, body, "properties.status.enum"), `["available","pending","sold"]`)
	equal(t, "tags", at(t, body, "properties.tags"), `{"type":"array","maxItems":10,"uniqueItems":true,
		"items":{"type":"object","properties":{"name":{"type":"string","pattern":"^[a-z0-9-]+$"}}}}`)
	equal(t, "exclusiveMinimum", at(t, body, "properties.weightKg"), `{"type":"number","exclusiveMinimum":0,"maximum":200}`)
	equal(t, "nullable", at(t, body, "properties.nickname"), `{"type":["string","null"],"maxLength":32}`)
	equal(t, "uri", at(t, body, "properties.photoUrl.format"), `"uri"`)
	equal(t, "date", at(t, body, "properties.birthDate.format"), `"date"`)

	// Pet = allOf [NewPet, {id, createdAt readOnly, owner nullable}]: in a request the readOnly
	// properties go, and required with them.
	put := find(t, res, "openapi:PUT /pets/{petId}").Body
	equal(t, "put allOf[1]", at(t, put, "allOf.1"), `{"type":"object","properties":{"owner":{"anyOf":[
		{"allOf":[{"type":"object","required":["email","name"],"properties":{
			"email":{"type":"string","format":"email"},
			"name":{"type":"string","minLength":2,"maxLength":100},
			"password":{"type":"string","format":"password","minLength":8,"writeOnly":true},
			"age":{"type":"integer","minimum":0,"maximum":150},
			"tier":{"type":["string","null"],"enum":["free","pro",null]}}}]},
		{"type":"null"}]}}}`)
	equal(t, "put allOf[0] is NewPet", at(t, put, "allOf.0.required"), `["name","category"]`)
}

func TestPetstoreResponses(t *testing.T) {
	t.Parallel()
	res := parseFile(t, "petstore.yaml")
	problem := `{"type":"object","required":["type","title","status"],"properties":{
		"type":{"type":"string","format":"uri"},"title":{"type":"string"},
		"status":{"type":"integer","minimum":100,"maximum":599},"detail":{"type":"string"}}}`

	list := find(t, res, "openapi:GET /pets")
	if got := list.DocumentedStatuses(); !slices.Equal(got, []string{"200", "400", "default"}) {
		t.Errorf("listPets statuses %v", got)
	}
	ok := list.Responses["200"]
	if ok.Description != "A page of pets" || ok.ContentType != "application/json" {
		t.Errorf("200: %+v", ok)
	}
	equal(t, "page required", at(t, ok.Schema, "required"), `["items","next"]`)
	equal(t, "next nullable", at(t, ok.Schema, "properties.next"), `{"type":["string","null"]}`)
	equal(t, "deep enum", at(t, ok.Schema, "properties.items.items.allOf.0.properties.status.enum"), `["available","pending","sold"]`)
	// In a response readOnly properties stay and writeOnly ones go.
	equal(t, "id readOnly", at(t, ok.Schema, "properties.items.items.allOf.1.properties.id"), `{"type":"integer","format":"int64","readOnly":true}`)
	equal(t, "required keeps readOnly", at(t, ok.Schema, "properties.items.items.allOf.1.required"), `["id","createdAt"]`)
	owner := "properties.items.items.allOf.1.properties.owner.anyOf.0.allOf.0"
	equal(t, "owner required", at(t, ok.Schema, owner+".required"), `["id","email","name"]`)
	if has(ok.Schema, owner+".properties.password") {
		t.Error("writeOnly password is in a response")
	}
	bad := list.Responses["400"]
	if bad.Description != "The request is malformed" || bad.ContentType != "application/problem+json" {
		t.Errorf("400: %+v", bad)
	}
	sameJSON(t, "400 schema", bad.Schema, problem)
	def := list.Responses["default"]
	if def.Description != "Unexpected error" || def.ContentType != "application/json" {
		t.Errorf("default: %+v", def)
	}
	sameJSON(t, "default schema", def.Schema, problem)

	create := find(t, res, "openapi:POST /pets")
	if got := create.DocumentedStatuses(); !slices.Equal(got, []string{"201", "400", "422"}) {
		t.Errorf("createPet statuses %v", got)
	}
	equal(t, "422 errors", at(t, create.Responses["422"].Schema, "allOf.1.properties.errors.minItems"), `1`)
	equal(t, "422 problem", at(t, create.Responses["422"].Schema, "allOf.0"), problem)

	del := find(t, res, "openapi:DELETE /pets/{petId}")
	if r := del.Responses["204"]; r.Description != "Deleted" || r.Schema != nil || r.ContentType != "" {
		t.Errorf("204: %+v", r)
	}
	if r := del.Responses["404"]; r.Description != "No such resource" {
		t.Errorf("404: %+v", r)
	}
	created := find(t, res, "openapi:POST /owners").Responses
	if _, ok := created["4XX"]; !ok {
		t.Errorf("4XX missing: %v", created)
	}
	equal(t, "owner list maxItems", at(t, find(t, res, "openapi:GET /owners/{ownerId}/pets").Responses["200"].Schema, "maxItems"), `100`)
}
