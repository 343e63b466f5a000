package runner

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/assay-dev/assay/bridge"
	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
)

// RabbitMQ restarted mid-batch: the bridge and the runner lose their connections, keep
// reconnecting until the server is back, and carry on on their own; the requests on the
// (durable, quorum) queue survive, those the bridge had not seen confirmed are published
// again, those the runner had not acked come again and end as dropped duplicates; a
// batch submitted while the server is down is published once it is back. Each batch
// completes once, with exactly one result per case.
//
// The test holds the server alone (testenv.ExclusiveAMQPURL): it waits for the other
// tests using it, in every package, and they wait for it.
func TestE2ERabbitMQRestartedMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts RabbitMQ (10-20 s)")
	}
	const n, n2 = 1500, 300
	url := testenv.ExclusiveAMQPURL(t)
	testenv.RestartableRabbitMQ(t)
	top := amqpTopology(t, url, bridge.DefaultDeliveryLimit)
	e := newE2E(t, 0)
	rec := newRecorder(t, 2*time.Millisecond, "")
	e.reactors()

	br, err := bridge.New(e.store, bridge.Config{URL: url, Topology: top, Window: 64, Logger: silent(),
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond, RetryDelay: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	goRun(t, "bridge", br.Run)
	src, err := NewAMQPSource(AMQPConfig{URL: url, Topology: top, Prefetch: 16, Logger: silent(),
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := e.runner(e.store, "amqp-runner", Config{Concurrency: 16, Logger: silent()}, src)
	e.submit(submittedTo(rec, "app-1", "b-restart", okCases(n), batch.Settings{Concurrency: 16}))

	eventually(t, 30*time.Second, "the batch under way", func() bool { return r.Stats().Recorded >= n/5 })
	before := r.Stats()
	// A second batch is submitted while the server is down: the bridge publishes it
	// once it has reconnected.
	second := make(chan error, 1)
	go func() {
		for br.Ready() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		sub := submittedTo(rec, "app-1", "b-during", okCases(n2), batch.Settings{Concurrency: 16})
		_, err := e.store.Append(context.Background(), eventstore.Expect{sub.Subject(): 0},
			domain.Envelope{ID: uuid.NewString(), Data: sub, Meta: domain.Metadata{UserID: "user-1"}})
		second <- err
	}()
	start := time.Now()
	testenv.RestartRabbitMQ(t)
	restart := time.Since(start)
	if r.Stats().Recorded >= n {
		t.Fatalf("the batch ended before the restart was done (%v): make it longer", restart)
	}
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("submit during the restart: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bridge never noticed the restart")
	}

	for _, b := range []struct {
		id string
		n  int
	}{{"b-restart", n}, {"b-during", n2}} {
		eventuallyEvery(t, 90*time.Second, 100*time.Millisecond, b.id+" completed", func() bool { return e.completed("app-1", b.id) })
		time.Sleep(300 * time.Millisecond) // let a second completion show, if there were one
		if res := e.results("app-1", b.id); len(res) != b.n {
			t.Fatalf("%s: %d results, want %d", b.id, len(res), b.n)
		}
		c := e.completions("app-1", b.id)
		if len(c) != 1 || c[0].Totals != (batch.Totals{Total: b.n, Passed: b.n}) {
			t.Fatalf("%s: completions %+v", b.id, c)
		}
	}
	bs := br.Stats()
	if bs.Connects < 2 {
		t.Errorf("bridge stats %+v: it never reconnected", bs)
	}
	if br.Ready() != nil || src.Ready() != nil {
		t.Errorf("not ready after the restart: bridge %v, source %v", br.Ready(), src.Ready())
	}
	eventually(t, 20*time.Second, "an empty queue", func() bool { return queueDepth(t, url, top.Queue) == 0 })
	if d := queueDepth(t, url, top.DeadQueue); d != 0 {
		t.Errorf("%d dead letters", d)
	}
	t.Logf("restart took %v; recorded %d before it; bridge %+v; runner %+v", restart.Round(time.Millisecond), before.Recorded, bs, r.Stats())
}
