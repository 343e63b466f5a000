// Package estest starts a real event store for tests: an embedded nats-server in the
// test's temporary directory, a connection and an opened Store, all cleaned up when
// the test ends. Importable by any package's tests.
package estest

import (
	"context"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// Start starts a store with default settings. It does not fsync before acknowledging
// (tests run faster and a test's data does not need to survive a power cut); use
// StartWith and EmbeddedConfig.SyncAlways to test the durable setting.
func Start(tb testing.TB, catalog *domain.Catalog) *eventstore.Store {
	tb.Helper()
	return StartWith(tb, catalog, eventstore.EmbeddedConfig{}, eventstore.Config{})
}

// StartWith starts a store with the given settings. An empty Dir is the test's
// temporary directory; a nil SyncAlways is false.
func StartWith(tb testing.TB, catalog *domain.Catalog, ecfg eventstore.EmbeddedConfig, cfg eventstore.Config) *eventstore.Store {
	tb.Helper()
	if ecfg.Dir == "" {
		ecfg.Dir = tb.TempDir()
	}
	if ecfg.SyncAlways == nil {
		off := false
		ecfg.SyncAlways = &off
	}
	srv, err := eventstore.StartEmbedded(ecfg)
	if err != nil {
		tb.Fatalf("estest: start embedded server: %v", err)
	}
	tb.Cleanup(srv.Shutdown)
	nc, err := srv.Connect()
	if err != nil {
		tb.Fatalf("estest: connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := eventstore.Open(ctx, nc, catalog, cfg)
	if err != nil {
		tb.Fatalf("estest: open store: %v", err)
	}
	return store
}
