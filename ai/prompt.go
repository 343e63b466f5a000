package ai

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/tmc/langchaingo/llms"

	"github.com/assay-dev/assay/domain/iface"
)

// PromptVersion names the generation prompt; it is recorded with every generation, so a
// change of the prompt's meaning gets a new file and a new version.
const PromptVersion = "generate.v1"

//go:embed prompts/generate.v1.md
var generatePrompt string

// userMarker splits the prompt file into its system and user messages.
const userMarker = "<!-- user -->\n"

var generateTemplate = template.Must(template.New(PromptVersion).Option("missingkey=error").
	Parse(generatePrompt[strings.Index(generatePrompt, userMarker)+len(userMarker):]))

// answerSchema is the JSON Schema of the answer, shown to the model.
const answerSchema = `{"type":"object","required":["cases"],"properties":{"cases":{"type":"array","items":{
  "type":"object","required":["name","class","reason","request","expected_status"],"properties":{
    "name":{"type":"string","maxLength":300},
    "class":{"enum":["valid","boundary","out_of_range","missing_required","wrong_type","null","enum","format"]},
    "reason":{"type":"string"},
    "request":{"type":"object","required":["method","path"],"properties":{
      "method":{"type":"string"},"path":{"type":"string"},
      "path_params":{"type":"object"},"query":{"type":"object"},
      "headers":{"type":"object","additionalProperties":{"type":"string"}},
      "body":{}}},
    "expected_status":{"type":"integer","minimum":100,"maximum":599}}}}}}`

// promptDef is the part of a definition the model needs, in the order a reader wants it.
type promptDef struct {
	Name        string                    `json:"name"`
	Description string                    `json:"description,omitempty"`
	Method      string                    `json:"method"`
	Path        string                    `json:"path"`
	PathParams  json.RawMessage           `json:"path_params,omitempty"`
	Query       json.RawMessage           `json:"query,omitempty"`
	Headers     json.RawMessage           `json:"headers,omitempty"`
	ContentType string                    `json:"content_type,omitempty"`
	Body        json.RawMessage           `json:"body,omitempty"`
	Responses   map[string]iface.Response `json:"responses,omitempty"`
}

// GenerateMessages renders the generation prompt for def: the system message (the role)
// and the user message (definition, classes, answer schema, example).
func GenerateMessages(def iface.Definition, maxCases int, hints string) ([]llms.MessageContent, error) {
	d, err := json.MarshalIndent(promptDef{Name: def.Name, Description: def.Description, Method: def.Method, Path: def.Path,
		PathParams: def.PathParams, Query: def.Query, Headers: def.Headers, ContentType: def.ContentType, Body: def.Body,
		Responses: def.Responses}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("ai: render the definition: %w", err)
	}
	ok, bad := statusClasses(def)
	var b bytes.Buffer
	err = generateTemplate.Execute(&b, map[string]any{"Definition": string(d), "MaxCases": maxCases, "OK": ok, "Bad": bad,
		"Method": def.Method, "Path": def.Path, "Hints": oneLine(hints), "AnswerSchema": answerSchema})
	if err != nil {
		return nil, fmt.Errorf("ai: render the prompt: %w", err)
	}
	system := strings.TrimSpace(generatePrompt[:strings.Index(generatePrompt, userMarker)])
	return []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, system),
		llms.TextParts(llms.ChatMessageTypeHuman, b.String()),
	}, nil
}

var spaces = regexp.MustCompile(`\s+`)

// oneLine keeps the user's hints from breaking the prompt's structure.
func oneLine(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// statusClasses describes the expected statuses of valid and invalid requests, from the
// documented responses (as the assertions built for them check).
func statusClasses(def iface.Definition) (ok, bad string) {
	var two, four []string
	for _, k := range def.DocumentedStatuses() {
		switch {
		case k[0] == '2':
			two = append(two, k)
		case k[0] == '4':
			four = append(four, k)
		}
	}
	ok, bad = "2xx", "400 or 422"
	if len(two) > 0 {
		ok = "a documented status: " + strings.Join(two, ", ")
	}
	if len(four) > 0 {
		bad = "a documented status: " + strings.Join(four, ", ")
	}
	return ok, bad
}
