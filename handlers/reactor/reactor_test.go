package reactor_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/reactor"
)

func TestConfigValidate(t *testing.T) {
	handle := func(context.Context, domain.Envelope) error { return nil }
	e := setup(t)
	_, err := reactor.New(e.store, reactor.Config{Name: "bad.name", BatchSize: -1, AckWait: time.Millisecond}, handle, nil, nil)
	for _, want := range []string{"Name", "Filters", "BatchSize", "AckWait"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
	reg := prometheus.NewRegistry()
	for range 2 { // metrics are shared by reactors of one registry
		if _, err := reactor.New(e.store, reactor.Config{Name: "ok", Filters: reactor.BatchFilters}, handle, nil, reg); err != nil {
			t.Fatal(err)
		}
	}
}

// An undecodable event is skipped, a transient failure retried, and the events after them
// are handled in order.
func TestReactorSkipsPoisonAndRetriesTransientFailures(t *testing.T) {
	e := setup(t)
	msg := nats.NewMsg(domain.BatchSubject(appID, "b-poison"))
	msg.Header.Set(eventstore.HeaderType, "batch.exploded")
	msg.Header.Set(eventstore.HeaderID, "poison-1")
	msg.Data = []byte(`{}`)
	if _, err := e.store.JetStream().PublishMsg(e.ctx, msg); err != nil {
		t.Fatal(err)
	}
	e.submit(submitted("b-after", plainCases(1)))
	var calls, failures atomic.Int32
	var handled atomic.Value
	r, err := reactor.New(e.store, reactor.Config{Name: "test-poison", Filters: reactor.BatchFilters, MaxWait: 50 * time.Millisecond, RetryMax: 50 * time.Millisecond},
		func(_ context.Context, env domain.Envelope) error {
			calls.Add(1)
			if failures.Add(1) <= 2 {
				return errors.New("database down")
			}
			handled.Store(env.Data)
			return nil
		}, quietLog(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	e.run(r)
	e.eventually("the submitted batch", func() bool { return handled.Load() != nil })
	if s, ok := handled.Load().(batch.Submitted); !ok || s.BatchID != "b-after" || calls.Load() != 3 {
		t.Errorf("handled %v after %d calls; want b-after after 3 (the poison never reaches the handler)", handled.Load(), calls.Load())
	}
}
