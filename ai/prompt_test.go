package ai_test

import (
	"strings"
	"testing"

	"github.com/tmc/langchaingo/llms"

	"github.com/assay-dev/assay/ai"
)

func TestGenerateMessagesCarryTheWholeDefinition(t *testing.T) {
	t.Parallel()
	msgs, err := ai.GenerateMessages(petDef, 25, "focus on\nthe name")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Role != llms.ChatMessageTypeSystem || msgs[1].Role != llms.ChatMessageTypeHuman {
		t.Fatalf("messages %+v", msgs)
	}
	system := msgs[0].Parts[0].(llms.TextContent).Text
	user := msgs[1].Parts[0].(llms.TextContent).Text
	if !strings.Contains(system, "senior test engineer") {
		t.Errorf("system: %s", system)
	}
	for _, want := range []string{`"method": "POST"`, `"path": "/owners/{owner}/pets"`, `"maxLength": 20`, `"format": "email"`,
		`"owner"`, `"dry"`, `"201"`, "at most 25 cases", "a documented status: 201", "a documented status: 400, 422",
		"missing_required", "out_of_range", "wrong_type", `"expected_status"`, "focus on the name", "# Example"} {
		if !strings.Contains(user, want) {
			t.Errorf("the prompt lacks %q", want)
		}
	}
}
