package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/api"
	cmdhandler "github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
	"github.com/assay-dev/assay/projections/views"
)

// runServe serves the REST API: `assay serve`. The projectors run elsewhere (`assay project`);
// read-your-writes follows their checkpoints.
func runServe(ctx context.Context, cfg Config, _ []string, out io.Writer) error {
	log := newLogger(cfg, out)
	store, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	rs, err := openReadSide(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer rs.close()
	nc := store.JetStream().Conn()
	tw, err := projections.NewWatcher(nc, rs.tables.Name(), rs.tables.Checkpoint, 0)
	if err != nil {
		return err
	}
	defer tw.Close()
	vw, err := projections.NewWatcher(nc, rs.views.Name(), rs.views.Checkpoint, 0)
	if err != nil {
		return err
	}
	defer vw.Close()
	reg := prometheus.NewRegistry()
	ready := func(ctx context.Context) error { return readyErr(ctx, store, rs, nil) }
	ops := newOpsServer(cfg.Get("ASSAY_METRICS_ADDR"), reg, func() error { return ready(context.Background()) }, log)
	defer ops.stop()
	return serveAPI(ctx, cfg, store, rs, projections.All{tw, vw}, ready, reg, log)
}

// serveAPI runs the API until ctx ends.
func serveAPI(ctx context.Context, cfg Config, store *eventstore.Store, rs *readSide, waiter projections.Waiter,
	ready func(context.Context) error, reg *prometheus.Registry, log *logrus.Logger) error {
	handler, err := cmdhandler.New(store, cmdhandler.Config{}, nil)
	if err != nil {
		return err
	}
	ttl, err := time.ParseDuration(cfg.Get("ASSAY_TOKEN_TTL"))
	if err != nil {
		return fmt.Errorf("ASSAY_TOKEN_TTL: %w", err)
	}
	rate, err := strconv.ParseFloat(cfg.Get("ASSAY_RATE_LIMIT"), 64)
	if err != nil {
		return fmt.Errorf("ASSAY_RATE_LIMIT: %w", err)
	}
	srv, err := api.New(api.Config{JWTSecret: cfg.Get("ASSAY_JWT_SECRET"), TokenTTL: ttl, Embedded: isEmbedded(cfg),
		RatePerSecond: rate, RateBurst: int(2 * rate)},
		api.Deps{Commands: handler, DB: rs.db, Tables: tables.NewReader(rs.db), Views: views.NewReader(rs.rdb, views.Config{}),
			Waiter: waiter, Ready: ready, Log: log, Registry: reg})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Get("ASSAY_HTTP_ADDR"))
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Get("ASSAY_HTTP_ADDR"), err)
	}
	log.WithField("addr", ln.Addr().String()).Info("API listening")
	return srv.Serve(ctx, ln)
}

// isEmbedded: the one-process mode with every server embedded (the dev secret is allowed).
func isEmbedded(cfg Config) bool {
	return cfg.Get("ASSAY_NATS_URL") == "" && cfg.Get("ASSAY_MYSQL_DSN") == ""
}

// readyErr: NATS, the database and Redis reachable, and no projection halted.
func readyErr(ctx context.Context, store *eventstore.Store, rs *readSide, halted func() error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var errs []error
	if _, err := store.LastSeq(ctx); err != nil {
		errs = append(errs, fmt.Errorf("NATS: %w", err))
	}
	if err := rs.db.PingContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("database: %w", err))
	}
	if err := rs.rdb.Ping(ctx).Err(); err != nil {
		errs = append(errs, fmt.Errorf("redis: %w", err))
	}
	if halted != nil {
		errs = append(errs, halted())
	} else {
		for name := range rs.projections() {
			if f, err := rs.tables.OpenFailure(ctx, name); err == nil && f != nil {
				errs = append(errs, fmt.Errorf("projection %s halted at event %d (%s): %s", name, f.Seq, f.EventType, f.Reason))
			}
		}
	}
	return errors.Join(errs...)
}
