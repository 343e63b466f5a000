package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
)

func devCommand(fs *flag.FlagSet) runFunc {
	demo := fs.Bool("demo", false, "also serve a sample target API and test it")
	return func(ctx context.Context, cfg Config, args []string, out io.Writer) error {
		return runDev(ctx, cfg, *demo, out)
	}
}

// runDev runs every part in one process with embedded servers. For now that is the log:
// an embedded NATS JetStream server with the EVENTS stream, open to subscribers.
func runDev(ctx context.Context, cfg Config, demo bool, out io.Writer) error {
	log := newLogger(cfg, out)
	store, shutdown, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer shutdown()
	last, err := store.LastSeq(ctx)
	if err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"stream": store.StreamName(), "last_seq": last}).Info("event log ready")
	if l := cfg.Get("ASSAY_NATS_LISTEN"); cfg.Get("ASSAY_NATS_URL") == "" && l != "" {
		fmt.Fprintf(out, "assay: the event log is open to subscribers at nats://%s (subjects events.>)\n", l)
	}
	if demo {
		fmt.Fprintln(out, "assay: the demo needs the API and runners, which are not built yet; the log runs alone")
	}
	fmt.Fprintln(out, "assay: running; Ctrl-C stops")
	<-ctx.Done()
	log.Info("stopping")
	return nil
}

// openStore connects to NATS (the embedded server when no URL is set) and opens the log.
func openStore(ctx context.Context, cfg Config, log *logrus.Logger) (*eventstore.Store, func(), error) {
	replicas, err := strconv.Atoi(cfg.Get("ASSAY_STREAM_REPLICAS"))
	if err != nil {
		return nil, nil, fmt.Errorf("ASSAY_STREAM_REPLICAS: %w", err)
	}
	var nc *nats.Conn
	var closeAll func()
	if url := cfg.Get("ASSAY_NATS_URL"); url != "" {
		if nc, err = nats.Connect(url, nats.Name("assay"), nats.MaxReconnects(-1)); err != nil {
			return nil, nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
		}
		closeAll = nc.Close
	} else {
		sync := cfg.Get("ASSAY_NATS_SYNC") != "lazy"
		srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{
			Dir: filepath.Join(cfg.Get("ASSAY_DATA_DIR"), "nats"), Listen: cfg.Get("ASSAY_NATS_LISTEN"), SyncAlways: &sync})
		if err != nil {
			return nil, nil, err
		}
		if nc, err = srv.Connect(); err != nil {
			srv.Shutdown()
			return nil, nil, err
		}
		log.WithFields(logrus.Fields{"dir": cfg.Get("ASSAY_DATA_DIR"), "fsync_before_ack": sync}).Info("embedded NATS JetStream started")
		closeAll = func() { nc.Close(); srv.Shutdown() }
	}
	store, err := eventstore.Open(ctx, nc, catalog.New(), eventstore.Config{Replicas: replicas})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return store, closeAll, nil
}

func newLogger(cfg Config, out io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(out)
	log.SetFormatter(&logrus.JSONFormatter{})
	if lvl, err := logrus.ParseLevel(cfg.Get("ASSAY_LOG_LEVEL")); err == nil {
		log.SetLevel(lvl)
	}
	return log
}
