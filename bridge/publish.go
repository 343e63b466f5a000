package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
)

// inflight is a published message awaiting its confirmation.
type inflight struct {
	d  *eventstore.Delivery
	dc *amqp.DeferredConfirmation
	id string
	at time.Time // published
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
