package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
)

// ExecFilter selects every execution request of every batch of every app.
const ExecFilter = domain.SubjectRoot + ".app.*.batch.*.exec.*"

// Message headers set on every request published to RabbitMQ (besides ce-type, ce-id,
// ce-subject and the metadata headers of the eventstore package that are set).
const (
	HeaderBatchID     = "x-batch-id"
	HeaderAppID       = "x-app-id"
	HeaderCaseID      = "x-case-id"
	HeaderTraceparent = "traceparent"
)

// Config tunes a Bridge.
type Config struct {
	URL          string        // RabbitMQ URL, required
	ConsumerName string        // JetStream durable; default "bridge"
	Filter       string        // default ExecFilter
	Window       int           // publishes awaiting their confirmation at most; default 256
	Topology     Topology      // names; defaults as in DefaultTopology
	AckWait      time.Duration // JetStream ack wait; default 1 minute
	FetchWait    time.Duration // how long one fetch waits for messages; default 1s
	RetryDelay   time.Duration // JetStream redelivery delay after a nack or a return; default 1s
	ReconnectMin time.Duration // first reconnection pause; default 100ms
	ReconnectMax time.Duration // longest reconnection pause; default 10s
	DrainTimeout time.Duration // on shutdown, how long confirmations are awaited; default 5s
	Heartbeat    time.Duration // AMQP heartbeat; default 10s
	Logger       logrus.FieldLogger
	Registerer   prometheus.Registerer // optional: the assay_bridge_* series (metrics.go)
}

func (c *Config) setDefaults() {
	if c.ConsumerName == "" {
		c.ConsumerName = "bridge"
	}
	if c.Filter == "" {
		c.Filter = ExecFilter
	}
	if c.Window == 0 {
		c.Window = 256
	}
	c.Topology.SetDefaults()
	if c.AckWait == 0 {
		c.AckWait = time.Minute
	}
	if c.FetchWait == 0 {
		c.FetchWait = time.Second
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = time.Second
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = 100 * time.Millisecond
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = 10 * time.Second
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 5 * time.Second
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
}

// Validate reports every setting that cannot work, joined.
func (c Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("bridge: empty RabbitMQ URL"))
	} else if _, err := amqp.ParseURI(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("bridge: RabbitMQ URL: %w", err))
	}
	if !domain.ValidID(c.ConsumerName) {
		errs = append(errs, fmt.Errorf("bridge: consumer name %q is not a valid durable name", c.ConsumerName))
	}
	if c.Window < 1 {
		errs = append(errs, fmt.Errorf("bridge: window %d, want at least 1", c.Window))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ack wait", c.AckWait}, {"fetch wait", c.FetchWait}, {"retry delay", c.RetryDelay},
		{"reconnect min", c.ReconnectMin}, {"reconnect max", c.ReconnectMax}, {"drain timeout", c.DrainTimeout}, {"heartbeat", c.Heartbeat}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("bridge: negative %s %v", d.name, d.v))
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, fmt.Errorf("bridge: reconnect max %v below reconnect min %v", c.ReconnectMax, c.ReconnectMin))
	}
	if c.FetchWait >= c.AckWait {
		errs = append(errs, fmt.Errorf("bridge: fetch wait %v must be shorter than ack wait %v", c.FetchWait, c.AckWait))
	}
	errs = append(errs, c.Topology.Validate())
	return errors.Join(errs...)
}

// Stats count what a bridge did since it was built.
type Stats struct {
	Published   int64 // messages published to RabbitMQ
	Confirmed   int64 // confirmed by RabbitMQ and acknowledged on JetStream
	Nacked      int64 // refused by RabbitMQ (or unconfirmed when a channel closed): handed back to JetStream
	Returned    int64 // returned as unroutable: handed back to JetStream
	Undecodable int64 // log messages that were no execution request: terminated
	Connects    int64 // sessions opened (the first one included)
}

// Bridge moves execution requests from the log to RabbitMQ.
type Bridge struct {
	store *eventstore.Store
	cfg   Config

	readyMu  sync.Mutex
	readyErr error
	m        metrics

	published, confirmed, nacked, returned, undecodable, connects atomic.Int64
}

var errNotStarted = errors.New("bridge: not connected to RabbitMQ yet")

// New checks the configuration and builds a bridge; Run does the work.
func New(store *eventstore.Store, cfg Config) (*Bridge, error) {
	if store == nil {
		return nil, errors.New("bridge: nil store")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.ConsumerName, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Bridge{store: store, cfg: cfg, readyErr: errNotStarted, m: m}, nil
}

// Config is the configuration with its defaults filled.
func (b *Bridge) Config() Config { return b.cfg }

// Ready is nil while the bridge is connected to RabbitMQ with its topology declared,
// and says why not otherwise (for /readyz).
func (b *Bridge) Ready() error {
	b.readyMu.Lock()
	defer b.readyMu.Unlock()
	return b.readyErr
}

func (b *Bridge) setReady(err error) {
	b.readyMu.Lock()
	b.readyErr = err
	b.readyMu.Unlock()
	if err == nil {
		b.m.ready.Set(1)
	} else {
		b.m.ready.Set(0)
	}
}

// Stats is a snapshot of the bridge's counters.
func (b *Bridge) Stats() Stats {
	return Stats{
		Published: b.published.Load(), Confirmed: b.confirmed.Load(), Nacked: b.nacked.Load(),
		Returned: b.returned.Load(), Undecodable: b.undecodable.Load(), Connects: b.connects.Load(),
	}
}

// Run moves requests until ctx ends (then it returns nil, once every goroutine it
// started has stopped) or the JetStream consumer cannot be set up. A lost connection
// or channel is reopened with exponential backoff; the messages whose publication was
// not confirmed are handed back to JetStream and published again.
func (b *Bridge) Run(ctx context.Context) error {
	defer b.setReady(errors.New("bridge: stopped"))
	cons, err := b.store.Durable(ctx, eventstore.ConsumerConfig{
		Name: b.cfg.ConsumerName, Filters: []string{b.cfg.Filter},
		AckWait: b.cfg.AckWait, MaxAckPending: 4 * b.cfg.Window,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("bridge: %w", err)
	}
	pause := b.cfg.ReconnectMin
	for ctx.Err() == nil {
		s, err := b.connect()
		if err != nil {
			b.setReady(fmt.Errorf("bridge: disconnected from RabbitMQ: %w", err))
			b.cfg.Logger.WithFields(logrus.Fields{"err": err, "pause": pause}).Warn("bridge: connect failed, retrying")
			if sleepCtx(ctx, pause) != nil {
				break
			}
			pause = min(2*pause, b.cfg.ReconnectMax)
			continue
		}
		if b.connects.Add(1) > 1 {
			b.m.reconnects.Inc()
		}
		b.setReady(nil)
		start := time.Now()
		err = b.serve(ctx, cons, s)
		b.setReady(fmt.Errorf("bridge: disconnected from RabbitMQ: %w", err))
		if ctx.Err() != nil {
			break
		}
		if time.Since(start) > b.cfg.ReconnectMax {
			pause = b.cfg.ReconnectMin // it ran well for a while: start the backoff afresh
		}
		b.cfg.Logger.WithFields(logrus.Fields{"err": err, "pause": pause}).Warn("bridge: session ended, reconnecting")
		if sleepCtx(ctx, pause) != nil {
			break
		}
		pause = min(2*pause, b.cfg.ReconnectMax)
	}
	return nil
}
