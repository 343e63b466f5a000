package eventstore_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// Every header is written in the CloudEvents NATS binding and the envelope comes
// back from Load exactly as appended.
func TestHeadersRoundTrip(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("X", 3*3600))
	in := domain.Envelope{
		ID: "ev-1", Subject: "events.test.a", Time: at,
		Meta: domain.Metadata{CommandID: "c", RequestID: "r", UserID: "u", CorrelationID: "co", CausationID: "ca"},
		Data: noted{Key: "a", N: 7, Tags: map[string]string{"k": "v"}},
	}
	out := mustAppend(t, s, nil, in)

	raw, err := s.JetStream().Stream(ctx, s.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := raw.GetMsg(ctx, out[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Nats-Msg-Id": "ev-1", "ce-specversion": "1.0", "ce-id": "ev-1", "ce-type": "test.noted",
		"ce-source": "/assay", "ce-subject": "events.test.a", "ce-time": "2026-03-04T02:06:07.123456789Z",
		"ce-datacontenttype": "application/json", "ce-schemaversion": "1",
		"ce-commandid": "c", "ce-requestid": "r", "ce-userid": "u", "ce-correlationid": "co", "ce-causationid": "ca",
	}
	for k, v := range want {
		if got := msg.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}

	loaded, last, err := s.Load(ctx, "events.test.a")
	if err != nil || len(loaded) != 1 || last != out[0].Seq {
		t.Fatalf("load = %v, %d, %v", loaded, last, err)
	}
	got := loaded[0]
	if !got.Time.Equal(at) || got.Time.Location() != time.UTC || got.Time.Nanosecond() != 123456789 {
		t.Errorf("time = %v, want %v in UTC to the nanosecond", got.Time, at)
	}
	wantEnv := in
	wantEnv.Type, wantEnv.Version, wantEnv.Seq, wantEnv.Time = "test.noted", 1, out[0].Seq, at.UTC()
	if !reflect.DeepEqual(got, wantEnv) || !reflect.DeepEqual(out[0], wantEnv) {
		t.Errorf("loaded %+v\nappended %+v\nwant %+v", got, out[0], wantEnv)
	}
}

// Optional headers are absent, not empty, when the metadata is empty.
func TestHeadersOmitEmptyMeta(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	out := mustAppend(t, s, nil, env("a", 1))
	raw, _ := s.JetStream().Stream(ctx, s.StreamName())
	msg, err := raw.GetMsg(ctx, out[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ce-commandid", "ce-requestid", "ce-userid", "ce-correlationid", "ce-causationid"} {
		if _, ok := msg.Header[k]; ok {
			t.Errorf("header %s present for empty metadata", k)
		}
	}
}

func TestLoadEmpty(t *testing.T) {
	t.Parallel()
	s := start(t)
	mustAppend(t, s, nil, env("other", 1))
	envs, last, err := s.Load(testCtx(t), "events.test.none", "events.test.none.>")
	if err != nil || envs != nil || last != 0 {
		t.Fatalf("load = %v, %d, %v; want nil, 0, nil", envs, last, err)
	}
}

// Load ends at the sequence it captured even while another goroutine keeps appending.
func TestLoadStopsWhileAppending(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	for i := range 10 {
		batch := make([]domain.Envelope, 50)
		for j := range batch {
			batch[j] = env("a", i*50+j)
		}
		mustAppend(t, s, nil, batch...)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Append(ctx, nil, env("a", -1)); err != nil && ctx.Err() == nil {
				t.Errorf("background append: %v", err)
				return
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	waitAppended(t, s, "events.test.a", 501) // the appender is under way
	for range 5 {
		envs, last, err := s.Load(ctx, "events.test.a")
		if err != nil {
			t.Fatal(err)
		}
		if len(envs) < 500 || envs[len(envs)-1].Seq != last {
			t.Fatalf("load: %d events, last event seq %d, last %d", len(envs), envs[len(envs)-1].Seq, last)
		}
	}
}

// Two filters merge in stream order; other subjects stay out.
func TestLoadTwoFiltersMerge(t *testing.T) {
	t.Parallel()
	s := start(t)
	batch := "events.app.A.batch.B"
	var want []uint64
	for i := range 6 {
		subj := batch
		if i%2 == 1 {
			subj = batch + ".exec.c" + string(rune('0'+i))
		}
		e := env("x", i)
		e.Subject = subj
		want = append(want, mustAppend(t, s, nil, e)[0].Seq)
		mustAppend(t, s, nil, env("noise", i))
	}
	envs, last, err := s.Load(testCtx(t), batch, batch+".>")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs(envs), want) || last != want[len(want)-1] {
		t.Fatalf("seqs %v last %d, want %v", seqs(envs), last, want)
	}
	// The batch's own subject was last written at want[4], the tree at want[5]: an
	// append to the batch subject must expect the former.
	own := eventstore.LastSeqOn(envs, batch)
	if own != want[4] || eventstore.LastSeqOn(envs, "events.none") != 0 {
		t.Fatalf("LastSeqOn = %d, want %d", own, want[4])
	}
	e := env("x", 9)
	e.Subject = batch
	if _, err := s.Append(testCtx(t), eventstore.Expect{batch: last}, e); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("expecting the tree's last seq on the subject: err = %v, want a conflict", err)
	}
	mustAppend(t, s, eventstore.Expect{batch: own}, e)
}

// An event type this build does not know is an error naming its sequence.
func TestLoadUnknownEvent(t *testing.T) {
	t.Parallel()
	s := start(t)
	mustAppend(t, s, nil, env("a", 1))
	seq := publishRaw(t, s, "events.test.a", "test.from_the_future", "1", `{}`)
	_, _, err := s.Load(testCtx(t), "events.test.a")
	if !errors.Is(err, domain.ErrUnknownEvent) || !contains(err.Error(), "seq 2") || seq != 2 {
		t.Fatalf("err = %v, want ErrUnknownEvent naming seq 2", err)
	}
	publishRaw(t, s, "events.test.b", "test.noted", "1", `{not json`)
	if _, _, err = s.Load(testCtx(t), "events.test.b"); err == nil || !contains(err.Error(), "seq 3") {
		t.Fatalf("corrupt data: err = %v, want an error naming seq 3", err)
	}
}

// A version-1 message is upcast to the current version on read.
func TestLoadUpcasts(t *testing.T) {
	t.Parallel()
	s := start(t)
	publishRaw(t, s, "events.test.renamed", "test.renamed", "1", `{"title":"old"}`)
	envs, _, err := s.Load(testCtx(t), "events.test.renamed")
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 1 || envs[0].Data != (renamed{Name: "old"}) || envs[0].Version != 2 {
		t.Fatalf("loaded %+v, want renamed{old} at version 2", envs)
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	for i := 1; i <= 10; i++ {
		key := "a"
		if i%3 == 0 {
			key = "b"
		}
		mustAppend(t, s, nil, env(key, i))
	}
	replay := func(from, to uint64, filters ...string) []uint64 {
		var got []uint64
		err := s.Replay(ctx, from, to, filters, func(e domain.Envelope) error {
			got = append(got, e.Seq)
			return nil
		})
		if err != nil {
			t.Fatalf("replay(%d, %d, %v): %v", from, to, filters, err)
		}
		return got
	}
	check := func(got, want []uint64) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	check(replay(4, 0), []uint64{5, 6, 7, 8, 9, 10})
	check(replay(3, 7), []uint64{4, 5, 6, 7})
	check(replay(0, 5, "events.test.b"), []uint64{3})
	check(replay(3, 5, "events.test.b"), nil)
	check(replay(10, 0), nil)
	check(replay(0, 100, "events.test.b"), []uint64{3, 6, 9})

	stop := errors.New("stop")
	var n int
	err := s.Replay(ctx, 0, 0, nil, func(domain.Envelope) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("replay stopped with %v after %d, want stop after 3", err, n)
	}
}

func TestLoadHonoursContext(t *testing.T) {
	t.Parallel()
	s := start(t)
	mustAppend(t, s, nil, env("a", 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Load(ctx, "events.test.a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestLastSubjectSeq(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	mustAppend(t, s, nil, env("a.x", 1), env("a.y", 2), env("b", 3))
	for filter, want := range map[string]uint64{"events.test.a.>": 2, "events.test.b": 3, "events.test.c": 0} {
		if got, err := s.LastSubjectSeq(ctx, filter); err != nil || got != want {
			t.Errorf("LastSubjectSeq(%s) = %d, %v; want %d", filter, got, err, want)
		}
	}
}

// waitAppended waits until subject has at least seq as its last sequence.
func waitAppended(t *testing.T, s *eventstore.Store, subject string, seq uint64) {
	t.Helper()
	ctx := testCtx(t)
	for {
		last, err := s.LastSubjectSeq(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		if last >= seq {
			return
		}
		time.Sleep(time.Millisecond) // polling the server: there is no event to wait on
	}
}
