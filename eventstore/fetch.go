package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
)

// Delivery is one message handed to a durable consumer. Err is set when the message
// does not decode; Env then holds what the headers told (Seq, Subject, ID, Type).
type Delivery struct {
	Env          domain.Envelope
	Err          error // decode error, nil when Env is good
	Seq          uint64
	NumDelivered uint64

	msg jetstream.Msg
}

// Fetch waits up to maxWait for at least one message and returns up to n. When
// messages are pending it answers at once; otherwise it waits for one and then takes
// whatever else is pending. A pull for n messages with a wait would instead hold
// the caller until n arrived or the wait ran out.
func (c *Consumer) Fetch(ctx context.Context, n int, maxWait time.Duration) ([]*Delivery, error) {
	if n <= 0 {
		return nil, fmt.Errorf("eventstore: durable %s fetch: n must be positive, got %d", c.name, n)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eventstore: durable %s fetch: %w", c.name, err)
	}
	out, err := c.fetchNoWait(nil, n)
	if len(out) > 0 || err != nil || maxWait <= 0 {
		return out, err
	}
	out, err = c.fetchWait(ctx, maxWait)
	if len(out) == 0 || err != nil || n == 1 {
		return out, err
	}
	return c.fetchNoWait(out, n-1)
}

// fetchNoWait takes up to n pending messages without waiting.
func (c *Consumer) fetchNoWait(out []*Delivery, n int) ([]*Delivery, error) {
	batch, err := c.cons.FetchNoWait(n)
	if err != nil {
		return c.fetchResult(out, fmt.Errorf("eventstore: durable %s fetch: %w", c.name, err))
	}
	out, err = c.collect(out, batch)
	return c.fetchResult(out, err)
}

// fetchWait waits up to maxWait (bounded by ctx) for one message.
func (c *Consumer) fetchWait(ctx context.Context, maxWait time.Duration) ([]*Delivery, error) {
	// FetchMaxWait, not a context deadline: with a client-side deadline the server may
	// deliver a message just as the client stops listening, and that message then waits out
	// AckWait unseen. With MaxWait the server ends the request and the client reads its end.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eventstore: durable %s fetch: %w", c.name, err)
	}
	batch, err := c.cons.Fetch(1, jetstream.FetchMaxWait(maxWait))
	if err != nil {
		return nil, c.waitErr(ctx, err)
	}
	out, err := c.collect(nil, batch)
	if err != nil {
		err = c.waitErr(ctx, err)
	}
	return c.fetchResult(out, err)
}

// waitErr: the wait running out is an empty answer, not an error; the caller's
// own cancellation is.
func (c *Consumer) waitErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("eventstore: durable %s fetch: %w", c.name, ctx.Err())
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrInvalidOption) {
		return nil // the wait ran out, or was already too short to ask the server
	}
	return fmt.Errorf("eventstore: durable %s fetch: %w", c.name, err)
}

// fetchResult never drops a delivered message: they are pending acknowledgement on the
// server, so with deliveries in hand the error is left for the next call to meet.
func (c *Consumer) fetchResult(out []*Delivery, err error) ([]*Delivery, error) {
	if len(out) > 0 {
		return out, nil
	}
	return nil, err
}

func (c *Consumer) collect(out []*Delivery, batch jetstream.MessageBatch) ([]*Delivery, error) {
	for msg := range batch.Messages() {
		out = append(out, c.delivery(msg))
	}
	if err := batch.Error(); err != nil {
		return out, fmt.Errorf("eventstore: durable %s fetch: %w", c.name, err)
	}
	return out, nil
}

func (c *Consumer) delivery(msg jetstream.Msg) *Delivery {
	d := &Delivery{msg: msg}
	meta, err := msg.Metadata()
	if err != nil {
		d.Env.Subject = msg.Subject()
		d.Err = fmt.Errorf("eventstore: durable %s: message metadata: %w", c.name, err)
		return d
	}
	d.Seq, d.NumDelivered = meta.Sequence.Stream, meta.NumDelivered
	d.Env, d.Err = c.store.Decode(msg.Subject(), msg.Headers(), msg.Data(), d.Seq)
	return d
}

// Ack acknowledges the message. It is a plain ack (no confirmation round trip): a lost
// ack only means a redelivery, which the idempotent handlers absorb.
func (d *Delivery) Ack(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("eventstore: ack seq %d: %w", d.Seq, err)
	}
	if err := d.msg.Ack(); err != nil {
		return fmt.Errorf("eventstore: ack seq %d: %w", d.Seq, err)
	}
	return nil
}

// Nak asks for redelivery, after delay when it is positive.
func (d *Delivery) Nak(delay time.Duration) error {
	var err error
	if delay > 0 {
		err = d.msg.NakWithDelay(delay)
	} else {
		err = d.msg.Nak()
	}
	if err != nil {
		return fmt.Errorf("eventstore: nak seq %d: %w", d.Seq, err)
	}
	return nil
}

// InProgress resets the ack wait of a message that takes long to handle.
func (d *Delivery) InProgress() error {
	if err := d.msg.InProgress(); err != nil {
		return fmt.Errorf("eventstore: in progress seq %d: %w", d.Seq, err)
	}
	return nil
}

// Term stops redelivery of the message for good (a poison message once recorded).
func (d *Delivery) Term(reason string) error {
	var err error
	if reason != "" {
		err = d.msg.TermWithReason(reason)
	} else {
		err = d.msg.Term()
	}
	if err != nil {
		return fmt.Errorf("eventstore: term seq %d: %w", d.Seq, err)
	}
	return nil
}
