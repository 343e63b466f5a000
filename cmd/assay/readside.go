package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
	"github.com/assay-dev/assay/projections/views"
)

// readSide is the read models and what they are stored in.
type readSide struct {
	db       *bun.DB
	rdb      redis.UniversalClient
	tables   *tables.Tables
	views    *views.Views
	embedded bool // the Redis views live in this process and start empty
	close    func()
}

// projectionsOf lists the projections by name.
func (r *readSide) projections() map[string]projections.Rebuildable {
	return map[string]projections.Rebuildable{r.tables.Name(): r.tables, r.views.Name(): r.views}
}

// openReadSide opens the database (SQLite in the data dir when no DSN is set), migrates it,
// and connects to Redis (an in-process server when no URL is set).
func openReadSide(ctx context.Context, cfg Config, log logrus.FieldLogger) (*readSide, error) {
	dsn := cfg.Get("ASSAY_MYSQL_DSN")
	if dsn == "" {
		dsn = filepath.Join(cfg.Get("ASSAY_DATA_DIR"), "assay.db")
	}
	db, err := migrations.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := migrations.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	r := &readSide{db: db, tables: tables.New(db)}
	closers := []func(){func() { db.Close() }}
	if url := cfg.Get("ASSAY_REDIS_URL"); url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("ASSAY_REDIS_URL: %w", err)
		}
		r.rdb = redis.NewClient(opt)
	} else {
		// The in-process server keeps nothing: the views are rebuilt from the log at start.
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			db.Close()
			return nil, fmt.Errorf("start in-process redis: %w", err)
		}
		closers = append(closers, mr.Close)
		r.rdb, r.embedded = redis.NewClient(&redis.Options{Addr: mr.Addr()}), true
		log.WithField("addr", mr.Addr()).Info("in-process Redis started for the views")
	}
	closers = append(closers, func() { r.rdb.Close() })
	r.views = views.New(r.rdb, views.Config{})
	r.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	return r, nil
}
