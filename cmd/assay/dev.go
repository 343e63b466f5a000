package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/bridge"
	"github.com/assay-dev/assay/cmd/assay/demo"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/eventstore"
)

func devCommand(fs *flag.FlagSet) runFunc {
	demo := fs.Bool("demo", false, "also serve a sample target API and test it")
	demoAddr := fs.String("demo-addr", "127.0.0.1:8081", "where --demo serves its sample target API")
	return func(ctx context.Context, cfg Config, args []string, out io.Writer) error {
		addr := ""
		if *demo {
			addr = *demoAddr
		}
		return runDev(ctx, cfg, addr, out)
	}
}

// runDev runs every part in one process with embedded servers: the log (embedded NATS
// JetStream, open to subscribers), the read side (SQLite tables, in-process Redis views)
// and their projectors, the API and the metrics server. With demoAddr set, it also serves
// the bundled demo target there and runs the demo flow against it (demo_flow.go).
func runDev(ctx context.Context, cfg Config, demoAddr string, out io.Writer) error {
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
	rs, err := openReadSide(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer rs.close()
	reg := prometheus.NewRegistry()
	engines, err := startProjectors(ctx, store, rs, reg, log)
	if err != nil {
		return err
	}
	defer engines.wait()
	reacts, err := startAllReactors(ctx, cfg, store, reg, log)
	if err != nil {
		return err
	}
	defer reacts.wait()
	if url := cfg.Get("ASSAY_AMQP_URL"); url != "" { // with RabbitMQ: the bridge feeds the runner
		b, err := bridge.New(store, bridge.Config{URL: url, Logger: log, Registerer: reg})
		if err != nil {
			return err
		}
		bridgeDone := make(chan error, 1)
		go func() { bridgeDone <- b.Run(ctx) }()
		defer func() {
			if err := <-bridgeDone; err != nil {
				log.WithError(err).Error("bridge stopped")
			}
		}()
	}
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- runCases(ctx, cfg, store, reg, log) }()
	defer func() {
		if err := <-runnerDone; err != nil {
			log.WithError(err).Error("runner stopped")
		}
	}()
	ready := func(ctx context.Context) error { return readyErr(ctx, store, rs, readiness(engines)) }
	ops := newOpsServer(cfg.Get("ASSAY_METRICS_ADDR"), reg, func() error { return ready(context.Background()) }, log)
	defer ops.stop()
	if l := cfg.Get("ASSAY_NATS_LISTEN"); cfg.Get("ASSAY_NATS_URL") == "" && l != "" {
		fmt.Fprintf(out, "assay: the event log is open to subscribers at nats://%s (subjects events.>)\n", l)
	}
	if demoAddr != "" {
		stop, err := startDemo(ctx, cfg, demoAddr, out, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	fmt.Fprintf(out, "assay: API on http://%s/api/v1 — Ctrl-C stops\n", displayAddr(cfg.Get("ASSAY_HTTP_ADDR")))
	err = serveAPI(ctx, cfg, store, rs, engines.waiter(), ready, reg, log)
	log.Info("stopping")
	return err
}

// startDemo serves the demo target on addr and runs the demo flow in the background once
// the API is up; stop waits for the flow and closes the target.
func startDemo(ctx context.Context, cfg Config, addr string, out io.Writer, log *logrus.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("the demo target on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: demo.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	target := "http://" + dialAddr(ln.Addr().String())
	fmt.Fprintf(out, "assay: the demo target (a pet shop with planted bugs) on %s\n", target)
	flowCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := runDemoFlow(flowCtx, demoOptions{dataDir: cfg.Get("ASSAY_DATA_DIR"), apiAddr: cfg.Get("ASSAY_HTTP_ADDR"),
			metricsAddr: cfg.Get("ASSAY_METRICS_ADDR"), targetURL: target, llm: cfg.Get("ASSAY_LLM_API_KEY") != ""}, out)
		if err != nil && flowCtx.Err() == nil {
			log.WithError(err).Error("demo flow failed")
			fmt.Fprintf(out, "assay demo: %v\n", err)
		}
	}()
	return func() {
		cancel()
		<-done
		_ = srv.Close()
	}, nil
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

// newLogger logs JSON lines to out and, when ASSAY_LOG_FILE is set, to that file too. The
// file stays open for the life of the process (the logger is the process's).
func newLogger(cfg Config, out io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(out)
	if path := cfg.Get("ASSAY_LOG_FILE"); path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			if f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
				log.SetOutput(io.MultiWriter(out, f))
			}
		}
	}
	log.SetFormatter(&logrus.JSONFormatter{})
	if lvl, err := logrus.ParseLevel(cfg.Get("ASSAY_LOG_LEVEL")); err == nil {
		log.SetLevel(lvl)
	}
	return log
}

func displayAddr(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "localhost" + addr
	}
	return addr
}
