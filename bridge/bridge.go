package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
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

// session is one connection with one confirming channel and the notifications on them.
type session struct {
	conn       *amqp.Connection
	ch         *amqp.Channel
	connClosed chan *amqp.Error
	chClosed   chan *amqp.Error
	returns    chan amqp.Return
}

func (b *Bridge) connect() (*session, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("assay-bridge-" + b.cfg.ConsumerName)
	conn, err := amqp.DialConfig(b.cfg.URL, amqp.Config{Heartbeat: b.cfg.Heartbeat, Properties: props})
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	s := &session{conn: conn}
	// Buffered: the library sends at most one error, then closes them; each is read
	// by the session's watcher (and drained by reading after the close).
	s.connClosed = conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("open channel: %w", err)
	}
	s.ch = ch
	s.chClosed = ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := b.cfg.Topology.Declare(ch); err != nil {
		s.close()
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		s.close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	s.returns = ch.NotifyReturn(make(chan amqp.Return, b.cfg.Window))
	return s, nil
}

// close closes the channel (any confirmation still awaited resolves as a nack) and
// the connection; the library then closes every notification channel.
func (s *session) close() {
	if s.ch != nil {
		_ = s.ch.Close()
	}
	_ = s.conn.Close()
}

// inflight is a published message awaiting its confirmation.
type inflight struct {
	d  *eventstore.Delivery
	dc *amqp.DeferredConfirmation
	id string
	at time.Time // published
}

// serve runs one session until ctx ends or the session fails, and returns why it
// ended. Every goroutine it starts has stopped and the session is closed on return.
func (b *Bridge) serve(ctx context.Context, cons *eventstore.Consumer, s *session) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		wg      sync.WaitGroup
		lostMu  sync.Mutex
		lostErr error
	)
	wg.Go(func() { // watch both close notifications
		var e *amqp.Error
		select {
		case e = <-s.connClosed:
			if e == nil {
				e = &amqp.Error{Reason: "connection closed"}
			}
		case e = <-s.chClosed:
			if e == nil {
				e = &amqp.Error{Reason: "channel closed"}
			}
		case <-sctx.Done():
			return
		}
		lostMu.Lock()
		lostErr = e
		lostMu.Unlock()
		cancel()
	})

	slots := make(chan struct{}, b.cfg.Window)
	pending := make(chan inflight, b.cfg.Window)
	confirmed := make(chan struct{})
	wg.Go(func() {
		defer close(confirmed)
		b.confirm(ctx, s.returns, pending, slots)
	})

	err := b.pump(sctx, cons, s, slots, pending)
	close(pending)
	if err == nil && ctx.Err() != nil {
		// Shutting down with the session alive: give the awaited confirmations a moment.
		t := time.NewTimer(b.cfg.DrainTimeout)
		select {
		case <-confirmed:
		case <-t.C:
		}
		t.Stop()
	}
	cancel()
	s.close() // confirmations still awaited resolve as nacks: handed back to JetStream
	wg.Wait()
	drain(s.connClosed)
	drain(s.chClosed)
	lostMu.Lock()
	defer lostMu.Unlock()
	switch {
	case lostErr != nil:
		return lostErr
	case err != nil:
		return err
	default:
		return context.Cause(ctx)
	}
}

// pump fetches requests and publishes them while a window slot is free.
func (b *Bridge) pump(ctx context.Context, cons *eventstore.Consumer, s *session, slots chan struct{}, pending chan<- inflight) error {
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		n := max(1, b.cfg.Window-len(slots))
		ds, err := cons.Fetch(ctx, n, b.cfg.FetchWait)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.cfg.Logger.WithFields(logrus.Fields{"err": err, "pause": pause}).Warn("bridge: fetch failed, retrying")
			if sleepCtx(ctx, pause) != nil {
				return nil
			}
			pause = min(2*pause, 5*time.Second)
			continue
		}
		pause = 100 * time.Millisecond
		for i, d := range ds {
			msg, ok := b.message(d)
			if !ok {
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				b.handBack(ds[i:], 0)
				return nil
			}
			at := time.Now()
			dc, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, b.cfg.Topology.Exchange, b.cfg.Topology.RoutingKey, true, false, msg)
			if err != nil {
				<-slots
				b.handBack(ds[i:], 0)
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("publish: %w", err)
			}
			b.published.Add(1)
			b.m.published.Inc()
			b.m.unconfirmed.Inc()
			pending <- inflight{d: d, dc: dc, id: msg.MessageId, at: at} // never blocks: a slot is held
		}
	}
	return nil
}

// confirm settles the published messages in order: ack on JetStream once RabbitMQ
// confirmed, nak when it refused or returned the message. It reads the returns while
// it waits, so the library never blocks on them.
func (b *Bridge) confirm(ctx context.Context, returns <-chan amqp.Return, pending <-chan inflight, slots <-chan struct{}) {
	bg := context.WithoutCancel(ctx)
	returned := make(map[string]int)
	record := func(r amqp.Return) {
		returned[r.MessageId]++
		b.cfg.Logger.WithFields(logrus.Fields{"id": r.MessageId, "code": r.ReplyCode, "reason": r.ReplyText}).Warn("bridge: message returned as unroutable")
	}
	for p := range pending {
	wait:
		for {
			select {
			case r, ok := <-returns:
				if !ok {
					returns = nil
					continue
				}
				record(r)
			case <-p.dc.Done():
				break wait
			}
		}
		// A return comes before the confirmation of its message: take those buffered.
		for drained := returns == nil; !drained; {
			select {
			case r, ok := <-returns:
				if !ok {
					returns = nil
					drained = true
					continue
				}
				record(r)
			default:
				drained = true
			}
		}
		b.m.unconfirmed.Dec()
		switch {
		case returned[p.id] > 0:
			if returned[p.id]--; returned[p.id] == 0 {
				delete(returned, p.id)
			}
			b.returned.Add(1)
			b.m.returned.Inc()
			b.nak(p.d)
		case !p.dc.Acked():
			b.nacked.Add(1)
			b.m.nacked.Inc()
			b.nak(p.d)
		default:
			b.confirmed.Add(1)
			b.m.confirmed.Inc()
			b.m.confirm.Observe(time.Since(p.at).Seconds())
			if err := p.d.Ack(bg); err != nil {
				// A lost ack means one more publication, which runners absorb.
				b.cfg.Logger.WithFields(logrus.Fields{"seq": p.d.Seq, "err": err}).Warn("bridge: jetstream ack failed")
			}
		}
		<-slots
	}
}

func (b *Bridge) nak(d *eventstore.Delivery) {
	if err := d.Nak(b.cfg.RetryDelay); err != nil {
		b.cfg.Logger.WithFields(logrus.Fields{"seq": d.Seq, "err": err}).Warn("bridge: jetstream nak failed")
	}
}

// handBack returns fetched messages that were not published to JetStream.
func (b *Bridge) handBack(ds []*eventstore.Delivery, delay time.Duration) {
	for _, d := range ds {
		if err := d.Nak(delay); err != nil {
			b.cfg.Logger.WithFields(logrus.Fields{"seq": d.Seq, "err": err}).Debug("bridge: jetstream nak failed")
		}
	}
}

// message builds the publication of a request; a log message that is no execution
// request is terminated (it could never run) and counted.
func (b *Bridge) message(d *eventstore.Delivery) (amqp.Publishing, bool) {
	req, ok := d.Env.Data.(batch.CaseExecutionRequested)
	if d.Err == nil && !ok {
		d.Err = fmt.Errorf("event %s on %s is not an execution request", d.Env.Type, d.Env.Subject)
	}
	var body []byte
	if d.Err == nil {
		// The event's JSON body (at the catalog's current version, upcast if it was older).
		body, d.Err = json.Marshal(req)
	}
	if d.Err != nil {
		b.undecodable.Add(1)
		b.m.undecodable.Inc()
		b.cfg.Logger.WithFields(logrus.Fields{"seq": d.Seq, "subject": d.Env.Subject, "type": d.Env.Type, "err": d.Err}).
			Error("bridge: undecodable execution request terminated")
		if err := d.Term("undecodable: " + d.Err.Error()); err != nil {
			b.cfg.Logger.WithFields(logrus.Fields{"seq": d.Seq, "err": err}).Warn("bridge: term failed")
		}
		return amqp.Publishing{}, false
	}
	h := amqp.Table{
		HeaderBatchID:                req.BatchID,
		HeaderAppID:                  req.AppID,
		HeaderCaseID:                 req.CaseID,
		eventstore.HeaderType:        d.Env.Type,
		eventstore.HeaderID:          d.Env.ID,
		eventstore.HeaderSubject:     d.Env.Subject,
		eventstore.HeaderSpecVersion: "1.0",
		HeaderTraceparent:            Traceparent(d.Env.Meta.CorrelationID),
	}
	for k, v := range map[string]string{
		eventstore.HeaderCorrelationID: d.Env.Meta.CorrelationID,
		eventstore.HeaderCausationID:   d.Env.Meta.CausationID,
		eventstore.HeaderRequestID:     d.Env.Meta.RequestID,
		eventstore.HeaderCommandID:     d.Env.Meta.CommandID,
		eventstore.HeaderUserID:        d.Env.Meta.UserID,
	} {
		if v != "" {
			h[k] = v
		}
	}
	if !d.Env.Time.IsZero() {
		h[eventstore.HeaderTime] = d.Env.Time.UTC().Format(time.RFC3339Nano)
	}
	return amqp.Publishing{
		Headers:       h,
		ContentType:   "application/json",
		DeliveryMode:  amqp.Persistent,
		MessageId:     d.Env.ID,
		CorrelationId: d.Env.Meta.CorrelationID,
		Timestamp:     d.Env.Time,
		Type:          d.Env.Type,
		Body:          body,
	}, true
}

// drain empties a close notification channel without waiting: after a close the
// library has sent at most one error and closed it.
func drain(c <-chan *amqp.Error) {
	for {
		select {
		case _, ok := <-c:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
