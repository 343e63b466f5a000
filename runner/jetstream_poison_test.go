package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

// An undecodable request on the log is terminated, and the case its subject names ends
// errored with the reason (JetStreamConfig.Results), so its batch can complete.
func TestJetStreamSourcePoisonEndsItsCase(t *testing.T) {
	t.Parallel()
	store := estest.Start(t, catalog.New())
	_, err := store.JetStream().PublishMsg(context.Background(), &nats.Msg{
		Subject: domain.ExecSubject("app-1", "b-1", "c-poison"),
		Header: nats.Header{eventstore.HeaderType: []string{"batch.case_execution_requested"}, eventstore.HeaderID: []string{"p-1"},
			eventstore.HeaderCorrelationID: []string{"corr-b-1"}},
		Data: []byte("{not json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewJetStreamSource(store, JetStreamConfig{Name: "poison", Results: store, Logger: silent()})
	if err != nil {
		t.Fatal(err)
	}
	goRun(t, "jetstream source", func(ctx context.Context) error {
		return src.Run(ctx, func(context.Context, Job) error {
			t.Error("a poison message was handed over as a job")
			return nil
		})
	})
	eventually(t, 10*time.Second, "the poison case ended", func() bool { return src.Abandoned() == 1 })
	envs, _, err := store.Load(context.Background(), domain.ResultSubject("app-1", "b-1", "c-poison"))
	if err != nil || len(envs) != 1 {
		t.Fatalf("load result: %v (%d events)", err, len(envs))
	}
	res := envs[0].Data.(batch.CaseExecuted)
	if res.Outcome != batch.Errored || !strings.Contains(res.Error, "could not be decoded") || res.Runner != "poison" {
		t.Errorf("result %+v", res)
	}
	if m := envs[0].Meta; m.CorrelationID != "corr-b-1" || m.CausationID != "p-1" {
		t.Errorf("metadata %+v", m)
	}
	if src.Undecodable() != 1 {
		t.Errorf("%d undecodable, want 1", src.Undecodable())
	}
}
