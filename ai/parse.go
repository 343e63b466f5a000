package ai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/testcase"
)

// rawCase is one case as the model wrote it, field names already mapped.
type rawCase struct {
	Name, Class, Reason, Priority string
	Method, Path                  string
	PathParams, Query             map[string]any
	Headers                       map[string]any
	Body                          json.RawMessage // nil: no body
	ExpectedStatus                int
}

// Near-miss field names, keyed by their normalized form (lower case, no _ - or spaces).
var (
	caseListKeys = []string{"cases", "testcases", "tests", "items", "data", "results"}
	caseKeys     = map[string]string{
		"name": "name", "title": "name", "casename": "name", "testname": "name",
		"class": "class", "category": "class", "type": "class", "caseclass": "class", "kind": "class", "testtype": "class",
		"reason": "reason", "rationale": "reason", "why": "reason", "description": "reason", "explanation": "reason",
		"priority": "priority",
		"request":  "request", "req": "request", "input": "request",
		"expectedstatus": "status", "statuscode": "status", "status": "status", "expectedstatuscode": "status",
		"expected": "status", "expectedresponsestatus": "status", "expectedcode": "status",
	}
	requestKeys = map[string]string{
		"method": "method", "httpmethod": "method", "verb": "method",
		"path": "path", "url": "path", "endpoint": "path", "route": "path",
		"pathparams": "path_params", "pathparameters": "path_params", "params": "path_params", "pathvars": "path_params",
		"query": "query", "queryparams": "query", "queryparameters": "query", "querystring": "query", "qs": "query",
		"headers": "headers", "header": "headers", "requestheaders": "headers",
		"body": "body", "payload": "body", "json": "body", "requestbody": "body", "data": "body",
	}
	classNames = map[string]string{
		"valid": testcase.Valid, "happypath": testcase.Valid, "positive": testcase.Valid,
		"boundary": testcase.Boundary, "boundaryvalue": testcase.Boundary, "edge": testcase.Boundary, "edgecase": testcase.Boundary,
		"outofrange": testcase.OutOfRange, "outofbounds": testcase.OutOfRange, "range": testcase.OutOfRange,
		"missingrequired": testcase.MissingRequired, "missing": testcase.MissingRequired, "required": testcase.MissingRequired,
		"missingfield": testcase.MissingRequired,
		"wrongtype":    testcase.WrongType, "invalidtype": testcase.WrongType, "typemismatch": testcase.WrongType, "type": testcase.WrongType,
		"null": testcase.Null, "nullvalue": testcase.Null,
		"enum": testcase.Enum, "enumvalue": testcase.Enum, "invalidenum": testcase.Enum,
		"format": testcase.Format, "invalidformat": testcase.Format, "pattern": testcase.Format,
	}
)

func norm(k string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(k)))
}

// parseCases reads the model's answer: its JSON (see extractJSON), then the cases under
// whatever near-miss names the model used. repaired says the JSON had to be repaired.
func parseCases(text string) (cases []rawCase, repaired bool, err error) {
	doc, repaired, err := extractJSON(text)
	if err != nil {
		return nil, false, err
	}
	var top any
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	if err := d.Decode(&top); err != nil {
		return nil, repaired, fmt.Errorf("the answer's JSON: %w", err)
	}
	list, ok := caseList(top)
	if !ok {
		return nil, repaired, errors.New("no list of cases in the answer")
	}
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			cases = append(cases, readCase(m))
		}
	}
	if len(cases) == 0 {
		return nil, repaired, errors.New("the answer has no case")
	}
	return cases, repaired, nil
}

// caseList finds the array of cases: the document itself, or its field of a known name,
// or its only array field.
func caseList(top any) ([]any, bool) {
	switch t := top.(type) {
	case []any:
		return t, true
	case map[string]any:
		var arrays [][]any
		for k, v := range t {
			a, ok := v.([]any)
			if !ok {
				continue
			}
			for _, name := range caseListKeys {
				if norm(k) == name {
					return a, true
				}
			}
			arrays = append(arrays, a)
		}
		if len(arrays) == 1 {
			return arrays[0], true
		}
		if _, ok := t["request"]; ok { // a single case
			return []any{t}, true
		}
	}
	return nil, false
}

func readCase(m map[string]any) rawCase {
	var c rawCase
	req := map[string]any{}
	for k, v := range m {
		if f, ok := caseKeys[norm(k)]; ok {
			switch f {
			case "name":
				c.Name = text(v)
			case "class":
				c.Class = className(text(v))
			case "reason":
				if c.Reason == "" || norm(k) == "reason" {
					c.Reason = text(v)
				}
			case "priority":
				c.Priority = strings.ToUpper(text(v))
			case "request":
				if r, ok := v.(map[string]any); ok {
					for rk, rv := range r {
						req[rk] = rv
					}
				}
			case "status":
				c.ExpectedStatus = status(v)
			}
			continue
		}
		if _, ok := requestKeys[norm(k)]; ok { // request fields written at the case level
			if _, dup := req[k]; !dup {
				req[k] = v
			}
		}
	}
	readRequest(&c, req)
	return c
}

func readRequest(c *rawCase, req map[string]any) {
	for k, v := range req {
		switch requestKeys[norm(k)] {
		case "method":
			c.Method = strings.ToUpper(text(v))
		case "path":
			c.Path = text(v)
		case "path_params":
			c.PathParams, _ = v.(map[string]any)
		case "query":
			c.Query, _ = v.(map[string]any)
		case "headers":
			c.Headers, _ = v.(map[string]any)
		case "body":
			c.Body = bodyJSON(v)
		}
	}
}

// bodyJSON is the body as JSON; a string holding a JSON object or array is that document.
func bodyJSON(v any) json.RawMessage {
	if s, ok := v.(string); ok {
		t := strings.TrimSpace(s)
		if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
			return json.RawMessage(t)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

func className(s string) string {
	if c, ok := classNames[norm(s)]; ok {
		return c
	}
	return strings.ToLower(strings.TrimSpace(s))
}

func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// status reads 201, "201" or "201 Created"; 0 if none.
func status(v any) int {
	s := strings.TrimSpace(text(v))
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			return int(f)
		}
		return 0
	}
	return n
}
