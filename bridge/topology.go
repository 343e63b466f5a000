// Package bridge republishes execution requests from the log onto RabbitMQ for runners:
// a durable JetStream consumer, publisher confirms with a bounded window, a quorum queue
// with dead letters, and the JetStream ack only after RabbitMQ confirmed (DESIGN.md,
// "Execution").
package bridge

import (
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Default names of the execution topology.
const (
	DefaultExchange      = "assay.exec"
	DefaultQueue         = "assay.exec"
	DefaultRoutingKey    = "exec"
	DefaultDeadExchange  = "assay.exec.dlx"
	DefaultDeadQueue     = "assay.exec.dead"
	DefaultDeliveryLimit = 5
)

// Topology names the exchanges and queues execution requests travel through: a direct
// exchange bound to a quorum queue whose rejected or too often delivered messages are
// dead-lettered (at least once) through a fanout exchange into a second quorum queue.
type Topology struct {
	Exchange      string // direct, durable; default "assay.exec"
	Queue         string // quorum; default "assay.exec"
	RoutingKey    string // default "exec"
	DeadExchange  string // fanout; default "assay.exec.dlx"
	DeadQueue     string // quorum; default "assay.exec.dead"
	DeliveryLimit int    // x-delivery-limit; default 5
}

// DefaultTopology is the topology with every default.
func DefaultTopology() Topology {
	var t Topology
	t.SetDefaults()
	return t
}

// SetDefaults fills the empty fields.
func (t *Topology) SetDefaults() {
	if t.Exchange == "" {
		t.Exchange = DefaultExchange
	}
	if t.Queue == "" {
		t.Queue = DefaultQueue
	}
	if t.RoutingKey == "" {
		t.RoutingKey = DefaultRoutingKey
	}
	if t.DeadExchange == "" {
		t.DeadExchange = DefaultDeadExchange
	}
	if t.DeadQueue == "" {
		t.DeadQueue = DefaultDeadQueue
	}
	if t.DeliveryLimit == 0 {
		t.DeliveryLimit = DefaultDeliveryLimit
	}
}

// Validate reports every field that cannot work, joined.
func (t Topology) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"exchange", t.Exchange}, {"queue", t.Queue}, {"routing key", t.RoutingKey},
		{"dead-letter exchange", t.DeadExchange}, {"dead-letter queue", t.DeadQueue},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("bridge: topology: empty %s", f.name))
		}
	}
	if t.DeliveryLimit < 1 {
		errs = append(errs, fmt.Errorf("bridge: topology: delivery limit %d, want at least 1", t.DeliveryLimit))
	}
	if t.Exchange != "" && t.Exchange == t.DeadExchange {
		errs = append(errs, errors.New("bridge: topology: the exchange and the dead-letter exchange are the same"))
	}
	if t.Queue != "" && t.Queue == t.DeadQueue {
		errs = append(errs, errors.New("bridge: topology: the queue and the dead-letter queue are the same"))
	}
	return errors.Join(errs...)
}

// QueueArgs are the arguments the work queue is declared with.
func (t Topology) QueueArgs() amqp.Table {
	return amqp.Table{
		"x-queue-type":           "quorum",
		"x-delivery-limit":       int64(t.DeliveryLimit),
		"x-dead-letter-exchange": t.DeadExchange,
		"x-dead-letter-strategy": "at-least-once",
		"x-overflow":             "reject-publish",
	}
}

// Declare declares the topology. It is idempotent: declaring it again with the same
// settings changes nothing (other settings on an existing queue are refused by the
// server with PRECONDITION_FAILED, which closes ch).
func (t Topology) Declare(ch *amqp.Channel) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := ch.ExchangeDeclare(t.DeadExchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("bridge: declare exchange %s: %w", t.DeadExchange, err)
	}
	if _, err := ch.QueueDeclare(t.DeadQueue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		return fmt.Errorf("bridge: declare queue %s: %w", t.DeadQueue, err)
	}
	if err := ch.QueueBind(t.DeadQueue, "", t.DeadExchange, false, nil); err != nil {
		return fmt.Errorf("bridge: bind %s to %s: %w", t.DeadQueue, t.DeadExchange, err)
	}
	if err := ch.ExchangeDeclare(t.Exchange, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("bridge: declare exchange %s: %w", t.Exchange, err)
	}
	if _, err := ch.QueueDeclare(t.Queue, true, false, false, false, t.QueueArgs()); err != nil {
		return fmt.Errorf("bridge: declare queue %s: %w", t.Queue, err)
	}
	if err := ch.QueueBind(t.Queue, t.RoutingKey, t.Exchange, false, nil); err != nil {
		return fmt.Errorf("bridge: bind %s to %s with %s: %w", t.Queue, t.Exchange, t.RoutingKey, err)
	}
	return nil
}

// Delete removes the topology's queues and exchanges (tests; operations). Every
// deletion is tried; the errors are joined.
func (t Topology) Delete(ch *amqp.Channel) error {
	var errs []error
	for _, q := range []string{t.Queue, t.DeadQueue} {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			errs = append(errs, fmt.Errorf("bridge: delete queue %s: %w", q, err))
		}
	}
	for _, x := range []string{t.Exchange, t.DeadExchange} {
		if err := ch.ExchangeDelete(x, false, false); err != nil {
			errs = append(errs, fmt.Errorf("bridge: delete exchange %s: %w", x, err))
		}
	}
	return errors.Join(errs...)
}
