package projtest_test

import (
	"context"
	"testing"

	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore/estest"
	"github.com/assay-dev/assay/projections/projtest"
)

func TestHistoryIsValidAndCoversEveryAggregate(t *testing.T) {
	t.Parallel()
	s := estest.Start(t, catalog.New())
	h := projtest.New(s, 1)
	if err := h.Generate(context.Background(), 2000); err != nil {
		t.Fatal(err)
	}
	evs, last, err := s.Load(context.Background(), "events.>")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, e := range evs {
		types[e.Type]++
	}
	if len(evs) != h.Events || last == 0 {
		t.Fatalf("log has %d events, history says %d", len(evs), h.Events)
	}
	for _, want := range []string{"user.registered", "app.created", "interface.defined", "interface.case_added", "interface.cases_generated",
		"batch.submitted", "batch.case_execution_requested", "batch.case_executed", "batch.completed", "batch.analyzed", "batch.report_generated"} {
		if types[want] == 0 {
			t.Errorf("no %s in a history of %d events: %v", want, len(evs), types)
		}
	}
}
