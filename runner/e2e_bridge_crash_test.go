package runner

import (
	"testing"
	"time"

	"github.com/assay-dev/assay/bridge"
	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain/batch"
)

// A bridge killed after publishing to RabbitMQ and before acking on JetStream: RabbitMQ
// holds those requests, JetStream redelivers them to the next bridge, which publishes
// them again. The queue then holds duplicates, and a runner on it still records exactly
// one result per case; the batch completes once.
func TestE2EBridgeKilledBeforeAck(t *testing.T) {
	t.Parallel()
	const (
		n      = 300
		window = 64
	)
	url := testenv.AMQPURL(t)
	top := amqpTopology(t, url, bridge.DefaultDeliveryLimit)
	px, purl := testenv.NewAMQPProxy(t, url)
	e := newE2E(t, 0)
	// The doomed bridge has a log connection of its own, closed to kill it. Opened before
	// any consumer exists: nats-server races a stream update with a consumer's creation.
	doomedStore, doomedConn := e.connect()
	rec := newRecorder(t, 0, "")
	e.reactors()

	cfg := bridge.Config{ConsumerName: "bridge", Topology: top, Window: window, AckWait: time.Second,
		FetchWait: 200 * time.Millisecond, RetryDelay: 100 * time.Millisecond, DrainTimeout: 100 * time.Millisecond,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}
	dcfg := cfg
	dcfg.URL, dcfg.Logger = purl, silent()
	doomed, err := bridge.New(doomedStore, dcfg)
	if err != nil {
		t.Fatal(err)
	}
	stopDoomed := goRun(t, "doomed bridge", doomed.Run)
	eventually(t, 10*time.Second, "the doomed bridge connected", func() bool { return doomed.Ready() == nil })
	// From now on the doomed bridge's publications reach RabbitMQ, their confirmations
	// never reach it: it fills its window and waits.
	px.Hold(true)
	e.submit(submittedTo(rec, "app-1", "b-bridge", okCases(n), batch.Settings{Concurrency: 32}))
	eventually(t, 20*time.Second, "the doomed bridge's window full", func() bool { return doomed.Stats().Published >= window })
	eventually(t, 20*time.Second, "its publications on the queue", func() bool { return queueDepth(t, url, top.Queue) == window })
	// Killed: no ack or nak reaches the log, the AMQP connection drops.
	doomedConn.Close()
	px.Refuse(true)
	px.Cut()
	stopDoomed()
	killedAt := doomed.Stats()
	if killedAt.Confirmed != 0 {
		t.Fatalf("the doomed bridge saw confirmations: %+v", killedAt)
	}

	bcfg := cfg
	bcfg.URL, bcfg.Logger = url, quiet()
	next, err := bridge.New(e.store, bcfg)
	if err != nil {
		t.Fatal(err)
	}
	goRun(t, "next bridge", next.Run)
	src, err := NewAMQPSource(AMQPConfig{URL: url, Topology: top, Prefetch: 32, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := e.runner(e.store, "amqp-runner", Config{Concurrency: 32}, src)

	eventually(t, 45*time.Second, "completion", func() bool { return e.completed("app-1", "b-bridge") })
	time.Sleep(300 * time.Millisecond) // let a second completion show, if there were one
	res := e.results("app-1", "b-bridge")
	if len(res) != n {
		t.Fatalf("%d results, want %d", len(res), n)
	}
	c := e.completions("app-1", "b-bridge")
	if len(c) != 1 || c[0].Totals != (batch.Totals{Total: n, Passed: n}) {
		t.Fatalf("completions %+v", c)
	}
	// Every request the doomed bridge published went out again: duplicates on the queue.
	if got := killedAt.Published + next.Stats().Published; got < n+window {
		t.Fatalf("%d publications (doomed %+v, next %+v), want at least %d", got, killedAt, next.Stats(), n+window)
	}
	eventually(t, 20*time.Second, "every duplicate consumed", func() bool {
		st := r.Stats()
		return st.Recorded == n && st.Executed == n+int64(window) && st.Duplicates == int64(window)
	})
	eventually(t, 10*time.Second, "an empty queue", func() bool { return queueDepth(t, url, top.Queue) == 0 })
	t.Logf("doomed bridge %+v; next bridge %+v; runner %+v", killedAt, next.Stats(), r.Stats())
}
