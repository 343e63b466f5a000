package eventstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

// Run: go test -run '^$' -bench . ./eventstore/
//
// Each Append benchmark has a raw-publish twin with the same bytes and headers, so the
// store's own cost is the difference, measured on the same (noisy, shared) machine.

func benchStore(b *testing.B, sync bool) *eventstore.Store {
	b.Helper()
	return estest.StartWith(b, testCatalog(), eventstore.EmbeddedConfig{SyncAlways: &sync}, eventstore.Config{})
}

func forSync(b *testing.B, fn func(b *testing.B, s *eventstore.Store)) {
	for _, sync := range []bool{true, false} {
		b.Run("sync="+strconv.FormatBool(sync), func(b *testing.B) { fn(b, benchStore(b, sync)) })
	}
}

func reportEvents(b *testing.B, events int, elapsed time.Duration) {
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
}

// BenchmarkAppendSingle: one event per call, each on a new subject expecting 0.
func BenchmarkAppendSingle(b *testing.B) {
	forSync(b, func(b *testing.B, s *eventstore.Store) {
		ctx, n, begin := context.Background(), 0, time.Now()
		for b.Loop() {
			e := env("single."+strconv.Itoa(n), n)
			if _, err := s.Append(ctx, eventstore.Expect{e.Subject: 0}, e); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportEvents(b, n, time.Since(begin))
	})
}

// BenchmarkRawPublishSingle: js.PublishMsg of an appended event's bytes and headers,
// without an expectation.
func BenchmarkRawPublishSingle(b *testing.B) {
	forSync(b, func(b *testing.B, s *eventstore.Store) {
		tmpl := storedTemplate(b, s)
		ctx, n, begin := context.Background(), 0, time.Now()
		for b.Loop() {
			if _, err := s.JetStream().PublishMsg(ctx, rawCopy(tmpl, n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportEvents(b, n, time.Since(begin))
	})
}

// BenchmarkAppendBatch1000: atomic batches of 1,000 events (the server's limit), each on
// its own subject expecting 0, like a batch's execution requests.
func BenchmarkAppendBatch1000(b *testing.B) {
	forSync(b, func(b *testing.B, s *eventstore.Store) {
		ctx, n, begin := context.Background(), 0, time.Now()
		for b.Loop() {
			envs, expect := make([]domain.Envelope, eventstore.MaxBatch), eventstore.Expect{}
			for i := range envs {
				envs[i] = env(fmt.Sprintf("batch.%d", n+i), n+i)
				expect[envs[i].Subject] = 0
			}
			if _, err := s.Append(ctx, expect, envs...); err != nil {
				b.Fatal(err)
			}
			n += len(envs)
		}
		reportEvents(b, n, time.Since(begin))
	})
}

// BenchmarkRawPublish1000: the same bytes through PublishMsgAsync with a 4,096 window,
// waiting for every ack.
func BenchmarkRawPublish1000(b *testing.B) {
	forSync(b, func(b *testing.B, s *eventstore.Store) {
		tmpl := storedTemplate(b, s)
		js, err := jetstream.New(s.JetStream().Conn(), jetstream.WithPublishAsyncMaxPending(4096))
		if err != nil {
			b.Fatal(err)
		}
		n, begin := 0, time.Now()
		for b.Loop() {
			futures := make([]jetstream.PubAckFuture, 0, 1000)
			for range 1000 {
				f, err := js.PublishMsgAsync(rawCopy(tmpl, n))
				if err != nil {
					b.Fatal(err)
				}
				futures = append(futures, f)
				n++
			}
			waitAcks(b, js, futures)
		}
		reportEvents(b, n, time.Since(begin))
	})
}

func waitAcks(b *testing.B, js jetstream.JetStream, futures []jetstream.PubAckFuture) {
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("async acks did not arrive")
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad10000: an aggregate of 10,000 events on one subject, loaded whole.
// Appended one by one, as commands append to an aggregate, or in atomic batches of
// 1,000, whose messages keep three more headers (Nats-Batch-Id, -Sequence, -Commit).
func BenchmarkLoad10000(b *testing.B) {
	for _, batched := range []bool{false, true} {
		b.Run("batched="+strconv.FormatBool(batched), func(b *testing.B) {
			s := benchStore(b, false)
			appendAggregate(b, s, 10_000, batched)
			ctx, n, begin := context.Background(), 0, time.Now()
			for b.Loop() {
				envs, _, err := s.Load(ctx, "events.test.big")
				if err != nil || len(envs) != 10_000 {
					b.Fatalf("load: %d events, %v", len(envs), err)
				}
				n += len(envs)
			}
			reportEvents(b, n, time.Since(begin))
		})
	}
}

// BenchmarkLoad5: a typical aggregate, five events among 10,000 others: the latency a
// command pays to load (last sequence, consumer create, read, consumer delete).
func BenchmarkLoad5(b *testing.B) {
	s := benchStore(b, false)
	appendAggregate(b, s, 10_000, true)
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.Append(ctx, nil, env("small", i)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if envs, _, err := s.Load(ctx, "events.test.small"); err != nil || len(envs) != 5 {
			b.Fatalf("load: %d events, %v", len(envs), err)
		}
	}
}

// appendAggregate appends count events to events.test.big.
func appendAggregate(b *testing.B, s *eventstore.Store, count int, batched bool) {
	b.Helper()
	ctx, size := context.Background(), 1
	if batched {
		size = eventstore.MaxBatch
	}
	for i := 0; i < count; i += size {
		envs := make([]domain.Envelope, size)
		for j := range envs {
			envs[j] = env("big", i+j)
		}
		if _, err := s.Append(ctx, nil, envs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawOrdered10000 is Load's ceiling: the same ordered consumer over 10,000
// messages without decoding them, once with the store's headers and once with none.
// The difference between the two is nats.go parsing a dozen headers per message.
func BenchmarkRawOrdered10000(b *testing.B) {
	for _, headers := range []bool{true, false} {
		b.Run("headers="+strconv.FormatBool(headers), func(b *testing.B) {
			s := benchStore(b, false)
			ctx := context.Background()
			if headers {
				appendAggregate(b, s, 10_000, false)
			} else {
				tmpl := storedTemplate(b, s)
				for range 10_000 {
					if _, err := s.JetStream().Publish(ctx, "events.test.big", tmpl.Data); err != nil {
						b.Fatal(err)
					}
				}
			}
			stream, err := s.JetStream().Stream(ctx, s.StreamName())
			if err != nil {
				b.Fatal(err)
			}
			n, begin := 0, time.Now()
			for b.Loop() {
				n += readRaw(b, stream, "events.test.big", 10_000)
			}
			reportEvents(b, n, time.Since(begin))
		})
	}
}

func readRaw(b *testing.B, stream jetstream.Stream, filter string, count int) int {
	ctx := context.Background()
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	for range count {
		if _, err := it.Next(jetstream.NextContext(ctx)); err != nil {
			b.Fatal(err)
		}
	}
	return count
}

// storedTemplate appends one event and reads back the message the store wrote.
func storedTemplate(b *testing.B, s *eventstore.Store) *nats.Msg {
	b.Helper()
	ctx := context.Background()
	out, err := s.Append(ctx, nil, env("template", 0))
	if err != nil {
		b.Fatal(err)
	}
	stream, err := s.JetStream().Stream(ctx, s.StreamName())
	if err != nil {
		b.Fatal(err)
	}
	raw, err := stream.GetMsg(ctx, out[0].Seq)
	if err != nil {
		b.Fatal(err)
	}
	return &nats.Msg{Subject: raw.Subject, Header: raw.Header, Data: raw.Data}
}

// rawCopy is the template on a new subject with a new message id (else deduplicated).
func rawCopy(tmpl *nats.Msg, n int) *nats.Msg {
	h := make(nats.Header, len(tmpl.Header))
	for k, v := range tmpl.Header {
		h[k] = v
	}
	id := "raw-" + strconv.Itoa(n)
	h[jetstream.MsgIDHeader], h[eventstore.HeaderID] = []string{id}, []string{id}
	return &nats.Msg{Subject: "events.test.raw." + strconv.Itoa(n), Header: h, Data: tmpl.Data}
}

// BenchmarkRawAtomicBatch1000: the same bytes as AppendBatch1000 (with each message's
// expected-sequence header) through jetstreamext.PublishMsgBatch directly: the ceiling
// of an atomic append.
func BenchmarkRawAtomicBatch1000(b *testing.B) {
	forSync(b, func(b *testing.B, s *eventstore.Store) {
		tmpl := storedTemplate(b, s)
		ctx, n, begin := context.Background(), 0, time.Now()
		for b.Loop() {
			msgs := make([]*nats.Msg, eventstore.MaxBatch)
			for i := range msgs {
				msgs[i] = rawCopy(tmpl, n)
				msgs[i].Header[jetstream.ExpectedLastSubjSeqHeader] = []string{"0"}
				n++
			}
			if _, err := jetstreamext.PublishMsgBatch(ctx, s.JetStream(), msgs); err != nil {
				b.Fatal(err)
			}
		}
		reportEvents(b, n, time.Since(begin))
	})
}
