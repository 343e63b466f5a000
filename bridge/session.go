package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/assay-dev/assay/eventstore"
)

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
