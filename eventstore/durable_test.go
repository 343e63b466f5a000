package eventstore_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

func fetch(t *testing.T, c *eventstore.Consumer, max int, wait time.Duration) []*eventstore.Delivery {
	t.Helper()
	ds, err := c.Fetch(testCtx(t), max, wait)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return ds
}

func ackAll(t *testing.T, ds []*eventstore.Delivery) []uint64 {
	t.Helper()
	var out []uint64
	for _, d := range ds {
		if err := d.Ack(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		out = append(out, d.Seq)
	}
	return out
}

func durable(t *testing.T, s *eventstore.Store, cfg eventstore.ConsumerConfig) *eventstore.Consumer {
	t.Helper()
	c, err := s.Durable(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDurableFetchAck(t *testing.T) {
	t.Parallel()
	s := start(t)
	for i := range 5 {
		mustAppend(t, s, nil, env("a", i))
	}
	c := durable(t, s, eventstore.ConsumerConfig{Name: "proj"})
	ds := fetch(t, c, 10, time.Second)
	if got := ackAll(t, ds); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("fetched %v, want 1..5", got)
	}
	for i, d := range ds {
		if d.Err != nil || !reflect.DeepEqual(d.Env.Data, noted{Key: "a", N: i}) || d.NumDelivered != 1 || d.Env.Seq != d.Seq {
			t.Fatalf("delivery %d = %+v", i, d)
		}
	}
	begin := time.Now()
	if ds := fetch(t, c, 10, 100*time.Millisecond); len(ds) != 0 {
		t.Fatalf("fetched %d after acking all, want none", len(ds))
	}
	if waited := time.Since(begin); waited > 2*time.Second {
		t.Fatalf("empty fetch took %s, want about its 100ms wait", waited)
	}
	info, err := c.Info(testCtx(t))
	if err != nil || info.NumAckPending != 0 || info.AckFloor.Stream != 5 {
		t.Fatalf("info = %+v, %v; want everything acknowledged", info, err)
	}
}

// A waiting Fetch returns as soon as a message arrives, not when its wait runs out.
func TestDurableFetchWakes(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := durable(t, s, eventstore.ConsumerConfig{Name: "waiter"})
	type result struct {
		ds  []*eventstore.Delivery
		err error
	}
	done := make(chan result, 1)
	begin := time.Now()
	go func() {
		ds, err := c.Fetch(testCtx(t), 10, 20*time.Second)
		done <- result{ds, err}
	}()
	// Append only once the pull request waits on the server, else the fast path takes it.
	for {
		info, err := c.Info(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.NumWaiting > 0 {
			break
		}
		time.Sleep(time.Millisecond) // polling the server: there is no event to wait on
	}
	mustAppend(t, s, nil, env("a", 1))
	r := <-done
	if r.err != nil || len(r.ds) != 1 {
		t.Fatalf("fetch = %d, %v; want 1 message", len(r.ds), r.err)
	}
	if waited := time.Since(begin); waited > 10*time.Second {
		t.Fatalf("fetch took %s, want it to return on arrival", waited)
	}
	ackAll(t, r.ds)
}

func TestDurableNakRedelivers(t *testing.T) {
	t.Parallel()
	s := start(t)
	mustAppend(t, s, nil, env("a", 1))
	c := durable(t, s, eventstore.ConsumerConfig{Name: "nak"})
	ds := fetch(t, c, 1, time.Second)
	if len(ds) != 1 {
		t.Fatalf("fetched %d, want 1", len(ds))
	}
	if err := ds[0].Nak(0); err != nil {
		t.Fatal(err)
	}
	again := fetch(t, c, 1, 5*time.Second)
	if len(again) != 1 || again[0].Seq != 1 || again[0].NumDelivered != 2 {
		t.Fatalf("redelivery = %+v, want seq 1 delivered twice", again)
	}
	if err := again[0].InProgress(); err != nil {
		t.Fatal(err)
	}
	ackAll(t, again)
}

// A message that does not decode still comes back, with Err and what the headers say.
func TestDurablePoison(t *testing.T) {
	t.Parallel()
	s := start(t)
	mustAppend(t, s, nil, env("a", 1))
	seq := publishRaw(t, s, "events.test.a", "test.from_the_future", "1", `{}`)
	c := durable(t, s, eventstore.ConsumerConfig{Name: "poison"})
	ds := fetch(t, c, 10, time.Second)
	if len(ds) != 2 || ds[0].Err != nil {
		t.Fatalf("fetched %+v, want a good message then a poison one", ds)
	}
	p := ds[1]
	if !errors.Is(p.Err, domain.ErrUnknownEvent) || p.Seq != seq || p.Env.Seq != seq ||
		p.Env.Subject != "events.test.a" || p.Env.Type != "test.from_the_future" || p.Env.ID == "" {
		t.Fatalf("poison delivery = %+v (err %v)", p.Env, p.Err)
	}
	if err := p.Term("unknown event type"); err != nil {
		t.Fatal(err)
	}
	ackAll(t, ds[:1])
}

// A second handle on the same durable name shares its deliveries.
func TestDurableShared(t *testing.T) {
	t.Parallel()
	s := start(t)
	for i := range 10 {
		mustAppend(t, s, nil, env("a", i))
	}
	cfg := eventstore.ConsumerConfig{Name: "shared", MaxAckPending: 100}
	one, two := durable(t, s, cfg), durable(t, s, cfg)
	got := ackAll(t, fetch(t, one, 4, time.Second))
	got = append(got, ackAll(t, fetch(t, two, 100, time.Second))...)
	if !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Fatalf("the two handles got %v, want 1..10 once each", got)
	}
}

// StartAfter applies when the consumer is created; calling Durable again never moves it.
func TestDurableStartAfterAndFilters(t *testing.T) {
	t.Parallel()
	s := start(t)
	for i := range 6 {
		mustAppend(t, s, nil, env([]string{"a", "b"}[i%2], i))
	}
	cfg := eventstore.ConsumerConfig{Name: "late", StartAfter: 2, Filters: []string{"events.test.b"}}
	if got := ackAll(t, fetch(t, durable(t, s, cfg), 10, time.Second)); !slices.Equal(got, []uint64{4, 6}) {
		t.Fatalf("fetched %v, want b's events after 2: [4 6]", got)
	}
	cfg.StartAfter, cfg.AckWait = 0, time.Minute
	c := durable(t, s, cfg)
	if ds := fetch(t, c, 10, 100*time.Millisecond); len(ds) != 0 {
		t.Fatalf("after re-declaring, fetched %d, want none", len(ds))
	}
	info, err := c.Info(testCtx(t))
	if err != nil || info.Config.AckWait != time.Minute {
		t.Fatalf("info = %+v, %v; want AckWait updated to 1m", info, err)
	}
}

func TestDeleteDurable(t *testing.T) {
	t.Parallel()
	s := start(t)
	mustAppend(t, s, nil, env("a", 1))
	ctx := testCtx(t)
	ackAll(t, fetch(t, durable(t, s, eventstore.ConsumerConfig{Name: "gone"}), 10, time.Second))
	if err := s.DeleteDurable(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDurable(ctx, "gone"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if got := ackAll(t, fetch(t, durable(t, s, eventstore.ConsumerConfig{Name: "gone"}), 10, time.Second)); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("recreated consumer fetched %v, want [1]", got)
	}
	if _, err := s.Durable(ctx, eventstore.ConsumerConfig{Name: "bad.name"}); err == nil {
		t.Fatal("a durable name with '.' was accepted")
	}
}
