package iface

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/assay-dev/assay/domain/testcase"
)

type changes []string

func (c *changes) set(name string, ok bool, fn func()) {
	if ok {
		fn()
		*c = append(*c, name)
	}
}

func applyPatch(d Definition, p Patch) (Definition, []string) {
	var ch changes
	ch.set("name", p.Name != nil, func() { d.Name = *p.Name })
	ch.set("method", p.Method != nil, func() { d.Method = *p.Method })
	ch.set("path", p.Path != nil, func() { d.Path = *p.Path })
	ch.set("description", p.Description != nil, func() { d.Description = *p.Description })
	ch.set("content_type", p.ContentType != nil, func() { d.ContentType = *p.ContentType })
	ch.set("headers", p.Headers != nil, func() { d.Headers = *p.Headers })
	ch.set("path_params", p.PathParams != nil, func() { d.PathParams = *p.PathParams })
	ch.set("query", p.Query != nil, func() { d.Query = *p.Query })
	ch.set("body", p.Body != nil, func() { d.Body = *p.Body })
	ch.set("responses", p.Responses != nil, func() { d.Responses = *p.Responses })
	return d, ch
}

func applyCasePatch(k testcase.Case, p CasePatch) (testcase.Case, []string) {
	var ch changes
	ch.set("name", p.Name != nil, func() { k.Name = *p.Name })
	ch.set("class", p.Class != nil, func() { k.Class = *p.Class })
	ch.set("priority", p.Priority != nil, func() { k.Priority = *p.Priority })
	ch.set("request", p.Request != nil, func() { k.Request = *p.Request })
	ch.set("assertions", p.Assertions != nil, func() { k.Assertions = *p.Assertions })
	ch.set("extract", p.Extract != nil, func() { k.Extract = *p.Extract })
	ch.set("enabled", p.Enabled != nil, func() { k.Enabled = *p.Enabled })
	return k, ch
}

// diffDefinitions names the fields that differ, comparing schemas as JSON values.
func diffDefinitions(a, b Definition) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("name", a.Name != b.Name)
	add("method", a.Method != b.Method)
	add("path", a.Path != b.Path)
	add("description", a.Description != b.Description)
	add("content_type", a.ContentType != b.ContentType)
	add("headers", !sameJSON(a.Headers, b.Headers))
	add("path_params", !sameJSON(a.PathParams, b.PathParams))
	add("query", !sameJSON(a.Query, b.Query))
	add("body", !sameJSON(a.Body, b.Body))
	ra, _ := json.Marshal(a.Responses)
	rb, _ := json.Marshal(b.Responses)
	add("responses", !sameJSON(ra, rb))
	return out
}

// diffCases names the case fields that differ, comparing values as JSON.
func diffCases(a, b testcase.Case) []string {
	var out []string
	add := func(name string, x, y any) {
		jx, ex := json.Marshal(x)
		jy, ey := json.Marshal(y)
		if ex != nil || ey != nil || !sameJSON(jx, jy) {
			out = append(out, name)
		}
	}
	add("name", a.Name, b.Name)
	add("class", a.Class, b.Class)
	add("priority", a.Priority, b.Priority)
	add("request", a.Request, b.Request)
	add("assertions", emptyAsNil(len(a.Assertions), a.Assertions), emptyAsNil(len(b.Assertions), b.Assertions))
	add("extract", emptyAsNil(len(a.Extract), a.Extract), emptyAsNil(len(b.Extract), b.Extract))
	add("enabled", a.Enabled, b.Enabled)
	return out
}

func emptyAsNil(n int, v any) any {
	if n == 0 {
		return nil
	}
	return v
}

func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
