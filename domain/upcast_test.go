package domain_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/assay-dev/assay/domain"
)

type renamed struct {
	Title string `json:"title"`
}

func (renamed) EventType() string { return "thing.renamed" }
func (renamed) Subject() string   { return "events.thing" }

func TestOldVersionsAreUpcastStepByStep(t *testing.T) {
	t.Parallel()
	c := domain.NewCatalog()
	domain.Register[renamed](c, 3)
	// v1 called the field "name"; v2 called it "label"; v3 "title".
	c.RegisterUpcaster("thing.renamed", 1, func(in json.RawMessage) (json.RawMessage, error) {
		var v map[string]any
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"label": v["name"]})
	})
	c.RegisterUpcaster("thing.renamed", 2, func(in json.RawMessage) (json.RawMessage, error) {
		var v map[string]any
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"title": v["label"]})
	})
	for ver, data := range map[int]string{1: `{"name":"a"}`, 2: `{"label":"a"}`, 3: `{"title":"a"}`} {
		ev, err := c.Decode("thing.renamed", ver, []byte(data))
		if err != nil {
			t.Fatalf("v%d: %v", ver, err)
		}
		if got := ev.(renamed).Title; got != "a" {
			t.Errorf("v%d upcast to %q, want a", ver, got)
		}
	}
}

func TestMissingUpcasterIsUnknownEvent(t *testing.T) {
	t.Parallel()
	c := domain.NewCatalog()
	domain.Register[renamed](c, 2)
	_, err := c.Decode("thing.renamed", 1, []byte(`{}`))
	if !errors.Is(err, domain.ErrUnknownEvent) {
		t.Fatalf("got %v, want ErrUnknownEvent", err)
	}
}

func TestValidationErrorListsEveryFieldAndIsInvalid(t *testing.T) {
	t.Parallel()
	var p domain.Problems
	p.Add("b", "bad")
	p.Add("a", "worse %d", 2)
	err := p.Err()
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("got %v", err)
	}
	if len(ve.Fields) != 2 || ve.Fields[0].Field != "a" || ve.Fields[0].Message != "worse 2" {
		t.Errorf("fields = %+v", ve.Fields)
	}
}
