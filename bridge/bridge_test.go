package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

// testTopology is a topology with names of its own, deleted when the test ends.
func testTopology(t *testing.T, url string) Topology {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	sfx := ".t-" + hex.EncodeToString(b[:])
	top := Topology{
		Exchange: DefaultExchange + sfx, Queue: DefaultQueue + sfx, RoutingKey: DefaultRoutingKey,
		DeadExchange: DefaultDeadExchange + sfx, DeadQueue: DefaultDeadQueue + sfx, DeliveryLimit: DefaultDeliveryLimit,
	}
	t.Cleanup(func() {
		withChannel(t, url, func(ch *amqp.Channel) {
			if err := top.Delete(ch); err != nil {
				t.Errorf("delete topology: %v", err)
			}
		})
	})
	return top
}

func withChannel(t *testing.T, url string, f func(ch *amqp.Channel)) {
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

func appendRequests(t *testing.T, store *eventstore.Store, app, batchID string, n int) {
	t.Helper()
	envs := make([]domain.Envelope, 0, 100)
	flush := func() {
		if len(envs) == 0 {
			return
		}
		if _, err := store.Append(context.Background(), nil, envs...); err != nil {
			t.Fatalf("append: %v", err)
		}
		envs = envs[:0]
	}
	for i := range n {
		envs = append(envs, domain.Envelope{ID: uuid.NewString(), Data: batch.CaseExecutionRequested{
			AppID: app, BatchID: batchID, CaseID: fmt.Sprintf("c%05d", i), InterfaceID: "if-1",
			Request:   batch.HTTPRequest{Method: "GET", URL: "http://127.0.0.1:1/x"},
			TimeoutMS: 1000, At: time.Now().UTC(),
		}, Meta: domain.Metadata{CorrelationID: "corr-" + batchID}})
		if len(envs) == 100 {
			flush()
		}
	}
	flush()
}

func TestTopologyDeclareTwice(t *testing.T) {
	url := testenv.AMQPURL(t)
	top := testTopology(t, url)
	withChannel(t, url, func(ch *amqp.Channel) {
		for i := range 2 {
			if err := top.Declare(ch); err != nil {
				t.Fatalf("declare %d: %v", i+1, err)
			}
		}
		q, err := ch.QueueDeclarePassive(top.Queue, true, false, false, false, top.QueueArgs())
		if err != nil || q.Messages != 0 {
			t.Fatalf("queue %+v, %v", q, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{Window: -1, ConsumerName: "a.b", Topology: Topology{DeliveryLimit: -2}}
	cfg.setDefaults()
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"empty RabbitMQ URL", "consumer name", "window -1", "delivery limit -2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	good := Config{URL: "amqp://guest:guest@127.0.0.1:5672/"}
	good.setDefaults()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if good.Window != 256 || good.ConsumerName != "bridge" || good.Topology != DefaultTopology() {
		t.Fatalf("defaults %+v", good)
	}
}

var traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)

func TestTraceparent(t *testing.T) {
	id := uuid.NewString()
	tp := Traceparent(id)
	if !traceparentRE.MatchString(tp) || tp[3:35] != strings.ReplaceAll(id, "-", "") {
		t.Fatalf("traceparent %q for correlation %s", tp, id)
	}
	a, b := Traceparent("corr-1"), Traceparent("corr-1")
	if !traceparentRE.MatchString(a) || a[3:35] != b[3:35] || a == b {
		t.Fatalf("derived %q %q: same trace, other span wanted", a, b)
	}
	if r1, r2 := Traceparent(""), Traceparent(""); !traceparentRE.MatchString(r1) || r1[3:35] == r2[3:35] {
		t.Fatalf("random %q %q", r1, r2)
	}
}

// runBridge runs a bridge until the test ends and checks that Run returned nil.
func runBridge(t *testing.T, br *Bridge) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- br.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("bridge run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("bridge Run did not return after cancel")
		}
		if br.Ready() == nil {
			t.Error("a stopped bridge says it is ready")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for br.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("bridge not ready: %v", br.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBridgeMovesExecEvents(t *testing.T) {
	const n = 2000
	url := testenv.AMQPURL(t)
	top := testTopology(t, url)
	store := estest.Start(t, catalog.New())
	appendRequests(t, store, "app-1", "b-1", n)
	// A poison message on an exec subject: never published, terminated and counted.
	_, err := store.JetStream().PublishMsg(context.Background(), &nats.Msg{
		Subject: domain.ExecSubject("app-1", "b-1", "poison"),
		Header:  nats.Header{eventstore.HeaderType: []string{"batch.case_execution_requested"}, eventstore.HeaderID: []string{"p-1"}},
		Data:    []byte("{not json"),
	})
	if err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	br, err := New(store, Config{URL: url, Topology: top, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if br.Ready() == nil {
		t.Fatal("ready before Run")
	}
	runBridge(t, br)

	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(500, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume(top.Queue, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, n)
	cases := make(map[string]bool, n)
	timeout := time.After(60 * time.Second)
	for len(seen) < n {
		select {
		case d := <-ds:
			if len(seen) == 0 {
				checkMessage(t, d)
			}
			var req batch.CaseExecutionRequested
			if err := json.Unmarshal(d.Body, &req); err != nil {
				t.Fatalf("body %q: %v", d.Body, err)
			}
			if d.Headers[HeaderCaseID] != req.CaseID {
				t.Fatalf("header case %v, body case %s", d.Headers[HeaderCaseID], req.CaseID)
			}
			seen[d.MessageId], cases[req.CaseID] = true, true
			if err := d.Ack(false); err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatalf("%d of %d messages arrived; stats %+v", len(seen), n, br.Stats())
		}
	}
	if len(cases) != n {
		t.Fatalf("%d distinct cases, want %d", len(cases), n)
	}

	// Every request confirmed by RabbitMQ was acknowledged on JetStream.
	waitDrained(t, store, n+1)
	if st := br.Stats(); st.Published != n || st.Confirmed != n || st.Undecodable != 1 || st.Connects != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, m := range []struct {
		name      string
		c         prometheus.Collector
		got, want float64
	}{
		{"published", br.m.published, 0, n}, {"confirmed", br.m.confirmed, 0, n}, {"undecodable", br.m.undecodable, 0, 1},
		{"nacked", br.m.nacked, 0, 0}, {"reconnects", br.m.reconnects, 0, 0}, {"unconfirmed", br.m.unconfirmed, 0, 0},
		{"ready", br.m.ready, 0, 1},
	} {
		if got := testutil.ToFloat64(m.c); got != m.want {
			t.Errorf("assay_bridge_%s = %v, want %v", m.name, got, m.want)
		}
	}
	if got := histogramCount(t, reg, "assay_bridge_confirm_seconds"); got != n {
		t.Errorf("%d confirmation latencies observed, want %d", got, n)
	}
}

// histogramCount is the number of observations of the histogram called name in reg.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0
}

func checkMessage(t *testing.T, d amqp.Delivery) {
	t.Helper()
	if _, err := uuid.Parse(d.MessageId); err != nil {
		t.Errorf("message id %q is not the event id: %v", d.MessageId, err)
	}
	if d.DeliveryMode != amqp.Persistent || d.ContentType != "application/json" {
		t.Errorf("delivery mode %d, content type %q", d.DeliveryMode, d.ContentType)
	}
	want := map[string]string{
		HeaderAppID: "app-1", HeaderBatchID: "b-1", eventstore.HeaderType: "batch.case_execution_requested",
		eventstore.HeaderID: d.MessageId, eventstore.HeaderCorrelationID: "corr-b-1",
	}
	for k, v := range want {
		if d.Headers[k] != v {
			t.Errorf("header %s = %v, want %s", k, d.Headers[k], v)
		}
	}
	tp, _ := d.Headers[HeaderTraceparent].(string)
	if !traceparentRE.MatchString(tp) || tp[3:35] != traceID("corr-b-1") {
		t.Errorf("traceparent %q", tp)
	}
}

// A message RabbitMQ returns as unroutable is handed back to JetStream and published
// again once the queue is bound again.
func TestBridgeReturnedMessageIsRetried(t *testing.T) {
	url := testenv.AMQPURL(t)
	top := testTopology(t, url)
	store := estest.Start(t, catalog.New())
	withChannel(t, url, func(ch *amqp.Channel) {
		if err := top.Declare(ch); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueUnbind(top.Queue, top.RoutingKey, top.Exchange, nil); err != nil {
			t.Fatal(err)
		}
	})
	// The bridge declares the topology when it connects, binding the queue again:
	// unbind it once more after that, publish, then bind it.
	br, err := New(store, Config{URL: url, Topology: top, RetryDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runBridge(t, br)
	withChannel(t, url, func(ch *amqp.Channel) {
		if err := ch.QueueUnbind(top.Queue, top.RoutingKey, top.Exchange, nil); err != nil {
			t.Fatal(err)
		}
	})
	appendRequests(t, store, "app-1", "b-1", 3)
	deadline := time.Now().Add(10 * time.Second)
	for br.Stats().Returned < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", br.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	withChannel(t, url, func(ch *amqp.Channel) {
		if err := ch.QueueBind(top.Queue, top.RoutingKey, top.Exchange, false, nil); err != nil {
			t.Fatal(err)
		}
	})
	for {
		var msgs int
		withChannel(t, url, func(ch *amqp.Channel) {
			q, err := ch.QueueDeclarePassive(top.Queue, true, false, false, false, top.QueueArgs())
			if err != nil {
				t.Fatal(err)
			}
			msgs = q.Messages
		})
		if msgs == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages on the queue, want 3; stats %+v", msgs, br.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for br.Stats().Confirmed != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", br.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r, c := testutil.ToFloat64(br.m.returned), testutil.ToFloat64(br.m.confirmed); r < 3 || c != 3 {
		t.Errorf("assay_bridge_returned_total %v (want at least 3), assay_bridge_confirmed_total %v (want 3)", r, c)
	}
}

// Connections cut while requests flow: the bridge reconnects, says it is not ready in
// between, and every request still reaches the queue (some perhaps twice).
func TestBridgeReconnects(t *testing.T) {
	const n = 3000
	url := testenv.AMQPURL(t)
	top := testTopology(t, url)
	px, purl := testenv.NewAMQPProxy(t, url)
	store := estest.Start(t, catalog.New())

	br, err := New(store, Config{URL: purl, Topology: top, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, RetryDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	appendRequests(t, store, "app-1", "b-1", n)
	runBridge(t, br)

	for cuts := 0; cuts < 3; {
		if br.Stats().Published > int64(cuts+1)*n/5 && px.Cut() > 0 {
			cuts++
		}
		time.Sleep(time.Millisecond)
	}
	// While RabbitMQ cannot be reached, Ready says so.
	px.Refuse(true)
	px.Cut()
	waitFor(t, func() bool { return br.Ready() != nil }, "not ready while disconnected")
	if got := testutil.ToFloat64(br.m.ready); got != 0 {
		t.Errorf("assay_bridge_ready %v while disconnected", got)
	}
	px.Refuse(false)
	waitFor(t, func() bool { return br.Ready() == nil }, "ready again")
	if got := testutil.ToFloat64(br.m.ready); got != 1 {
		t.Errorf("assay_bridge_ready %v once reconnected", got)
	}

	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(500, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume(top.Queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := make(map[string]int, n)
	timeout := time.After(60 * time.Second)
	for len(cases) < n {
		select {
		case d := <-ds:
			cases[d.Headers[HeaderCaseID].(string)]++
		case <-timeout:
			t.Fatalf("%d of %d cases arrived; stats %+v", len(cases), n, br.Stats())
		}
	}
	waitDrained(t, store, n)
	st := br.Stats()
	if st.Connects < 2 || testutil.ToFloat64(br.m.reconnects) != float64(st.Connects-1) {
		t.Errorf("stats %+v, assay_bridge_reconnects_total %v: want the reconnections after the cuts counted",
			st, testutil.ToFloat64(br.m.reconnects))
	}
	t.Logf("stats %+v", st)
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDrained waits until the bridge's JetStream consumer has nothing pending and
// its ack floor has reached n.
func waitDrained(t *testing.T, store *eventstore.Store, n uint64) {
	t.Helper()
	stream, err := store.JetStream().Stream(context.Background(), store.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cons, err := stream.Consumer(context.Background(), "bridge")
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jetstream consumer: pending %d, ack pending %d, ack floor %d", info.NumPending, info.NumAckPending, info.AckFloor.Stream)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
