package eventstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/eventstore"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := eventstore.Config{Stream: "a.b", Replicas: 0, DuplicateWindow: time.Minute}.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"stream name", "subjects", "replicas", "duplicate window", "source"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	ok := eventstore.Config{Stream: "EVENTS", Subjects: []string{"events.>"}, Replicas: 3,
		DuplicateWindow: 2 * time.Minute, Source: "/assay"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

// Opening twice is harmless, and the stream has the log's settings: nobody can purge
// or delete history.
func TestOpenIdempotentAndProtected(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	mustAppend(t, s, nil, env("a", 1))
	again, err := eventstore.Open(ctx, s.JetStream().Conn(), s.Catalog(), eventstore.Config{})
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	if last, _ := again.LastSeq(ctx); last != 1 {
		t.Fatalf("after second open, last seq = %d, want 1", last)
	}
	stream, err := s.JetStream().Stream(ctx, "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	if !cfg.DenyDelete || !cfg.DenyPurge || !cfg.AllowAtomicPublish || cfg.MaxAge != 0 ||
		cfg.Storage != jetstream.FileStorage || cfg.Retention != jetstream.LimitsPolicy ||
		cfg.Duplicates != 2*time.Minute || cfg.Replicas != 1 {
		t.Fatalf("stream config = %+v", cfg)
	}
	var apiErr *jetstream.APIError
	if err := stream.Purge(ctx); !errors.As(err, &apiErr) || apiErr.ErrorCode != 10110 {
		t.Fatalf("purge: err = %v, want API error 10110", err)
	}
	// nats.go flattens this one into text (ErrMsgDeleteUnsuccessful: "… err_code=10057 …").
	if err := stream.DeleteMsg(ctx, 1); err == nil || !strings.Contains(err.Error(), "10057") {
		t.Fatalf("delete: err = %v, want 10057", err)
	}
	if _, err := stream.GetMsg(ctx, 1); err != nil {
		t.Fatalf("message 1 after refused delete: %v", err)
	}
	if last, _ := s.LastSeq(ctx); last != 1 {
		t.Fatalf("last seq = %d after refused purge, want 1", last)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	s := start(t)
	_, err := eventstore.Open(testCtx(t), s.JetStream().Conn(), s.Catalog(), eventstore.Config{DuplicateWindow: time.Second})
	if err == nil {
		t.Fatal("a 1s duplicate window was accepted")
	}
}

// The embedded server fsyncs by default, listens when asked, and connects over TCP.
func TestEmbeddedListenerAndSync(t *testing.T) {
	t.Parallel()
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir(), Listen: "127.0.0.1:0", ServerName: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if !srv.Server().JetStreamConfig().SyncAlways {
		t.Error("SyncAlways is off by default")
	}
	url := srv.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":4222") {
		t.Fatalf("client url = %q, want a random port on loopback", url)
	}
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.ConnectedUrl() == "" {
		t.Fatal("not connected over TCP")
	}
	s, err := eventstore.Open(testCtx(t), nc, testCatalog(), eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, nil, env("a", 1))
}

func TestEmbeddedInProcess(t *testing.T) {
	t.Parallel()
	off := false
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir(), SyncAlways: &off})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if srv.ClientURL() != "" || srv.Server().JetStreamConfig().SyncAlways {
		t.Fatalf("url %q, sync %v; want no listener and lazy sync", srv.ClientURL(), srv.Server().JetStreamConfig().SyncAlways)
	}
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if _, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{}); err == nil {
		t.Fatal("an embedded server without a directory started")
	}
	if _, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir(), ClusterName: "c"}); err == nil {
		t.Fatal("a cluster without a route listener started")
	}
}
