package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/assay-dev/assay/bridge"
	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain/batch"
)

// Three `assay runner` processes consume the bridge's RabbitMQ queue; one is killed with
// SIGKILL mid-batch. The requests it held unacknowledged go back to the queue and the
// other two run them: every case ends with exactly one result, the batch completes once,
// and nothing is dead-lettered.
//
// `assay runner` declares the default topology (its queue names are not configurable), so
// this test owns the default queues on the test broker: no other test uses them.
func TestRunnersOnRabbitMQSurviveOneKilled(t *testing.T) {
	t.Parallel()
	url := testenv.AMQPURL(t)
	top := bridge.DefaultTopology()
	deleteTopology(t, url, top)
	t.Cleanup(func() { deleteTopology(t, url, top) })

	natsURL := startNATS(t)
	store := openLog(t, natsURL, 1)
	tg := newTarget(t, 50*time.Millisecond)
	w := seed(t, store, tg.URL, 10, 100)

	log := testLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	reacts, err := startReactors(ctx, store, prometheus.NewRegistry(), log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	b, err := bridge.New(store, bridge.Config{URL: url, Logger: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	bridgeDone := make(chan error, 1)
	go func() { bridgeDone <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := reacts.wait(); err != nil {
			t.Errorf("reactors: %v", err)
		}
		select {
		case err := <-bridgeDone:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("bridge: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the bridge did not stop")
		}
	})

	env := map[string]string{"ASSAY_NATS_URL": natsURL, "ASSAY_AMQP_URL": url, "ASSAY_RUNNER_CONCURRENCY": "8"}
	runners := []*proc{startProc(t, "runner-1", env, "runner"), startProc(t, "runner-2", env, "runner"), startProc(t, "runner-3", env, "runner")}
	start := time.Now()
	batchID := w.submit(t, 200)
	waitFor(t, 30*time.Second, "a quarter of the results", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return countResults(ctx, store, w.appID, batchID) >= len(w.cases)/4
	})
	runners[0].kill()
	if gone, err := runners[0].exited(); !gone || err == nil {
		t.Fatalf("runner-1 still runs after SIGKILL (%v)", err)
	}
	t.Logf("runner-1 killed %v after the submission", time.Since(start).Round(time.Millisecond))

	waitBatchEvent(t, store, w.appID, batchID, (batch.ReportGenerated{}).EventType(), 45*time.Second)
	t.Logf("%d cases: submitted to reported in %v; the target saw %d requests", len(w.cases),
		time.Since(start).Round(time.Millisecond), tg.requests.Load())
	checkAlive(t, runners[1:]...)
	readBatch(t, store, w.appID, batchID).check(t, w.cases, (batch.Completed{}).EventType())
	if n := tg.requests.Load(); n < int64(len(w.cases)) {
		t.Errorf("the target saw %d requests, want at least %d", n, len(w.cases))
	}
	for q, want := range map[string]int{top.Queue: 0, top.DeadQueue: 0} {
		if n := queueDepth(t, url, q); n != want {
			t.Errorf("queue %s holds %d messages, want %d", q, n, want)
		}
	}
}

// deleteTopology removes the topology's queues and exchanges, whatever is left in them.
func deleteTopology(t *testing.T, url string, top bridge.Topology) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("RabbitMQ: %v", err)
	}
	defer conn.Close()
	// One channel per deletion: deleting what does not exist closes the channel.
	for _, del := range []func(*amqp.Channel) error{
		func(ch *amqp.Channel) error { _, err := ch.QueueDelete(top.Queue, false, false, false); return err },
		func(ch *amqp.Channel) error { _, err := ch.QueueDelete(top.DeadQueue, false, false, false); return err },
		func(ch *amqp.Channel) error { return ch.ExchangeDelete(top.Exchange, false, false) },
		func(ch *amqp.Channel) error { return ch.ExchangeDelete(top.DeadExchange, false, false) },
	} {
		if ch, err := conn.Channel(); err == nil {
			_ = del(ch)
			_ = ch.Close()
		}
	}
}

// queueDepth is how many ready messages a queue holds.
func queueDepth(t *testing.T, url, queue string) int {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("RabbitMQ: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("queue %s: %v", queue, err)
	}
	return q.Messages
}
