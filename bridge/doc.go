// Package bridge republishes execution requests from the log onto RabbitMQ for runners:
// a durable JetStream consumer, publisher confirms, a quorum queue with dead letters, and
// the JetStream ack only after RabbitMQ confirmed (DESIGN.md, "Execution"; built with the
// execution issue).
package bridge
