package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/assay-dev/assay/bridge"
	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

// amqpTopology is a topology with names of its own, deleted when the test ends.
func amqpTopology(t *testing.T, url string, deliveryLimit int) bridge.Topology {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	sfx := ".t-" + hex.EncodeToString(b[:])
	top := bridge.Topology{
		Exchange: bridge.DefaultExchange + sfx, Queue: bridge.DefaultQueue + sfx, RoutingKey: bridge.DefaultRoutingKey,
		DeadExchange: bridge.DefaultDeadExchange + sfx, DeadQueue: bridge.DefaultDeadQueue + sfx, DeliveryLimit: deliveryLimit,
	}
	t.Cleanup(func() {
		amqpChannel(t, url, func(ch *amqp.Channel) {
			if err := top.Delete(ch); err != nil {
				t.Errorf("delete topology: %v", err)
			}
		})
	})
	amqpChannel(t, url, func(ch *amqp.Channel) {
		if err := top.Declare(ch); err != nil {
			t.Fatal(err)
		}
	})
	return top
}

func amqpChannel(t *testing.T, url string, f func(ch *amqp.Channel)) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	defer ch.Close()
	f(ch)
}

func queueDepth(t *testing.T, url, queue string) (n int) {
	t.Helper()
	amqpChannel(t, url, func(ch *amqp.Channel) {
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err != nil {
			t.Fatalf("queue %s: %v", queue, err)
		}
		n = q.Messages
	})
	return n
}

// A body that cannot be decoded is rejected until the queue's delivery limit
// dead-letters it, counted; when its headers name a case (the bridge sets them), that
// case ends errored with the reason, so its batch can complete.
func TestAMQPSourcePoisonIsDeadLettered(t *testing.T) {
	const limit = 2
	url := testenv.AMQPURL(t)
	top := amqpTopology(t, url, limit)
	store := estest.Start(t, catalog.New())
	amqpChannel(t, url, func(ch *amqp.Channel) {
		for _, p := range []amqp.Publishing{
			{MessageId: "poison-1", DeliveryMode: amqp.Persistent, Body: []byte("{not json"), Headers: amqp.Table{
				bridge.HeaderAppID: "app-1", bridge.HeaderBatchID: "b-1", bridge.HeaderCaseID: "c-poison",
				eventstore.HeaderCorrelationID: "corr-b-1"}},
			{MessageId: "poison-2", DeliveryMode: amqp.Persistent, Body: []byte("{not json either")}, // names no case
		} {
			if err := ch.PublishWithContext(context.Background(), top.Exchange, top.RoutingKey, true, false, p); err != nil {
				t.Fatal(err)
			}
		}
	})

	src, err := NewAMQPSource(AMQPConfig{URL: url, Topology: top, Prefetch: 4, Results: store, RunnerName: "r-poison", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- src.Run(ctx, func(context.Context, Job) error {
			t.Error("a poison message was handed over as a job")
			return nil
		})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for queueDepth(t, url, top.DeadQueue) != 2 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not dead-lettered; %d rejections", src.Undecodable())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if src.Ready() != nil {
		t.Errorf("consuming source not ready: %v", src.Ready())
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if got := src.Undecodable(); got < 2*limit {
		t.Errorf("%d rejections, want at least the delivery limit %d for each of 2 messages", got, limit)
	}
	amqpChannel(t, url, func(ch *amqp.Channel) {
		for range 2 {
			d, ok, err := ch.Get(top.DeadQueue, true)
			if err != nil || !ok {
				t.Fatalf("get dead letter: %v %v", ok, err)
			}
			if (d.MessageId != "poison-1" && d.MessageId != "poison-2") || d.Headers["x-first-death-reason"] != "delivery_limit" {
				t.Errorf("dead letter %s, headers %v", d.MessageId, d.Headers)
			}
		}
	})
	if n := queueDepth(t, url, top.Queue); n != 0 {
		t.Errorf("%d messages left on the work queue", n)
	}
	// One errored result, for the case the first message named; none for the other.
	envs, _, err := store.Load(context.Background(), domain.ResultSubject("*", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 1 || src.Abandoned() != 1 {
		t.Fatalf("%d results, %d abandoned; want 1", len(envs), src.Abandoned())
	}
	res := envs[0].Data.(batch.CaseExecuted)
	if res.AppID != "app-1" || res.BatchID != "b-1" || res.CaseID != "c-poison" || res.Outcome != batch.Errored ||
		!strings.Contains(res.Error, "could not be decoded") || res.Runner != "r-poison" {
		t.Errorf("result %+v", res)
	}
	if m := envs[0].Meta; m.CorrelationID != "corr-b-1" || m.CausationID != "poison-1" {
		t.Errorf("result metadata %+v", m)
	}
	t.Logf("result error: %s", res.Error)
}

// TestRunnerOverAMQP: requests appended to the log go through the bridge and
// RabbitMQ to a runner, which records exactly one result per case.
func TestRunnerOverAMQP(t *testing.T) {
	const n = 500
	url := testenv.AMQPURL(t)
	top := amqpTopology(t, url, bridge.DefaultDeliveryLimit)
	store := estest.Start(t, catalog.New())
	tg := newTarget(t)
	appendRequests(t, store, tg, "app-1", "b-1", n)

	br, err := bridge.New(store, bridge.Config{URL: url, Topology: top})
	if err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithCancel(context.Background())
	berr := make(chan error, 1)
	go func() { berr <- br.Run(bctx) }()
	defer func() {
		bcancel()
		if err := <-berr; err != nil {
			t.Errorf("bridge: %v", err)
		}
	}()

	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	r, err := New(store, ex, Config{Name: "amqp", Concurrency: 32})
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewAMQPSource(AMQPConfig{URL: url, Topology: top, Prefetch: 32})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, r, src, func() bool { return r.Stats().Recorded >= n })

	counts := resultCounts(t, store, "app-1", "b-1")
	if len(counts) != n || total(counts) != n {
		t.Fatalf("%d result subjects holding %d results, want %d each once", len(counts), total(counts), n)
	}
	if st := r.Stats(); st.Executed != n || st.Recorded != n || st.Duplicates != 0 || st.Retried != 0 {
		t.Errorf("runner stats %+v", st)
	}
	if got := src.Undecodable(); got != 0 {
		t.Errorf("%d undecodable", got)
	}
	// Every job was acknowledged before the source closed its channel.
	deadline := time.Now().Add(10 * time.Second)
	for queueDepth(t, url, top.Queue) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages left on the queue", queueDepth(t, url, top.Queue))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for br.Stats().Confirmed != n {
		if time.Now().After(deadline) {
			t.Fatalf("bridge stats %+v", br.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunnerOverAMQPReconnects: the runner's connection is cut several times while it
// works; it reconnects, and each case still has exactly one result (redelivered
// requests end as dropped duplicates).
func TestRunnerOverAMQPReconnects(t *testing.T) {
	const n = 500
	url := testenv.AMQPURL(t)
	top := amqpTopology(t, url, 50) // cuts count as deliveries: keep them from dead-lettering
	px, purl := testenv.NewAMQPProxy(t, url)
	store := estest.Start(t, catalog.New())
	tg := newTarget(t)
	appendRequests(t, store, tg, "app-1", "b-1", n)

	br, err := bridge.New(store, bridge.Config{URL: url, Topology: top})
	if err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithCancel(context.Background())
	berr := make(chan error, 1)
	go func() { berr <- br.Run(bctx) }()
	defer func() {
		bcancel()
		if err := <-berr; err != nil {
			t.Errorf("bridge: %v", err)
		}
	}()

	ex := NewExecutor(ExecutorConfig{})
	t.Cleanup(ex.Close)
	r, err := New(store, ex, Config{Name: "amqp", Concurrency: 16, AppendWindow: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewAMQPSource(AMQPConfig{URL: purl, Topology: top, Prefetch: 16, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cuts := 0
	runUntil(t, r, src, func() bool {
		if cuts < 3 && r.Stats().Executed > int64(cuts+1)*n/5 && px.Cut() > 0 {
			cuts++
		}
		return r.Stats().Recorded >= n
	})
	counts := resultCounts(t, store, "app-1", "b-1")
	if len(counts) != n || total(counts) != n {
		t.Fatalf("%d result subjects holding %d results, want %d each once", len(counts), total(counts), n)
	}
	t.Logf("%d cuts; runner stats %+v", cuts, r.Stats())
	deadline := time.Now().Add(10 * time.Second)
	for queueDepth(t, url, top.Queue) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages left on the queue", queueDepth(t, url, top.Queue))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
